"""How the engine hands credentials to git and sorts git's failures (no network here)."""

from __future__ import annotations

import base64
from pathlib import Path

from nanoscale.engine.credentials import GitCredentials, HostCredentials, NoCredentials
from nanoscale.engine.git import classify_git_failure, git_env, scrub, secrets_of

REPO = "https://git.example.com/team/app.git"
CREDS = HostCredentials(REPO, GitCredentials("bot", "pa55-word-xyz"))


def test_credential_travels_as_env_config_scoped_to_the_repository_url() -> None:
    env = git_env(home=Path("/tmp/h"), url=REPO, credentials=CREDS)

    pairs = {
        env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    }
    header = pairs[f"http.{REPO}.extraHeader"]
    assert header == "Authorization: Basic " + base64.b64encode(b"bot:pa55-word-xyz").decode()
    assert pairs["credential.helper"] == ""
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["HOME"] == "/tmp/h"


def test_other_hosts_get_no_credential() -> None:
    assert CREDS.credentials_for("https://git.example.com/team/lib.git") is not None
    assert CREDS.credentials_for("https://elsewhere.example.com/team/lib.git") is None
    assert CREDS.credentials_for("http://git.example.com/team/app.git") is None
    env = git_env(home=Path("/tmp/h"), url="https://elsewhere.example.com/x.git", credentials=CREDS)
    assert not any("Authorization" in v for v in env.values())
    assert secrets_of(NoCredentials(), REPO) == []


def test_credential_is_not_printed_by_repr_or_scrubbed_output() -> None:
    assert "pa55-word-xyz" not in repr(CREDS)
    secrets = secrets_of(CREDS, REPO)
    text = f"fatal: could not read from {REPO} with pa55-word-xyz / {secrets[1]}"
    assert "pa55-word-xyz" not in scrub(text, secrets)
    assert secrets[1] not in scrub(text, secrets)


def test_git_failures_are_sorted_by_responsibility() -> None:
    auth = classify_git_failure("fatal: Authentication failed for 'https://x/'", "fetch")
    missing = classify_git_failure("fatal: remote error: upload-pack: not our ref abc", "fetch")
    network = classify_git_failure("fatal: unable to access: Could not resolve host: x", "fetch")
    assert (auth.code, auth.responsibility) == ("git_auth_failed", "user")
    assert (missing.code, missing.responsibility) == ("commit_not_found", "user")
    assert (network.code, network.responsibility) == ("git_failed", "platform")
