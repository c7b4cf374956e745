"""Settings as the NANOSCALE_* variables a CLI process reads (for CLI tests on a harness)."""

from __future__ import annotations

from nanoscale.settings import Settings

NAMES = ("data_dir", "database_url", "secret_key", "public_base_url", "github_app_id",
         "github_app_client_id", "github_app_client_secret", "github_app_private_key_path",
         "github_webhook_secret", "github_url", "github_api_url", "proxy")  # fmt: skip


def nanoscale_environment(settings: Settings) -> dict[str, str]:
    env: dict[str, str] = {"NANOSCALE_GIT_ALLOWED_HOSTS": ""}
    for name in NAMES:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"NANOSCALE_{name.upper()}"] = str(value)
    return env
