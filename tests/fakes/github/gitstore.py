"""Real bare repositories, written with git plumbing (no working tree, no network)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author: Person
    author_date: datetime
    committer: Person
    committer_date: datetime
    message: str


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> str:
    out = subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        input=stdin,
        capture_output=True,
        env=_env(env),
        check=True,
        timeout=60,
    )
    return out.stdout.decode()


def init_bare(path: Path, default_branch: str) -> None:
    """What `git init --bare` writes, minus hook samples; no subprocess, so worlds with
    hundreds of repositories build quickly."""
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    (path / "HEAD").write_text(f"ref: refs/heads/{default_branch}\n")
    (path / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
    )
    (path / "description").write_text("simulated repository\n")
    # http-backend only serves repositories that opt in (or with GIT_HTTP_EXPORT_ALL).
    (path / "git-daemon-export-ok").touch()


def resolve(repo: Path, ref: str) -> str | None:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except subprocess.CalledProcessError:
        return None


def refs(repo: Path, prefix: str) -> list[tuple[str, str]]:
    """(short name, sha) for each ref under prefix, e.g. "refs/heads/"."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    pairs = (line.split(" ", 1) for line in out.splitlines() if line)
    return sorted((name.removeprefix(prefix), sha) for name, sha in pairs)


def commit_files(
    repo: Path,
    *,
    parent: str | None,
    files: dict[str, str | bytes | None],
    message: str,
    author: Person,
    when: datetime,
) -> str:
    """Write a commit on top of parent (None: a root commit); a None value deletes the file."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            git(repo, "read-tree", parent, env=env)
        for path, content in files.items():
            if content is None:
                # mode 0 removes the entry; --force-remove would need a work tree
                git(
                    repo,
                    "update-index",
                    "--index-info",
                    env=env,
                    stdin=f"0 {ZERO_SHA}\t{path}\n".encode(),
                )
                continue
            data = content.encode() if isinstance(content, str) else content
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=data).strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git(repo, "write-tree", env=env).strip()
    stamp = f"{int(when.timestamp())} +0000"
    identity = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.com",
        "GIT_COMMITTER_DATE": stamp,
    }
    parents = ["-p", parent] if parent else []
    return git(repo, "commit-tree", tree, *parents, env=identity, stdin=message.encode()).strip()


def update_ref(repo: Path, ref: str, new: str | None) -> None:
    if new is None:
        git(repo, "update-ref", "-d", ref)
    else:
        git(repo, "update-ref", ref, new)


def commit_info(repo: Path, sha: str) -> CommitInfo:
    fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B"
    fields = git(repo, "show", "-s", f"--format={fmt}", sha).split("\x00")

    def at(stamp: str) -> datetime:
        return datetime.fromtimestamp(int(stamp), UTC)

    return CommitInfo(
        sha=fields[0],
        tree=fields[1],
        parents=fields[2].split(),
        author=Person(fields[3], fields[4]),
        author_date=at(fields[5]),
        committer=Person(fields[6], fields[7]),
        committer_date=at(fields[8]),
        message=fields[9].rstrip("\n"),
    )


def changed_files(repo: Path, sha: str) -> dict[str, list[str]]:
    """added/modified/removed paths of one commit (against its first parent)."""
    out = git(repo, "diff-tree", "--root", "--no-commit-id", "--name-status", "-r", sha)
    kinds = {"A": "added", "M": "modified", "D": "removed"}
    changes: dict[str, list[str]] = {"added": [], "modified": [], "removed": []}
    for line in out.splitlines():
        status, _, path = line.partition("\t")
        changes[kinds.get(status[:1], "modified")].append(path)
    return changes


def new_commits(repo: Path, after: str, exclude: list[str]) -> list[str]:
    """Commits reachable from after but not from any of exclude, oldest first."""
    args = [after, *(f"^{sha}" for sha in exclude if sha != ZERO_SHA)]
    return git(repo, "rev-list", "--reverse", *args).split()


def is_ancestor(repo: Path, old: str, new: str) -> bool:
    try:
        git(repo, "merge-base", "--is-ancestor", old, new)
    except subprocess.CalledProcessError:
        return False
    return True
