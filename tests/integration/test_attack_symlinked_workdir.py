"""Attack: root via a symlinked working directory. An app that replaced its working
directory with a link to a root-owned directory and then crashed used to have that
directory chowned to it by the restart (a recursive chown that followed the link). Now no
launch changes ownership, ownership is given once with no-follow semantics, and every
launch re-checks that the working directory is still a plain directory in its tree."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.users import (
    ensure_project_user,
    give_tree_to,
    lookup,
    remove_project_user,
)
from nanoscale.errors import PlatformError
from tests.support.caddy_releases import app_spec

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="per-project users need root")


@pytest.fixture
def project_user() -> Iterator[str]:
    name, project_id = f"ln-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    user = ensure_project_user(name, project_id)
    assert user is not None
    yield user
    remove_project_user(name, project_id)


@pytest.fixture
def area() -> Iterator[Path]:
    """A root-owned victim directory (standing in for /etc) beside a release tree."""
    path = Path(tempfile.mkdtemp(prefix="nanoscale-ln-", dir="/var/tmp"))
    path.chmod(0o711)
    victim = path / "victim"
    victim.mkdir()
    (victim / "passwd").write_text("root:x:0:0\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _owners(directory: Path) -> set[int]:
    return {directory.stat().st_uid} | {p.lstat().st_uid for p in directory.rglob("*")}


def test_a_restart_after_the_app_swapped_its_workdir_for_a_link_chowns_nothing(
    project_user: str, area: Path
) -> None:
    tree = area / "release"
    tree.mkdir()
    spec = app_spec(tree, run_as=project_user)  # workdir: <tree>/app-<id>, inside the tree
    victim = area / "victim"
    # The app moves its own working directory away, links the victim in its place, crashes.
    attack = f"cd .. && mv {spec.workdir.name} gone && ln -s {victim} {spec.workdir.name} && exit 3"
    spec = replace(spec, tree=tree, start_command=attack)
    account = lookup(project_user)
    assert account is not None
    give_tree_to(tree, account)
    runtime = ProcessRuntime(area / "state", backoff_initial=0.1)
    try:
        runtime.start(spec)
        deadline = time.monotonic() + 20
        while "restart failed" not in _text(spec.log_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()

    assert spec.workdir.is_symlink(), "the attack did not run: the test proves nothing"
    assert _owners(victim) == {0}
    assert "release directory changed since it was deployed" in _text(spec.log_path)


def test_ownership_is_never_given_through_a_link(project_user: str, area: Path) -> None:
    account = lookup(project_user)
    assert account is not None
    tree = area / "tree"
    tree.mkdir()
    (tree / "etc").symlink_to(area / "victim")
    (tree / "file").symlink_to(area / "victim" / "passwd")
    give_tree_to(tree, account)
    assert tree.stat().st_uid == account.uid
    assert _owners(area / "victim") == {0}

    linked = area / "linked-release"
    linked.symlink_to(area / "victim")
    with pytest.raises(PlatformError) as refused:
        give_tree_to(linked, account)
    assert refused.value.code == "release_dir_unsafe"
    assert _owners(area / "victim") == {0}


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""
