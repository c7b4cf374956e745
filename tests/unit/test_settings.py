"""Startup configuration: production rules and the TOML config file source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nanoscale.crypto import generate_key
from nanoscale.errors import ConfigError
from nanoscale.settings import CONFIG_FILE_VAR, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NANOSCALE_"):
            monkeypatch.delenv(name)


def production(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "env": "production",
        "public_base_url": "https://deploy.example.com",
        "secret_key": generate_key(),
    }
    values.update(overrides)
    return values


def test_production_settings_with_https_url_and_key_load() -> None:
    settings = load_settings(**production())
    assert settings.is_production and settings.cookies_secure


@pytest.mark.parametrize("url", [None, "http://deploy.example.com"])
def test_production_requires_an_https_public_url(url: str | None) -> None:
    with pytest.raises(ConfigError, match="NANOSCALE_PUBLIC_BASE_URL must be an https:// URL"):
        load_settings(**production(public_base_url=url))


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="NANOSCALE_SECRET_KEY or NANOSCALE_SECRET_KEY_FILE"):
        load_settings(**production(secret_key=None))
    assert load_settings(**production(secret_key=None, secret_key_file="/etc/ns.key"))


def test_plain_http_git_urls_are_refused_in_production_only() -> None:
    url = "http://127.0.0.1:9418/o/r.git"
    hosts = "github.com,127.0.0.1:9418"
    assert load_settings(git_allowed_hosts=hosts).git_url_allowed(url)
    assert not load_settings(**production(git_allowed_hosts=hosts)).git_url_allowed(url)
    assert load_settings(**production()).git_url_allowed("https://github.com/o/r.git")


PROXY_SECRET = "p" * 32


def test_trusted_proxies_must_be_addresses() -> None:
    proxies = load_settings(trusted_proxies="10.0.0.1, 10.2.0.0/16", proxy_secret=PROXY_SECRET)
    assert proxies.trusted_proxies == ["10.0.0.1", "10.2.0.0/16"]
    with pytest.raises(ConfigError, match="NANOSCALE_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="proxy.example.com", proxy_secret=PROXY_SECRET)


@pytest.mark.parametrize("secret", [None, "too short"])
def test_trusted_proxies_need_a_long_proxy_secret(secret: str | None) -> None:
    with pytest.raises(ConfigError, match="NANOSCALE_PROXY_SECRET") as caught:
        load_settings(trusted_proxies="127.0.0.1", proxy_secret=secret)
    if secret:
        assert secret not in str(caught.value)


def test_a_toml_config_file_supplies_settings_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "nanoscale.toml"
    config.write_text(
        'port = 9123\npublic_base_url = "https://deploy.example.com/"\n'
        'git_allowed_hosts = ["github.com", "git.example.org"]\nlog_level = "debug"\n'
    )
    monkeypatch.setenv(CONFIG_FILE_VAR, str(config))
    monkeypatch.setenv("NANOSCALE_LOG_LEVEL", "warning")

    settings = load_settings()

    assert settings.port == 9123
    assert settings.public_base_url == "https://deploy.example.com"
    assert settings.git_allowed_hosts == ["github.com", "git.example.org"]
    assert settings.log_level == "warning"


def test_a_bad_value_in_the_config_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "nanoscale.toml"
    config.write_text('port = "not-a-port"\n')
    monkeypatch.setenv(CONFIG_FILE_VAR, str(config))
    with pytest.raises(ConfigError, match="NANOSCALE_PORT"):
        load_settings()
