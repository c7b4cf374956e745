"""The push control API: commits, force-pushes, branches and tags, each announced as `push`."""

from __future__ import annotations

from typing import Any

from . import events, gitstore
from .core import SimCore
from .gitstore import ZERO_SHA
from .state import Account, Installation, Repository


class SimError(Exception):
    """A control-API request GitHub itself would refuse (e.g. pushing to an archived repo)."""


class Pushes(SimCore):
    def commit(
        self,
        repo: Repository,
        branch: str,
        files: dict[str, str | bytes | None],
        *,
        message: str = "Update files",
        author: Account | None = None,
    ) -> str:
        """Commit on top of the branch (a missing branch starts from the default branch)."""
        ref = f"refs/heads/{branch}"
        before = gitstore.resolve(repo.path, ref)
        parent = before or gitstore.resolve(repo.path, f"refs/heads/{repo.default_branch}")
        return self._push_new_commit(repo, ref, before, parent, files, message, author)

    def force_push(
        self,
        repo: Repository,
        branch: str,
        *,
        to: str | None = None,
        files: dict[str, str | bytes | None] | None = None,
        message: str = "Rewrite history",
        author: Account | None = None,
    ) -> str:
        """Move the branch to `to`, or to a new commit on the tip's parent (rewriting the tip)."""
        ref = f"refs/heads/{branch}"
        before = gitstore.resolve(repo.path, ref)
        if before is None:
            raise SimError(f"branch {branch} does not exist")
        if to is not None:
            return self._apply_push(repo, ref, before, to, author)
        parents = gitstore.commit_info(repo.path, before).parents
        return self._push_new_commit(
            repo, ref, before, parents[0] if parents else None, files or {}, message, author
        )

    def create_branch(
        self,
        repo: Repository,
        name: str,
        *,
        from_ref: str | None = None,
        pusher: Account | None = None,
    ) -> str:
        sha = gitstore.resolve(repo.path, from_ref or repo.default_branch)
        if sha is None:
            raise SimError(f"unknown ref {from_ref}")
        return self._apply_push(repo, f"refs/heads/{name}", None, sha, pusher)

    def delete_branch(self, repo: Repository, name: str, *, pusher: Account | None = None) -> None:
        before = gitstore.resolve(repo.path, f"refs/heads/{name}")
        if before is None:
            raise SimError(f"branch {name} does not exist")
        self._apply_push(repo, f"refs/heads/{name}", before, ZERO_SHA, pusher)

    def create_tag(
        self, repo: Repository, name: str, *, ref: str | None = None, pusher: Account | None = None
    ) -> str:
        sha = gitstore.resolve(repo.path, ref or repo.default_branch)
        if sha is None:
            raise SimError(f"unknown ref {ref}")
        return self._apply_push(repo, f"refs/tags/{name}", None, sha, pusher)

    def delete_tag(self, repo: Repository, name: str, *, pusher: Account | None = None) -> None:
        before = gitstore.resolve(repo.path, f"refs/tags/{name}")
        if before is None:
            raise SimError(f"tag {name} does not exist")
        self._apply_push(repo, f"refs/tags/{name}", before, ZERO_SHA, pusher)

    def _push_new_commit(
        self,
        repo: Repository,
        ref: str,
        before: str | None,
        parent: str | None,
        files: dict[str, str | bytes | None],
        message: str,
        author: Account | None,
    ) -> str:
        pusher = author or self._default_pusher(repo)
        person = gitstore.Person(pusher.name, pusher.email or "noreply@github.localhost")
        self._refuse_if_archived(repo)
        sha = gitstore.commit_files(
            repo.path,
            parent=parent,
            files=files,
            message=message,
            author=person,
            when=self.state.clock.now(),
        )
        return self._apply_push(repo, ref, before, sha, pusher)

    def _apply_push(
        self, repo: Repository, ref: str, before: str | None, after: str, pusher: Account | None
    ) -> str:
        self._refuse_if_archived(repo)
        before = before or ZERO_SHA
        with self.state.lock:
            others = [
                sha
                for name, sha in gitstore.refs(repo.path, "refs/heads/")
                if f"refs/heads/{name}" != ref
            ]
            gitstore.update_ref(repo.path, ref, None if after == ZERO_SHA else after)
            repo.pushed_at = self.state.clock.now()
        self.announce_push(repo, ref, before, after, pusher, others=others)
        return after

    def announce_push(
        self,
        repo: Repository,
        ref: str,
        before: str,
        after: str,
        pusher: Account | None,
        *,
        others: list[str],
    ) -> None:
        """The `push` event for a ref already moved from `before` to `after` (ZERO_SHA for a
        created or deleted ref); `others` are the other branch heads, which a new branch's
        commit list leaves out."""
        by = pusher or self._default_pusher(repo)
        forced = (
            before != ZERO_SHA
            and after != ZERO_SHA
            and not gitstore.is_ancestor(repo.path, before, after)
        )
        commits: list[str] = []
        if after != ZERO_SHA and ref.startswith("refs/heads/"):
            exclude = [before] if before != ZERO_SHA else others
            commits = gitstore.new_commits(repo.path, after, exclude)

        def build(inst: Installation | None) -> dict[str, Any]:
            return events.push_payload(
                self.state,
                repo,
                ref=ref,
                before=before,
                after=after,
                forced=forced,
                commits=commits,
                pusher=by,
                installation=inst,
            )

        self.emit_repo_event(repo, "push", build)

    def _default_pusher(self, repo: Repository) -> Account:
        if repo.owner.type == "User":
            return repo.owner
        admins = [uid for uid, role in repo.owner.members.items() if role == "admin"]
        return self.state.accounts[admins[0]] if admins else repo.owner

    @staticmethod
    def _refuse_if_archived(repo: Repository) -> None:
        if repo.archived:
            raise SimError(f"{repo.full_name} is archived; pushes are refused")
