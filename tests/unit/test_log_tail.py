"""Reading a release's growing output file: the last lines, then what is appended."""

from __future__ import annotations

from pathlib import Path

import pytest

from nanoscale.deployments.logs import file_tail
from nanoscale.deployments.logs.file_tail import FileFollower, tail_lines


def test_tail_returns_the_last_lines_and_where_to_follow_from(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("".join(f"line {i}\n" for i in range(5000)))

    text, offset = tail_lines(path, 3)

    assert text == "line 4997\nline 4998\nline 4999\n"
    assert offset == path.stat().st_size


def test_tail_of_a_short_missing_or_unterminated_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    assert tail_lines(path, 10) == ("", 0)
    path.write_text("one\ntwo")
    assert tail_lines(path, 10)[0] == "one\ntwo"
    assert tail_lines(path, 1)[0] == "two"


def test_tail_reads_a_bounded_amount_of_a_huge_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_tail, "MAX_TAIL_BYTES", 1000)
    path = tmp_path / "app.log"
    path.write_text("x" * 50_000 + "\nlast\n")

    text, _ = tail_lines(path, 5)

    assert text == "last\n"  # the cut-off start of the long line is dropped


def test_follower_yields_appended_text_and_restarts_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"old\n")
    follower = FileFollower(path, path.stat().st_size)
    assert follower.read_new() == ""

    with path.open("ab") as out:
        out.write("caf\u00e9\n".encode()[:4])  # a character split across two writes
        out.flush()
        assert follower.read_new() == "caf"
        out.write("caf\u00e9\n".encode()[4:])
    assert follower.read_new() == "\u00e9\n"

    path.write_bytes(b"new file\n")  # truncated and rewritten (e.g. rotated)
    assert follower.read_new() == "new file\n"
