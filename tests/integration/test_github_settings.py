"""GitHub App settings (plan §4): all or nothing, a real RSA key kept private, and the
configured GitHub's git host allowed for clones without extra configuration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nanoscale.errors import ConfigError
from nanoscale.settings import Settings
from tests.fakes.github.world import app_key_pair
from tests.support.cli import run_cli

PEM = app_key_pair(0)[0]


def _key_file(tmp_path: Path, data: bytes = PEM, mode: int = 0o600) -> Path:
    path = tmp_path / "app.pem"
    path.write_bytes(data)
    path.chmod(mode)
    return path


def full_config(key_path: Path) -> dict[str, object]:
    return {
        "github_app_id": 12,
        "github_app_client_id": "Iv1.abc",
        "github_app_client_secret": "client-secret",
        "github_app_private_key_path": key_path,
        "github_webhook_secret": "hook-secret",
        "public_base_url": "http://127.0.0.1:8000",
    }


def test_nothing_configured_means_integration_off(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert not settings.github_configured
    assert settings.github_url == "https://github.com"
    assert settings.github_api_url == "https://api.github.com"


def test_partial_configuration_names_every_missing_variable(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(ConfigError) as err:
        make_settings(github_app_id=12, github_webhook_secret="x")
    message = err.value.message
    for name in (
        "NANOSCALE_GITHUB_APP_CLIENT_ID",
        "NANOSCALE_GITHUB_APP_CLIENT_SECRET",
        "NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH",
        "NANOSCALE_PUBLIC_BASE_URL",
    ):
        assert name in message
    assert "NANOSCALE_GITHUB_APP_ID," not in message  # present ones are not listed


def test_complete_configuration_is_accepted(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(**full_config(_key_file(tmp_path)))
    assert settings.github_configured
    assert settings.github_private_key_pem() == PEM


def test_inline_key_works_but_not_together_with_a_path(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    values = full_config(_key_file(tmp_path))
    with pytest.raises(ConfigError, match="only one"):
        make_settings(**values, github_app_private_key=PEM.decode())
    values.pop("github_app_private_key_path")
    assert make_settings(**values, github_app_private_key=PEM.decode()).github_configured


def test_world_readable_key_is_refused(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="readable by other users"):
        make_settings(**full_config(_key_file(tmp_path, mode=0o644)))


@pytest.mark.parametrize("kind", ["garbage", "ec"])
def test_key_that_is_not_rsa_pem_is_refused(
    make_settings: Callable[..., Settings], tmp_path: Path, kind: str
) -> None:
    data = b"-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n"
    if kind == "ec":
        data = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    with pytest.raises(ConfigError, match="not an RSA private key"):
        make_settings(**full_config(_key_file(tmp_path, data)))


def test_production_requires_https_public_url(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="https"):
        make_settings(**full_config(_key_file(tmp_path)), env="production")


def test_configured_github_host_is_allowed_for_clones(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    off = make_settings(git_allowed_hosts="", github_url="http://127.0.0.1:9999")
    assert not off.git_url_allowed("http://127.0.0.1:9999/octo/app.git")
    on = make_settings(
        **full_config(_key_file(tmp_path)), git_allowed_hosts="", github_url="http://127.0.0.1:9999"
    )
    assert on.git_url_allowed("http://127.0.0.1:9999/octo/app.git")
    assert not on.git_url_allowed("http://127.0.0.1:9998/octo/app.git")
    assert not on.git_url_allowed("https://gitlab.example/octo/app.git")


def test_serve_exits_non_zero_on_partial_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NANOSCALE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NANOSCALE_GITHUB_APP_ID", "12")
    result = run_cli("serve")
    assert result.exit_code != 0
    assert "NANOSCALE_GITHUB_APP_CLIENT_SECRET" in result.output
    assert not (tmp_path / "var").exists()  # stopped before touching anything
