"""Running git safely: a clean environment, credentials only through env-provided config.

The credential reaches git as `http.<url>.extraHeader` set by GIT_CONFIG_COUNT/KEY/VALUE
variables: never in the URL, argv, `.git/config` or our logs. Config from the system, the
user's HOME and inherited credential helpers is ignored; prompts are disabled; slow transfers
abort; each git runs in its own session so a timeout or a cancel ends it and its helpers at
once. Redirects are never followed (`http.followRedirects=false`): git would replay the
`extraHeader` Authorization to whatever host a redirect names, and would bypass the host
allowlist checked on the configured URL.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from nanoscale.engine.credentials import CredentialProvider, GitCredentials
from nanoscale.engine.runtime.kill import kill_tree
from nanoscale.errors import Cancelled, NanoScaleError, PlatformError, UserCodeError
from nanoscale.logs import redact_text

LOW_SPEED_BYTES = 1000
LOW_SPEED_SECONDS = 30
POLL_SECONDS = 0.1  # how often a running git checks for cancellation
STOP_GRACE_SECONDS = 1.0
REDIRECT_STATUS_RE = re.compile(r"returned error: 30[1-8]\b")
SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _basic(creds: GitCredentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Authorization: Basic " + base64.b64encode(raw).decode()


def git_env(
    *, home: Path, url: str | None = None, credentials: CredentialProvider | None = None
) -> dict[str, str]:
    config: list[tuple[str, str]] = [
        ("credential.helper", ""),  # drop any inherited helper
        ("http.followRedirects", "false"),  # the Authorization header must not travel on
        ("http.lowSpeedLimit", str(LOW_SPEED_BYTES)),
        ("http.lowSpeedTime", str(LOW_SPEED_SECONDS)),
        ("protocol.version", "2"),
        ("advice.detachedHead", "false"),
    ]
    creds = credentials.credentials_for(url) if (credentials and url) else None
    if url and creds:
        config.append((f"http.{url}.extraHeader", _basic(creds)))
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "http:https",
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def secrets_of(credentials: CredentialProvider | None, url: str) -> list[str]:
    """The strings that must never be shown: the password and its Basic encoding."""
    creds = credentials.credentials_for(url) if credentials else None
    if creds is None:
        return []
    return [creds.password, _basic(creds).removeprefix("Authorization: Basic ")]


def scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact_text(text)


def run_git(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 600,
    secrets: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """Run git in its own session; on timeout or `cancel` its whole group (git and its
    remote helpers) is killed at once rather than left to finish the transfer."""
    proc = subprocess.Popen(
        ["git", *args],
        env={**env, **(extra_env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                _stop(proc)
                raise Cancelled("the deployment was cancelled") from None
            if time.monotonic() >= deadline:
                _stop(proc)
                raise PlatformError(
                    f"git {args[0]} did not finish within {int(timeout)}s", code="git_timeout"
                ) from None
    if proc.returncode != 0:
        raise classify_git_failure(scrub(stderr.decode(errors="replace"), secrets), args[0])
    return stdout.decode(errors="replace")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    kill_tree(pgid=proc.pid, marker=None, grace=STOP_GRACE_SECONDS)
    proc.kill()  # the leader, should it have ignored SIGTERM
    proc.communicate()


def classify_git_failure(stderr: str, what: str) -> NanoScaleError:
    text = stderr.strip()[-1500:]
    lowered = text.lower()
    if "redirect" in lowered or REDIRECT_STATUS_RE.search(lowered):
        return UserCodeError(
            "the Git host answered with a redirect, which NanoScale does not follow (use the "
            "final repository URL): " + text,
            code="git_redirect_refused",
        )
    if any(
        s in lowered for s in ("authentication failed", "could not read username", "401", "403")
    ):
        return UserCodeError(
            "the Git host refused the credentials (check the repository access or password): "
            + text,
            code="git_auth_failed",
        )
    if any(
        s in lowered
        for s in ("not our ref", "couldn't find remote ref", "no such remote", "not found", "404")
    ):
        return UserCodeError(
            "the repository or commit was not found on the Git host: " + text,
            code="commit_not_found",
        )
    return PlatformError(f"git {what} failed: {text}", code="git_failed")
