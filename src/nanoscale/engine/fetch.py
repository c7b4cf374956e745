"""Fetch exactly one commit into a per-project object store and check it out for a release.

The store is a bare repository reused across deployments, so a redeploy's shallow fetch
negotiates with what the store already holds and transfers only what changed. The checkout
is a plain directory (no `.git`), written with a throwaway index. Submodules are fetched the
same way, with the same credential provider, from their own stores.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from nanoscale.engine.credentials import CredentialProvider
from nanoscale.engine.git import SHA_RE, git_env, run_git, secrets_of
from nanoscale.errors import InvalidInput, UserCodeError

MAX_SUBMODULE_DEPTH = 3
KEEP_REFS = 20  # commits kept reachable in a store (rollbacks refetch older ones if needed)
MAX_SUBJECT = 200
MAX_AUTHOR = 255


@dataclass(frozen=True)
class CommitInfo:
    """What the fetched commit says about itself (from git, never from a request)."""

    subject: str  # the message's first line, truncated
    author: str


@dataclass(frozen=True)
class FetchContext:
    credentials: CredentialProvider
    modules_dir: Path  # stores for submodules, one per URL
    url_allowed: Callable[[str], bool]
    timeout: float = 600
    log: Callable[[str], None] = lambda _text: None
    cancel: threading.Event | None = None  # set: the running transfer is killed (Cancelled)


def resolve_ref(*, url: str, ref: str, credentials: CredentialProvider, timeout: float = 60) -> str:
    """The SHA a branch (or full ref) points at on the remote, via `git ls-remote`."""
    full = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    with tempfile.TemporaryDirectory(prefix="nanoscale-git-") as home:
        env = git_env(home=Path(home), url=url, credentials=credentials)
        out = run_git(
            ["ls-remote", "--", url, full],
            env=env,
            timeout=timeout,
            secrets=secrets_of(credentials, url),
        )
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == full:
            return sha
    raise UserCodeError(f"branch {ref!r} does not exist in the repository", code="ref_not_found")


def fetch_commit(*, store: Path, url: str, sha: str, dest: Path, ctx: FetchContext) -> CommitInfo:
    """Fetch and check out `sha`; returns its subject line and author name."""
    _fetch_into(store=store, url=url, sha=sha, dest=dest, ctx=ctx, depth=0)
    return commit_info(store, sha)


def commit_info(store: Path, sha: str) -> CommitInfo:
    with tempfile.TemporaryDirectory(prefix="nanoscale-git-") as home:
        out = run_git(
            ["--git-dir", str(store), "show", "-s", "--format=%an%x00%B", sha, "--"],
            env=git_env(home=Path(home)),
        )
    author, _, message = out.partition("\0")
    lines = message.strip().splitlines()
    subject = _printable(lines[0] if lines else "")
    return CommitInfo(subject=subject[:MAX_SUBJECT], author=_printable(author)[:MAX_AUTHOR])


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text).strip()


def _fetch_into(
    *, store: Path, url: str, sha: str, dest: Path, ctx: FetchContext, depth: int
) -> None:
    if not SHA_RE.match(sha):
        raise InvalidInput(f"{sha!r} is not a full commit SHA", code="invalid_sha")
    if not ctx.url_allowed(url):
        raise UserCodeError(f"fetching from {url} is not allowed", code="git_url_not_allowed")
    with tempfile.TemporaryDirectory(prefix="nanoscale-git-") as home:
        env = git_env(home=Path(home), url=url, credentials=ctx.credentials)
        secrets = secrets_of(ctx.credentials, url)
        if not (store / "HEAD").exists():
            store.mkdir(parents=True, exist_ok=True)
            run_git(["init", "-q", "--bare", str(store)], env=env)
        ctx.log(f"fetching {sha} from {url}\n")
        run_git(
            [
                "--git-dir",
                str(store),
                "fetch",
                "-q",
                "--depth=1",
                "--no-tags",
                "--",
                url,
                f"+{sha}:refs/nanoscale/{sha}",
            ],
            env=env,
            timeout=ctx.timeout,
            secrets=secrets,
            cancel=ctx.cancel,
        )
        _checkout(store, sha, dest, env, Path(home))
        _prune_refs(store, env)
        if depth < MAX_SUBMODULE_DEPTH:
            for path, sub_url, sub_sha in _submodules(store, sha, url, env):
                ctx.log(f"submodule {path}: {sub_sha}\n")
                _fetch_into(
                    store=ctx.modules_dir
                    / f"{hashlib.sha256(sub_url.encode()).hexdigest()[:16]}.git",
                    url=sub_url,
                    sha=sub_sha,
                    dest=dest / path,
                    ctx=ctx,
                    depth=depth + 1,
                )


def _checkout(store: Path, sha: str, dest: Path, env: dict[str, str], home: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run_git(
        ["--git-dir", str(store), "--work-tree", str(dest), "read-tree", "--reset", "-u", sha],
        env=env,
        extra_env={"GIT_INDEX_FILE": str(home / "index")},
    )


def _prune_refs(store: Path, env: dict[str, str]) -> None:
    """Drop all but the newest KEEP_REFS deployed commits so git's auto-gc can reclaim them."""
    refs = run_git(
        [
            "--git-dir",
            str(store),
            "for-each-ref",
            "--sort=-committerdate",
            "--format=%(refname)",
            "refs/nanoscale/",
        ],
        env=env,
    ).split()
    for ref in refs[KEEP_REFS:]:
        run_git(["--git-dir", str(store), "update-ref", "-d", ref], env=env)


def _submodules(
    store: Path, sha: str, parent_url: str, env: dict[str, str]
) -> list[tuple[str, str, str]]:
    tree = run_git(["--git-dir", str(store), "ls-tree", "-r", "-z", sha], env=env)
    links = {}
    for entry in tree.split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[0] == "160000":
            links[path] = fields[2]
    if not links:
        return []
    urls = _gitmodules_urls(store, sha, env)
    result = []
    for path, sub_sha in sorted(links.items()):
        raw = urls.get(path)
        if raw is None:
            raise UserCodeError(
                f"submodule {path} has no URL in .gitmodules", code="submodule_invalid"
            )
        sub_url = urljoin(parent_url.rstrip("/") + "/", raw) if raw.startswith(".") else raw
        result.append((path, sub_url, sub_sha))
    return result


def _gitmodules_urls(store: Path, sha: str, env: dict[str, str]) -> dict[str, str]:
    out = run_git(
        [
            "--git-dir",
            str(store),
            "config",
            "--blob",
            f"{sha}:.gitmodules",
            "-z",
            "--get-regexp",
            r"^submodule\..*\.(path|url)$",
        ],
        env=env,
    )
    paths: dict[str, str] = {}
    urls: dict[str, str] = {}
    for item in filter(None, out.split("\0")):
        key, _, value = item.partition("\n")
        name, kind = key.removeprefix("submodule.").rsplit(".", 1)
        (paths if kind == "path" else urls)[name] = value
    return {paths[name]: urls[name] for name in paths if name in urls}
