"""Inside the sandbox a build or an app sees neither another project's files (process apps
and static sites alike, source and output) nor anyone else's processes. The probe runs as
project A's build and as A's app, after B (a process app) and C (a static site) are live;
outside the sandbox the same probe finds B's process and C's published files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nanoscale.deployments.releases import project_paths
from nanoscale.engine.runtime import procfs
from tests.support.deploy import STATIC_APP, DeployHarness

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="per-project users (and the sandbox as one) need root"
)
SLEEPER = "777123"  # B's marker process: `sleep 777123`
PROBE = """#!/bin/sh
label=$1
for p in {paths}; do
  if cat "$p" >/dev/null 2>&1 || ls "$p" >/dev/null 2>&1; then echo "$label LEAK $p"; fi
done
if ls {projects} 2>/dev/null | grep -q {b_id}; then echo "$label LEAK project list"; fi
if grep -l '7771[2]3' /proc/[0-9]*/cmdline >/dev/null 2>&1; then echo "$label SEES others"; fi
echo "$label visible processes: $(ls -d /proc/[0-9]* | wc -l)"
echo "$label probe done"
"""


def _visible(text: str, label: str) -> int:
    line = next(x for x in text.splitlines() if x.startswith(f"{label} visible processes:"))
    return int(line.rsplit(":", 1)[1])


def test_a_project_cannot_see_other_projects_files_or_processes(deploy: DeployHarness) -> None:
    settings = deploy.ctx.settings
    repo_b, sha_b = deploy.repo("iso-b")
    project_b = deploy.project(repo_b, start_command=f"sleep {SLEEPER} & exec node server.js")
    repo_c, sha_c = deploy.repo("iso-c", app="static")
    project_c = deploy.project(repo_c, **STATIC_APP)
    b_id, c_id = deploy.request(project_b, sha_b), deploy.request(project_c, sha_c)
    deploy.run_until_idle()
    assert deploy.status(project_b) == deploy.status(project_c) == "live"

    b_release = project_paths(settings, project_b.id).release(b_id)
    c_paths = project_paths(settings, project_c.id)
    targets = [
        b_release / "server.js",
        b_release,
        c_paths.release(c_id) / "dist" / "index.html",  # world-readable for the proxy
        c_paths.release(c_id) / "build.sh",
        c_paths.store,
        settings.data_dir.resolve() / "nanoscale.db",
    ]
    projects = settings.data_dir.resolve() / "projects"
    probe = PROBE.format(
        paths=" ".join(str(t) for t in targets), projects=projects, b_id=project_b.id
    )
    repo_a, _ = deploy.repo("iso-a")
    sha_a = repo_a.commit({"probe.sh": probe})
    project_a = deploy.project(
        repo_a,
        build_command="sh probe.sh build",
        start_command="sh probe.sh app; exec node server.js",
    )
    a_id = deploy.request(project_a, sha_a)
    deploy.run_until_idle()
    assert deploy.status(project_a) == "live"

    build_log = deploy.log(a_id)
    app_log = project_paths(settings, project_a.id).release_log(a_id).read_text()
    assert "build probe done" in build_log and "app probe done" in app_log
    assert "LEAK" not in build_log and "SEES" not in build_log, build_log
    assert "LEAK" not in app_log and "SEES" not in app_log, app_log
    assert _visible(build_log, "build") < 10 and _visible(app_log, "app") < 10
    # The probe is not blind: outside the sandbox the same checks find B and C.
    assert any(
        procfs.cmdline(int(p.name)) == ["sleep", SLEEPER]
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
    )
    assert (c_paths.release(c_id) / "dist" / "index.html").exists()
