"""A private repository's credential reaches git only through the environment: never in a
process's command line, the deployment log, the orchestrator's log, `.git/config` or any
file NanoScale writes. Submodules on the same host are fetched with the same credential."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from tests.support.deploy import APPS, DeployHarness

PASSWORD = "s3cr3t-Passw0rd-for-tests"
USERNAME = "deploy-bot"


class CmdlineSampler:
    """Reads every process's /proc/<pid>/cmdline in a loop (world-readable, as for any user)."""

    def __init__(self, needles: list[bytes]) -> None:
        self.needles = needles
        self.leaks: list[str] = []
        self.git_fetches_seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CmdlineSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"git" in cmdline and (b"fetch" in cmdline or b"ls-remote" in cmdline):
                    self.git_fetches_seen += 1
                if any(n in cmdline for n in self.needles):
                    self.leaks.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n in data for n in needles):
                found.append(str(path))
    return found


def test_credential_never_leaks_during_fetch_of_private_repo_and_submodule(
    deploy: DeployHarness, capfd: pytest.CaptureFixture[str]
) -> None:
    git = deploy.git
    lib = git.create_repo("lib", private=True, username=USERNAME, password=PASSWORD)
    lib.commit({"lib.txt": "shared code\n"})
    repo = git.create_repo("private-app", private=True, username=USERNAME, password=PASSWORD)
    repo.commit_tree(APPS / "node", "app")
    sha = repo.add_submodule(lib, "vendor/lib")
    project = deploy.project(repo, build_command="cat vendor/lib/lib.txt")
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode())
    needles = [PASSWORD.encode(), basic]
    git.set_delay(0.3)  # keeps git alive long enough to be sampled mid-fetch

    with CmdlineSampler(needles) as sampler:
        first = deploy.request(project, sha)
        deploy.run_until_idle()
        head = repo.commit({"version.txt": "v2\n"})
        second = deploy.request(project, None)  # the worker resolves it with the credential
        deploy.run_until_idle()

    assert deploy.deployment(first).state == "live", deploy.log(first)
    assert deploy.deployment(second).commit_sha == head
    assert deploy.deployment(second).state == "live", deploy.log(second)
    assert "shared code" in deploy.log(first)  # the submodule came with the same credential
    assert sampler.git_fetches_seen > 0
    assert sampler.leaks == []
    for deployment_id in (first, second):
        assert PASSWORD not in deploy.log(deployment_id)
        assert basic.decode() not in deploy.log(deployment_id)
    data_dir = deploy.ctx.settings.data_dir
    assert _files_containing(data_dir, needles) == []
    store_config = (data_dir / "projects" / project.id / "store.git" / "config").read_text()
    assert "extraheader" not in store_config.lower()
    captured = capfd.readouterr()
    assert PASSWORD not in captured.out + captured.err
    assert all(authed for name, _path, authed in git.requests if name in {"lib", "private-app"})


def test_wrong_password_fails_as_a_user_error_without_echoing_it(deploy: DeployHarness) -> None:
    repo = deploy.git.create_repo("private-app", private=True, username=USERNAME, password=PASSWORD)
    sha = repo.commit_tree(APPS / "node", "app")
    repo.password = "wrong-password-value"
    project = deploy.project(repo)

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert failed.state == "failed"
    assert failed.error_code == "git_auth_failed"
    assert failed.error_responsibility == "user"
    assert "wrong-password-value" not in (failed.error_message or "") + deploy.log(deployment_id)
