"""A static site publishes ONLY its output directory, readable by the proxy and nobody else.

Attacks, run as root like the suite: another project's user reads the site's source or lists
the projects directory; any other user reads the published files; the site's own user (a
process its build left behind) swaps the published output, or its release's output, for a
link to a host directory. Caddy runs as Debian's `caddy` user, as in production, and must
still serve the site."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nanoscale.db.engine import session_scope
from nanoscale.deployments.worker.teardown import teardown_project
from nanoscale.engine.runtime.users import Account, lookup, project_user_name
from nanoscale.projects.models import Project
from nanoscale.settings import Settings
from tests.support.caddy import CaddyInstance, running_caddy
from tests.support.deploy import (
    STATIC_APP,
    DeployHarness,
    deploy_harness,
    deploy_settings_overrides,
)
from tests.support.git_server import GitServer

pytestmark = [
    pytest.mark.caddy,
    pytest.mark.skipif(os.geteuid() != 0, reason="project users exist only as root"),
    pytest.mark.skipif(lookup("caddy") is None, reason="needs the caddy package's user"),
]

NOBODY = Account("nobody", 65534, 65534)


@pytest.fixture
def caddy_user_caddy() -> Iterator[CaddyInstance]:
    with running_caddy(user="caddy") as instance:
        yield instance


@pytest.fixture
def harness(
    make_settings: Callable[..., Settings],
    git_server: GitServer,
    deploy_data_dir: Path,
    caddy_user_caddy: CaddyInstance,
) -> Iterator[DeployHarness]:
    overrides = {
        **deploy_settings_overrides(deploy_data_dir, git_server),
        **caddy_user_caddy.settings_overrides(),
    }
    with deploy_harness(make_settings(**overrides), git_server) as built:
        yield built


def as_user(account: Account, *command: str) -> subprocess.CompletedProcess[str]:
    ids = [f"--reuid={account.uid}", f"--regid={account.gid}", "--clear-groups"]
    return subprocess.run(
        ["setpriv", *ids, "--", *command], capture_output=True, text=True, check=False, cwd="/"
    )


def account_of(project: Project) -> Account:
    account = lookup(project_user_name(project.name, project.id))
    assert account is not None
    return account


def test_only_the_output_is_published_and_only_the_proxy_can_read_it(
    harness: DeployHarness, caddy_user_caddy: CaddyInstance, deploy_data_dir: Path
) -> None:
    repo, sha = harness.repo("site", "static")
    site = harness.project(repo, start_command=None, **STATIC_APP)
    other_repo, other_sha = harness.repo("other", "python")
    other = harness.project(other_repo, start_command="python3 app.py")
    site_deployment = harness.request(site, sha)
    harness.request(other, other_sha)
    harness.run_until_idle()
    assert harness.deployment(site_deployment).state == "live", harness.log(site_deployment)
    host = harness.url(site)
    assert host is not None
    site_host = host.split("//")[1].split(":")[0]

    page = caddy_user_caddy.get(site_host, "/index.html")
    assert page.status_code == 200 and f"v1 {sha}" in page.text  # Caddy, as `caddy`, reads it

    release = deploy_data_dir / "projects" / site.id / "releases" / site_deployment
    published = deploy_data_dir / "published" / site.id / site_deployment
    assert sorted(p.name for p in published.iterdir()) == ["index.html"]  # no source
    neighbour = account_of(other)
    assert as_user(neighbour, "cat", str(release / "build.sh")).returncode != 0
    assert as_user(neighbour, "ls", str(deploy_data_dir / "projects")).returncode != 0
    for outsider in (neighbour, NOBODY, account_of(site)):
        assert as_user(outsider, "cat", str(published / "index.html")).returncode != 0

    owner = account_of(site)  # what a process left behind by the site's build could do
    swap = as_user(owner, "ln", "-sfn", "/etc", str(published / "index.html"))
    assert swap.returncode != 0
    (release / "dist").rename(release / "dist-old")
    (release / "dist").symlink_to("/etc")
    assert caddy_user_caddy.get(site_host, "/passwd").status_code == 404
    assert f"v1 {sha}" in caddy_user_caddy.get(site_host, "/index.html").text

    with session_scope(harness.ctx.sessions) as session:
        teardown_project(session, ctx=harness.ctx, project=session.get_one(Project, site.id))
    assert not published.parent.exists()  # deleting the project unpublishes it


def test_a_live_site_without_its_published_copy_is_published_again_on_restart(
    harness: DeployHarness, caddy_user_caddy: CaddyInstance, deploy_data_dir: Path
) -> None:
    repo, sha = harness.repo("site", "static")
    site = harness.project(repo, start_command=None, **STATIC_APP)
    deployment_id = harness.request(site, sha)
    harness.run_until_idle()
    published = deploy_data_dir / "published" / site.id / deployment_id
    shutil.rmtree(published)  # as after an upgrade from releases served in place

    harness.worker.restore_releases()  # what an orchestrator start does

    caddy_account = lookup("caddy")
    assert caddy_account is not None
    assert (published / "index.html").is_file()
    assert published.stat().st_gid == caddy_account.gid
    host = f"{site.name}.localhost"
    assert f"v1 {sha}" in caddy_user_caddy.get(host, "/index.html").text
