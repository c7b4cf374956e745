"""Publishing a static site's output: a copy with the platform's modes, links kept inside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nanoscale.engine.static_publish import publish_static
from nanoscale.errors import UserCodeError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_copy_is_private_to_owner_and_group_and_keeps_inside_links(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    (out / "assets").mkdir(parents=True)
    (out / "index.html").write_text("<h1>hi</h1>")
    (out / "assets" / "app.js").write_text("js")
    (out / "latest.js").symlink_to(out / "assets" / "app.js")  # absolute, inside
    (out / "assets" / "home.html").symlink_to("../index.html")
    os.mkfifo(out / "pipe")
    dest = tmp_path / "published" / "p1" / "d1"

    publish_static(out, dest, group=os.getgid())

    assert (dest / "latest.js").read_text() == "js"
    assert os.readlink(dest / "latest.js") == "assets/app.js"
    assert (dest / "assets" / "home.html").read_text() == "<h1>hi</h1>"
    assert not (dest / "pipe").exists()
    assert mode(dest) == mode(dest / "assets") == 0o750
    assert mode(dest / "index.html") == 0o640
    assert mode(dest.parent) == mode(dest.parent.parent) == 0o711
    (out / "index.html").write_text("changed later")
    assert (dest / "index.html").read_text() == "<h1>hi</h1>"  # a copy, not the tenant's file


def test_a_link_chain_that_would_leave_the_copy_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    (out / "a" / "b").mkdir(parents=True)
    (out / "a" / "b" / "deep").mkdir()
    (out / "a" / "b" / "up").symlink_to("deep/../../../..")  # resolves to tmp_path
    with pytest.raises(UserCodeError) as error:
        publish_static(out, tmp_path / "published" / "p" / "d", group=None)
    assert error.value.code == "static_symlink_outside"
