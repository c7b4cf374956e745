"""One project's build and app cannot read another project's files (as root, where each
project runs as its own unprivileged user)."""

from __future__ import annotations

import os
import subprocess

import pytest

from nanoscale.deployments.releases import project_paths
from nanoscale.engine.runtime.users import project_user_name
from tests.support.deploy import DeployHarness

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="per-project users need root")


def _as_user(user: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_project_user_cannot_read_another_projects_code_store_or_logs(
    deploy: DeployHarness,
) -> None:
    repo_a, sha_a = deploy.repo("iso-a")
    repo_b, sha_b = deploy.repo("iso-b")
    project_a, project_b = deploy.project(repo_a), deploy.project(repo_b)
    deploy.request(project_a, sha_a)
    b_id = deploy.request(project_b, sha_b)
    deploy.run_until_idle()
    assert deploy.status(project_a) == deploy.status(project_b) == "live"

    user_a = project_user_name(project_a.name, project_a.id)
    b_paths = project_paths(deploy.ctx.settings, project_b.id)
    own_release = project_paths(deploy.ctx.settings, project_a.id).root / "releases"

    assert _as_user(user_a, f"ls {own_release}").returncode != 0  # enter-only, even its own
    for path in (
        b_paths.release(b_id) / "server.js",
        b_paths.store / "HEAD",
        b_paths.release_log(b_id),
        b_paths.home,
    ):
        denied = _as_user(user_a, f"cat {path} || ls {path}")
        assert denied.returncode != 0, path
        assert "Permission denied" in denied.stderr
    assert _as_user(user_a, f"ls {b_paths.root}/releases").returncode != 0
    # The projects still serve their own code: the lock-down did not lock them out.
    assert deploy.serve(project_a) == f"v1 {sha_a}\n"
    assert deploy.serve(project_b) == f"v1 {sha_b}\n"
