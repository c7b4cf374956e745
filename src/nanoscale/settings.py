"""Typed settings from ``NANOSCALE_*`` environment variables and an optional TOML file.

Nothing is read at import time: call `load_settings()` at startup. Invalid values stop the
process with a `ConfigError` whose message names each variable and how to fix it.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from nanoscale.errors import ConfigError

ENV_PREFIX = "NANOSCALE_"
CONFIG_FILE_VAR = "NANOSCALE_CONFIG_FILE"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MIN_PROXY_SECRET_LENGTH = 32
DEV_PROXY_HTTP_PORT = 8080
UNIX_PREFIX = "unix/"  # Caddy's network prefix: `unix//abs/path` names the socket /abs/path


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RuntimeKind(StrEnum):
    """How releases run: child processes of the orchestrator, or systemd units."""

    PROCESS = "process"
    SYSTEMD = "systemd"


class ProxyKind(StrEnum):
    """What routes traffic to releases: Caddy through its admin API, or nothing."""

    CADDY = "caddy"
    NONE = "none"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("./var")
    database_url: str | None = None
    public_base_url: str | None = None
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    git_allowed_hosts: Annotated[list[str], NoDecode] = ["github.com"]
    # Before a project is created or its source changed: the repository answers and the
    # branch exists (one `git ls-remote`). Off: mistakes show as a failed first deployment.
    verify_git_source: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Host names (besides the public URL's, NANOSCALE_HOST's and loopback) requests may name.
    allowed_hosts: Annotated[list[str], NoDecode] = []
    # Proxies whose X-Forwarded-For/-Proto is believed, when they also send the proxy secret
    # (tenants on this host can connect from the proxy's address; see forwarded.py).
    trusted_proxies: Annotated[list[str], NoDecode] = []
    proxy_secret: SecretStr | None = None

    session_idle_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    session_absolute_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    # Projects get a platform-allocated port from this range (never two on one port).
    port_range_start: int = Field(default=20000, ge=1024, le=65535)
    port_range_end: int = Field(default=29999, ge=1024, le=65535)

    runtime: RuntimeKind = RuntimeKind.PROCESS
    proxy: ProxyKind = ProxyKind.CADDY
    base_domain: str = "localhost"
    # Caddy's admin API as a Unix socket in Caddy's syntax (`unix//run/caddy/admin.sock`);
    # unset: NanoScale runs its own Caddy (engine/proxy/managed.py).
    caddy_admin: str | None = None
    # Defaults depend on NANOSCALE_ENV (see _proxy_defaults): development needs no root.
    proxy_http_port: int = Field(default=80, ge=1, le=65535)
    proxy_https_port: int = Field(default=443, ge=0, le=65535)  # 0: no HTTPS listener
    proxy_listen_host: str = ""  # interface Caddy's NanoScale server binds; "" = all
    worker_enabled: bool = True
    # Deployments (docs/deployments.md). Releases get a fresh port from their own range.
    release_port_start: int = Field(default=10000, ge=1024, le=65535)
    release_port_end: int = Field(default=19999, ge=1024, le=65535)
    build_timeout_seconds: float = Field(default=1800, gt=0)
    fetch_timeout_seconds: float = Field(default=600, gt=0)
    health_check_timeout_seconds: float = Field(default=60, gt=0)
    drain_seconds: float = Field(default=2.0, ge=0)
    lease_seconds: float = Field(default=60, gt=0)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_concurrency: int = Field(default=2, ge=1, le=64)  # projects deployed at once
    # Tenant isolation (docs/security.md): each build and each release gets these limits.
    sandbox: Literal["auto", "bwrap", "none"] = "auto"  # auto: bubblewrap when installed
    tenant_memory_mb: int = Field(default=2048, ge=32)
    tenant_max_processes: int = Field(default=1024, ge=16)
    tenant_cpu_percent: int = Field(default=200, ge=10)  # of one core
    # GitHub App integration (docs/github.md): all of these or none of them.
    github_app_id: int | None = Field(default=None, ge=1)
    github_app_client_id: str | None = None
    github_app_client_secret: SecretStr | None = None
    github_app_private_key_path: Path | None = None
    github_app_private_key: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None
    # During a rotation: the App's previous webhook secret, still accepted.
    github_webhook_secret_previous: SecretStr | None = None
    # github.com by default; GitHub Enterprise Server (and the test simulator) by URL.
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    # The reconciler (docs/github-operations.md): every this many seconds one serve process
    # checks each linked repository for missed pushes and broken hooks; 0 turns it off.
    github_reconcile_interval_seconds: int = Field(default=300, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VAR)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _proxy_defaults(cls, data: Any) -> Any:
        """Development: apps on http://<project>.localhost:8080 on loopback only, no HTTPS
        listener, so `make run` needs no root. Production: ports 80 and 443, every interface."""
        if isinstance(data, dict) and str(data.get("env", "development")) != "production":
            data = {
                "proxy_http_port": DEV_PROXY_HTTP_PORT,
                "proxy_https_port": 0,
                "proxy_listen_host": "127.0.0.1",
                **data,
            }
        return data

    @field_validator("git_allowed_hosts", "allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 127.0.0.1,10.0.0.0/8)"
                ) from None
        return value

    @field_validator("caddy_admin")
    @classmethod
    def _check_caddy_admin(cls, value: str | None) -> str | None:
        if value is None or (value.startswith(UNIX_PREFIX + "/") and len(value) > 6):
            return value
        raise ValueError(
            "must be a Unix socket in Caddy's syntax, e.g. unix//run/caddy/admin.sock: Caddy's "
            "admin API has no authentication, and every deployed app can reach a TCP port on "
            "loopback (a socket in a directory only NanoScale and Caddy can enter cannot)"
        )

    @field_validator("public_base_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://deploy.example.com")
        return value.rstrip("/")

    @field_validator("github_url", "github_api_url")
    @classmethod
    def _check_github_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
            raise ValueError("must be an absolute http(s) URL such as https://github.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _github_app(self) -> Settings:
        check_github_app(self)
        return self

    @model_validator(mode="after")
    def _port_range(self) -> Settings:
        if self.port_range_start > self.port_range_end:
            raise ValueError(
                "NANOSCALE_PORT_RANGE_START must not be greater than NANOSCALE_PORT_RANGE_END"
            )
        return self

    @model_validator(mode="after")
    def _proxy_secret_rules(self) -> Settings:
        secret = self.proxy_secret.get_secret_value() if self.proxy_secret else ""
        if self.trusted_proxies and len(secret) < MIN_PROXY_SECRET_LENGTH:
            raise ValueError(
                "NANOSCALE_TRUSTED_PROXIES needs NANOSCALE_PROXY_SECRET (at least "
                f"{MIN_PROXY_SECRET_LENGTH} characters, e.g. from `openssl rand -hex 32`), sent "
                "by the proxy as X-NanoScale-Proxy-Secret: deployed apps on this host can "
                "connect from the proxy's address and forge X-Forwarded-For"
            )
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env != "production":
            return self
        if not self.public_base_url or not self.public_base_url.startswith("https://"):
            raise ValueError(
                "NANOSCALE_PUBLIC_BASE_URL must be an https:// URL in production "
                "(GitHub callbacks and webhooks need it)"
            )
        if self.secret_key is None and self.secret_key_file is None:
            raise ValueError(
                "NANOSCALE_SECRET_KEY or NANOSCALE_SECRET_KEY_FILE is required in production "
                "(generate one with `nanoscale keys generate`)"
            )
        return self

    @property
    def github_configured(self) -> bool:
        return self.github_app_id is not None

    def github_private_key_pem(self) -> bytes:
        """The App's private key (validated at startup); only the gateway calls this."""
        if self.github_app_private_key is not None:
            return self.github_app_private_key.get_secret_value().encode()
        if self.github_app_private_key_path is None:
            raise ConfigError("the GitHub App is not configured")
        return self.github_app_private_key_path.read_bytes()

    @property
    def effective_git_hosts(self) -> list[str]:
        """Allowed git hosts, plus the configured GitHub's own host (clones from it just work)."""
        hosts = list(self.git_allowed_hosts)
        if self.github_configured:
            parts = urlsplit(self.github_url)
            hosts.append(_host_port(parts).lower())  # host:port when the URL names a port
        return hosts

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nanoscale.db').resolve()}"

    @property
    def resolved_public_base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def resolved_secret_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def caddy_managed(self) -> bool:
        """NanoScale starts (or adopts) its own Caddy: the proxy is Caddy and no admin socket
        of a system Caddy is configured."""
        return self.proxy == ProxyKind.CADDY and self.caddy_admin is None

    @property
    def caddy_admin_socket(self) -> Path:
        """The admin socket NanoScale talks to: the configured one, else its own Caddy's."""
        if self.caddy_admin is not None:
            return Path(self.caddy_admin[len(UNIX_PREFIX) :])
        return self.data_dir.resolve() / "caddy" / "admin.sock"

    @property
    def cookies_secure(self) -> bool:
        return self.resolved_public_base_url.startswith("https://")

    def git_url_allowed(self, url: str) -> bool:
        """https to an allowed host; plain http only to loopback hosts in development."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.username or parts.password:
            return False  # credentials never travel inside URLs
        allowed = self.effective_git_hosts
        if parts.scheme == "https":
            return host in allowed
        if parts.scheme == "http":
            return (
                not self.is_production
                and is_loopback_host(host)
                and (host in allowed or _host_port(parts) in allowed)
            )
        return False


def _host_port(parts: Any) -> str:
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


GITHUB_REQUIRED = (
    "github_app_id",
    "github_app_client_id",
    "github_app_client_secret",
    "github_webhook_secret",
    "public_base_url",
)
GITHUB_TRIGGERS = (*GITHUB_REQUIRED[:-1], "github_app_private_key_path", "github_app_private_key")


def check_github_app(settings: Settings) -> None:
    """All or nothing: a partial GitHub App configuration names every missing variable."""
    present = [name for name in GITHUB_TRIGGERS if getattr(settings, name) is not None]
    if not present:
        return
    missing = [f"{ENV_PREFIX}{n.upper()}" for n in GITHUB_REQUIRED if getattr(settings, n) is None]
    has_path = settings.github_app_private_key_path is not None
    has_inline = settings.github_app_private_key is not None
    if has_path and has_inline:
        raise ValueError(
            "set only one of NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH and "
            "NANOSCALE_GITHUB_APP_PRIVATE_KEY"
        )
    if not (has_path or has_inline):
        missing.append(
            f"{ENV_PREFIX}GITHUB_APP_PRIVATE_KEY_PATH (or {ENV_PREFIX}GITHUB_APP_PRIVATE_KEY)"
        )
    if missing:
        raise ValueError(
            "the GitHub App integration is partly configured; missing: " + ", ".join(missing)
        )
    _check_private_key(settings)


def _check_private_key(settings: Settings) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = settings.github_app_private_key_path
    if path is not None:
        try:
            mode = path.stat().st_mode
        except OSError:
            raise ValueError(
                f"NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH: {path} cannot be read"
            ) from None
        if mode & 0o007:
            raise ValueError(
                f"NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH: {path} is readable by other users; "
                "chmod 600 it"
            )
    try:
        key = load_pem_private_key(settings.github_private_key_pem(), password=None)
    except (ValueError, TypeError, OSError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(
            "the GitHub App private key is not an RSA private key in PEM format "
            "(download it from the App's settings page)"
        )


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and overrides), or raise a readable ConfigError."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]).upper()
            name = f"{ENV_PREFIX}{loc}" if loc else "configuration"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
