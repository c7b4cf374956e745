"""`nanoscale doctor`: check configuration and prerequisites; print each problem with its fix.

Read-only: unlike `serve`, it creates no key file, database or directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from nanoscale.cli.findings import Finding, ok, problem
from nanoscale.cli.host_checks import (
    check_data_dir_traversable,
    check_port_ranges,
    check_sandbox,
    port_free,
)
from nanoscale.context import AppContext, load_keyring
from nanoscale.crypto import KeyRing, read_key_file
from nanoscale.db.engine import make_engine, make_session_factory, session_scope
from nanoscale.db.files import readable_by_others, sqlite_path
from nanoscale.db.migrate import alembic_config
from nanoscale.engine.proxy.caddy_admin import CaddyAdmin, admin_socket_exposure
from nanoscale.engine.proxy.managed import caddy_binary
from nanoscale.engine.runtime import cgroups
from nanoscale.errors import NanoScaleError
from nanoscale.github.app_config import apply_stored_app
from nanoscale.github.doctor import repository_hooks, run_github_checks
from nanoscale.github.gateway import GitHubGateway
from nanoscale.settings import ProxyKind, RuntimeKind, Settings, load_settings


def check_secret_key(settings: Settings) -> Finding:
    try:
        if settings.secret_key is not None:
            keys = [k for k in settings.secret_key.get_secret_value().split(",") if k]
            return ok("secret key", f"primary key id {KeyRing(keys).primary_key_id}")
        path = settings.resolved_secret_key_file
        if not path.exists():
            if settings.is_production:
                return problem(
                    "secret key", f"{path} does not exist",
                    f"nanoscale keys generate > {path} && chmod 600 {path}",
                )  # fmt: skip
            return ok("secret key", f"{path} will be created on first start")
        if path.stat().st_mode & 0o077:
            return problem("secret key", f"{path} is readable by others", f"chmod 600 {path}")
        return ok("secret key", f"primary key id {KeyRing(read_key_file(path)).primary_key_id}")
    except NanoScaleError as exc:
        return problem("secret key", exc.message, "set a key from `nanoscale keys generate`")


def check_data_dir(settings: Settings) -> Finding:
    path = settings.data_dir.resolve()
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK):
        return problem(
            "data directory", f"{existing} is not writable",
            f"chown the directory to the NanoScale user or set NANOSCALE_DATA_DIR ({path})",
        )  # fmt: skip
    return ok("data directory", str(path))


def check_database(settings: Settings) -> Finding:
    url = settings.resolved_database_url
    sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    if sqlite_file and not Path(sqlite_file).exists():  # connecting would create it
        return problem(
            "database", f"the SQLite database {sqlite_file} does not exist yet",
            "run `nanoscale db upgrade` (or `make run`)",
        )  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return problem(
            "database", f"cannot connect ({type(exc).__name__})",
            "check NANOSCALE_DATABASE_URL and that the database server is running",
        )  # fmt: skip
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current != head:
        return problem(
            "database", f"schema at revision {current or 'none'}, code expects {head}",
            "run `nanoscale db upgrade`",
        )  # fmt: skip
    return ok("database", f"reachable, migrated to {head}")


def check_private_files(settings: Settings) -> Finding:
    """The SQLite database (password hashes, sessions) and the key file are ours alone."""
    candidates = [sqlite_path(settings.resolved_database_url)]
    if settings.secret_key is None:
        candidates.append(settings.resolved_secret_key_file)
    exposed = [p for p in candidates if p is not None and p.exists() and readable_by_others(p)]
    if exposed:
        names = " ".join(str(p) for p in exposed)
        return problem(
            "file permissions", f"readable by other users: {names}",
            f"chmod 600 {names} (and the database's -wal/-shm files)",
        )  # fmt: skip
    return ok("file permissions", "database and key file readable by NanoScale only")


def check_git(_settings: Settings) -> Finding:
    git = shutil.which("git")
    if git is None:
        return problem("git", "git is not installed", "apt-get install git")
    version = subprocess.run([git, "--version"], capture_output=True, text=True, check=False)
    return ok("git", version.stdout.strip())


def check_proxy(settings: Settings) -> Finding:
    if settings.proxy != ProxyKind.CADDY:
        return ok("proxy", "none (each project is reached on its own loopback port)")
    socket_path = settings.caddy_admin_socket
    with CaddyAdmin(socket_path, timeout=3.0) as admin:
        answers = admin.answers()
    if not answers and settings.caddy_managed:
        return check_managed_caddy(settings)
    if not answers:
        return problem(
            "proxy", f"Caddy's admin API does not answer on {socket_path}",
            "start Caddy with `admin unix/" + str(socket_path) + "` (docs/proxy.md) "
            "or set NANOSCALE_CADDY_ADMIN to its socket",
        )  # fmt: skip
    exposed = admin_socket_exposure(socket_path)
    if exposed:
        return problem("proxy", exposed, f"chmod 700 {socket_path.parent}")
    return ok("proxy", f"Caddy admin API on {socket_path}, reachable by NanoScale only")


def check_managed_caddy(settings: Settings) -> Finding:
    """Not running yet: `serve` will start it, if it is installed and its port is free."""
    binary = caddy_binary()
    if binary is None:
        return problem(
            "proxy", "caddy is not installed (NanoScale runs its own Caddy by default)",
            "apt-get install caddy (`make run` does), or set NANOSCALE_PROXY=none",
        )  # fmt: skip
    host = settings.proxy_listen_host or "0.0.0.0"  # noqa: S104 (what Caddy will bind)
    port = settings.proxy_http_port
    if not port_free(host, port):
        return problem(
            "proxy", f"port {port} on {host}, where NanoScale's Caddy will serve apps, is in use",
            "stop what holds it, or set NANOSCALE_PROXY_HTTP_PORT to a free port",
        )  # fmt: skip
    return ok("proxy", f"{binary} will be started by `nanoscale serve` (apps on port {port})")


def check_runtime(settings: Settings) -> Finding:
    if settings.runtime == RuntimeKind.SYSTEMD:
        if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
            return problem(
                "runtime", "systemd is not running on this host",
                "set NANOSCALE_RUNTIME=process, or run NanoScale on a systemd host",
            )  # fmt: skip
        if os.geteuid() != 0:
            return problem("runtime", "the systemd runtime needs root", "run NanoScale as root")
        return ok("runtime", "systemd")
    if os.geteuid() == 0:  # apps then run as per-project system users
        missing = [tool for tool in ("useradd", "userdel") if not _which_admin(tool)]
        if missing:
            return problem(
                "runtime", f"running as root but {', '.join(missing)} missing "
                "(apps run as their own system users)",
                "apt-get install util-linux passwd",
            )  # fmt: skip
    return ok("runtime", "process")


def check_limits(settings: Settings) -> Finding:
    limits = (
        f"{settings.tenant_memory_mb} MiB, {settings.tenant_max_processes} processes, "
        f"{settings.tenant_cpu_percent}% CPU"
    )
    if os.geteuid() != 0:
        return problem(
            "resource limits", "not running as root: no per-project users and no cgroup "
            "limits; only a per-process data-size limit applies",
            "run NanoScale as root (it drops privileges for every build and app)",
        )  # fmt: skip
    version = cgroups.available()
    if version is None:
        return problem(
            "resource limits", "no usable cgroups (v2 with memory and pids, or v1 memory "
            "and pids): memory is limited per process, processes per project user, CPU not",
            "boot with cgroup v2 (systemd's default) or mount the v1 memory, pids and cpu "
            "controllers",
        )  # fmt: skip
    return ok("resource limits", f"{limits} per build and release (cgroup v{version})")


def _with_stored_app(settings: Settings, engine: Engine) -> Settings:
    """An App created from the dashboard, when the environment names none (read-only: an
    absent key file means nothing can be stored yet)."""
    if settings.github_configured or (
        settings.secret_key is None and not settings.resolved_secret_key_file.exists()
    ):
        return settings
    try:
        keyring = load_keyring(settings)
    except NanoScaleError:
        return settings
    ctx = AppContext(settings, engine, make_session_factory(engine), keyring)
    apply_stored_app(ctx)
    return ctx.settings


def _which_admin(tool: str) -> bool:
    return shutil.which(tool, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") is not None


CHECKS: tuple[Callable[[Settings], Finding], ...] = (
    check_secret_key, check_data_dir, check_data_dir_traversable, check_database,
    check_private_files, check_git, check_proxy, check_runtime, check_sandbox, check_limits,
    check_port_ranges,
)  # fmt: skip


def run_checks() -> list[Finding]:
    try:
        settings = load_settings()
    except NanoScaleError as exc:
        return [problem("configuration", exc.message, "fix the variables named above")]
    findings = [ok("configuration", f"{settings.env} mode"), *(c(settings) for c in CHECKS)]
    return [*findings, *check_github(settings)]


def check_github(settings: Settings) -> list[Finding]:
    """The GitHub App's health as GitHub sees it (github/doctor.py); optional integration."""
    engine = make_engine(settings.resolved_database_url)
    try:
        settings = _with_stored_app(settings, engine)
        with session_scope(make_session_factory(engine)) as db:
            hooks = repository_hooks(db)
    except SQLAlchemyError:
        hooks = []  # the database check above already says why
    finally:
        engine.dispose()
    if not settings.github_configured:
        return [ok("github", "not configured (optional; see docs/github.md)")]
    gateway = GitHubGateway(settings)
    try:
        checks = run_github_checks(gateway, hooks=hooks)
    finally:
        gateway.close()
    return [Finding(c.name, c.ok, c.detail, c.fix) for c in checks]


def doctor() -> None:
    """Check configuration, database, git, proxy, runtime, sandbox, data directory access,
    ports and the GitHub App; exit 1 if anything is wrong."""
    findings = run_checks()
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL"
        typer.echo(f"{mark}  {finding.check}: {finding.detail}")
        if not finding.ok:
            typer.echo(f"      fix: {finding.fix}")
    problems = sum(not f.ok for f in findings)
    typer.echo("no problems found" if not problems else f"{problems} problem(s) found")
    raise typer.Exit(1 if problems else 0)
