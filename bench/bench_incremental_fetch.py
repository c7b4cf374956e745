"""Incremental redeploy fetch: bytes and time to fetch a one-file change into the project's
existing object store, against a fresh shallow fetch of the same commit (what a "clone per
deploy" platform does), in the same run, over git smart HTTP on loopback.

The repository has a long history (HISTORY commits over FILES files of incompressible text)
so a full clone would be far larger than either.

    .venv/bin/python bench/bench_incremental_fetch.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nanoscale.engine.credentials import NoCredentials
from nanoscale.engine.fetch import FetchContext, fetch_commit
from tests.support.git_server import GIT_ENV, GitServer, Repo

HISTORY = 1500
FILES = 300
FILE_BYTES = 4000


def _fast_history(repo: Repo) -> str:
    """HISTORY commits, each rewriting a few files, via `git fast-import` (seconds, not minutes)."""
    lines: list[bytes] = []
    rng = os.urandom
    for i in range(HISTORY):
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer T <t@example.invalid> {1_700_000_000 + i} +0000\n".encode())
        msg = f"change {i}".encode()
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        # Later commits on the same branch chain onto the previous one automatically.
        touched = range(FILES) if i == 0 else [(i * 7 + k) % FILES for k in range(3)]
        for f in touched:
            body = rng(FILE_BYTES // 2).hex().encode()
            lines.append(f"M 100644 inline src/file{f:04d}.txt\n".encode())
            lines.append(b"data %d\n%s\n" % (len(body), body))
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.work)}
    subprocess.run(
        ["git", "fast-import", "--quiet"], input=b"".join(lines), cwd=repo.work, env=env, check=True
    )
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo.work, env=env, check=True)
    return repo.head()


def _fetch(git: GitServer, repo: Repo, store: Path, sha: str, dest: Path) -> tuple[int, float]:
    before = git.bytes_sent[repo.name]
    ctx = FetchContext(
        credentials=NoCredentials(),
        modules_dir=store.parent / "modules",
        url_allowed=lambda _url: True,
    )
    started = time.perf_counter()
    fetch_commit(store=store, url=repo.url, sha=sha, dest=dest, ctx=ctx)
    return git.bytes_sent[repo.name] - before, time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nanoscale-bench-") as tmp:
        root = Path(tmp)
        with GitServer(root / "git") as git:
            repo = git.create_repo("history")
            first = _fast_history(repo)
            store = root / "project" / "store.git"
            base_bytes, base_time = _fetch(git, repo, store, first, root / "rel1")
            change = repo.commit({"src/file0001.txt": "one changed file\n"}, "one-file change")
            inc_bytes, inc_time = _fetch(git, repo, store, change, root / "rel2")
            fresh_bytes, fresh_time = _fetch(
                git, repo, root / "fresh" / "store.git", change, root / "rel3"
            )
            before = git.bytes_sent[repo.name]
            subprocess.run(
                ["git", "clone", "-q", "--bare", repo.url, str(root / "full.git")],
                check=True,
                env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
            )
            full_bytes = git.bytes_sent[repo.name] - before
    print(f"repository: {HISTORY} commits, {FILES} files of {FILE_BYTES} bytes")
    rows = (
        ("first deploy (empty store, shallow)", base_bytes, base_time),
        ("redeploy, one-file change (reused)", inc_bytes, inc_time),
        ("same commit, fresh shallow fetch", fresh_bytes, fresh_time),
    )
    for label, size, seconds in rows:
        print(f"  {label:<38} {size / 1024:9.1f} KiB  {seconds * 1000:7.1f} ms")
    print(f"  {'full clone, for scale':<38} {full_bytes / 1024:9.1f} KiB")
    ratio_bytes, ratio_time = inc_bytes / fresh_bytes, inc_time / fresh_time
    print(f"  incremental / fresh: bytes {ratio_bytes:.4f}, time {ratio_time:.2f}")


if __name__ == "__main__":
    main()
