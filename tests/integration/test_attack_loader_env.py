"""Attack: root via the dynamic loader. A tenant's `LD_PRELOAD` pointing at a library its
own build wrote used to reach `setpriv` while it was still root, so the library's constructor
ran as uid 0. Now privileges are dropped before exec (nothing privileged ever sees the
tenant's environment), and loader variables are refused at input and by the engine."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nanoscale.db.engine import session_scope
from nanoscale.deployments.releases import project_paths
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.users import (
    ensure_project_user,
    give_tree_to,
    lookup,
    remove_project_user,
)
from nanoscale.projects import secrets
from nanoscale.projects.models import Project
from tests.support.api import bearer, fast_password_hashing, project_body, setup_admin
from tests.support.caddy_releases import app_spec
from tests.support.deploy import DeployHarness
from tests.support.http_wait import wait_for_http

__all__ = ["fast_password_hashing"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="per-project users need root")

# The library records the effective uid of every process that loads it.
EVIL_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void record_euid(void) {
    const char *proof = getenv("PROOF");
    FILE *out = fopen(proof ? proof : "PROOF_PATH", "a");
    if (out) { fprintf(out, "%d\n", (int)geteuid()); fclose(out); }
}
"""


def compile_library(directory: Path, proof: Path) -> Path:
    source = directory / "evil.c"
    source.write_text(EVIL_C.replace("PROOF_PATH", str(proof)))
    library = directory / "evil.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", library, source], check=True)
    return library


@pytest.fixture
def project_user() -> Iterator[str]:
    name, project_id = f"ld-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    user = ensure_project_user(name, project_id)
    assert user is not None
    yield user
    remove_project_user(name, project_id)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nanoscale-ld-", dir="/var/tmp"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_root
def test_a_release_preloading_its_own_library_never_runs_it_as_root(
    project_user: str, open_dir: Path
) -> None:
    tree = open_dir / "release"
    tree.mkdir()
    proof = tree / "euids"
    library = compile_library(tree, proof)
    spec = app_spec(
        tree, run_as=project_user, env={"LD_PRELOAD": str(library), "PROOF": str(proof)}
    )
    # The app preloads the library itself too: it does load, as the project's user.
    spec = replace(
        spec, tree=tree, start_command=f"export LD_PRELOAD={library}; {spec.start_command}"
    )
    account = lookup(project_user)
    assert account is not None
    give_tree_to(tree, account)
    runtime = ProcessRuntime(open_dir / "state")
    try:
        runtime.start(spec)
        assert wait_for_http(spec.port, timeout=20)
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()

    recorded = proof.read_text().split()
    assert recorded, "the library never loaded: the test proves nothing"
    assert "0" not in recorded  # never as root
    assert set(recorded) == {str(pwd.getpwnam(project_user).pw_uid)}


@needs_root
def test_a_deployment_with_a_stored_loader_variable_fails_before_running_anything(
    deploy: DeployHarness,
) -> None:
    """Env vars saved before loader variables were refused at input: the engine refuses
    them too, for the build and the app alike."""
    repo, _ = deploy.repo("ld")
    project = deploy.project(repo, build_command="gcc -shared -fPIC -o $HOME/evil.so evil.c")
    home = project_paths(deploy.ctx.settings, project.id).home
    proof = home / "euids"
    repo.commit({"evil.c": EVIL_C.replace("PROOF_PATH", str(proof))})
    with session_scope(deploy.ctx.sessions) as session:
        row = session.get_one(Project, project.id)
        stored = {"LD_PRELOAD": str(home / "evil.so")}
        secrets.write_env_vars(row, stored, keyring=deploy.ctx.keyring)

    deployment_id = deploy.request(project, repo.head())
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "env_var_forbidden")
    assert "LD_PRELOAD" in (failed.error_message or "")
    assert not proof.exists() or "0" not in proof.read_text().split()


@pytest.mark.parametrize(
    "name",
    [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "GCONV_PATH",
        "MALLOC_CHECK_",
        "GLIBC_TUNABLES",
        "ld_preload",
    ],
)
def test_loader_variables_are_refused_with_a_422_and_change_nothing(
    client: TestClient, name: str
) -> None:
    admin = bearer(client, {"X-CSRF-Token": setup_admin(client)})
    refused = client.post(
        "/api/projects", json=project_body(env_vars={name: "/tmp/x.so"}), headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == f"env_vars.{name}"
    assert "loaded" in refused.json()["error"]["message"]

    created = client.post("/api/projects", json=project_body(env_vars={"A": "1"}), headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/projects/{created.json()['id']}"
    patched = client.patch(url, json={"env_vars": {name: "/tmp/x.so"}}, headers=admin)
    assert patched.status_code == 422, patched.text
    assert client.get(url, headers=admin).json()["env_var_keys"] == ["A"]
