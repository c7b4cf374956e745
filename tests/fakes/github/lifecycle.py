"""Installation and repository lifecycle changes, each emitting GitHub's matching webhook."""

from __future__ import annotations

from typing import Any

from . import events
from .payloads import account_json
from .state import Account, App, Installation, Repository
from .world import WorldBuilder


class Lifecycle(WorldBuilder):
    def suspend(self, inst: Installation, *, by: Account | None = None) -> None:
        with self.state.lock:
            inst.suspended_at = self.state.clock.now()
            inst.suspended_by = by or inst.account
        self._installation_event(inst, "suspend", by)

    def unsuspend(self, inst: Installation, *, by: Account | None = None) -> None:
        with self.state.lock:
            inst.suspended_at, inst.suspended_by = None, None
        self._installation_event(inst, "unsuspend", by)

    def uninstall(self, inst: Installation, *, by: Account | None = None) -> None:
        self._installation_event(inst, "deleted", by)
        with self.state.lock:
            inst.deleted = True
            for token in self.state.installation_tokens.values():
                if token.installation is inst:
                    token.revoked = True

    def request_permissions(
        self, app: App, permissions: dict[str, str], events: list[str] | None = None
    ) -> None:
        """The App's owner asks for more: installations keep what they have until accepted."""
        with self.state.lock:
            app.permissions = dict(permissions)
            app.events = list(events if events is not None else app.events)

    def accept_permissions(self, inst: Installation, *, by: Account | None = None) -> None:
        """The account accepts the App's new permissions: `installation.new_permissions_accepted`
        (https://docs.github.com/en/webhooks/webhook-events-and-payloads#installation)."""
        with self.state.lock:
            inst.permissions = dict(inst.app.permissions)
            inst.events = list(inst.app.events)
            inst.updated_at = self.state.clock.now()
        self._installation_event(inst, "new_permissions_accepted", by)

    def _installation_event(self, inst: Installation, action: str, by: Account | None) -> None:
        payload = events.installation_payload(self.state, inst, action, by or inst.account)
        self.emit_to_app(inst, "installation", payload)

    def rename_repo(self, repo: Repository, new_name: str, *, by: Account | None = None) -> None:
        old = repo.name
        with self.state.lock:
            repo.former_names.append(repo.full_name)
            repo.name = new_name
            repo.updated_at = self.state.clock.now()
        changes = {"repository": {"name": {"from": old}}}
        self._repository_event(repo, "renamed", by, changes=changes)

    def transfer_repo(
        self, repo: Repository, new_owner: Account, *, by: Account | None = None
    ) -> None:
        before = self.state.installations_for_repo(repo)
        old_owner = repo.owner
        with self.state.lock:
            repo.former_names.append(repo.full_name)
            repo.owner = new_owner
            repo.updated_at = self.state.clock.now()
            for inst in before:
                inst.repo_ids.discard(repo.id)
        after = self.state.installations_for_repo(repo)
        kind = "organization" if old_owner.type == "Organization" else "user"
        from_owner = {kind: self._owner_json(old_owner)}
        changes = {"owner": {"from": from_owner}}
        # The event belongs to the repository's new home: the new owner's installations
        # (https://docs.github.com/en/webhooks/webhook-events-and-payloads#repository).
        self._repository_event(repo, "transferred", by, changes=changes, installations=after)

    def _owner_json(self, account: Account) -> dict[str, Any]:
        if account.type == "Organization":
            org: dict[str, Any] = events.org_fields(self.state, account)["organization"]
            return org
        return account_json(self.state, account)

    def create_repo(
        self, owner: Account, name: str, *, private: bool = True, by: Account | None = None
    ) -> Repository:
        """A user creates a repository: installations with "All repositories" on the owner
        gain it and get `repository.created` (`add_repo` is silent world building).
        https://docs.github.com/en/webhooks/webhook-events-and-payloads#repository"""
        repo = self.add_repo(owner, name, private=private)
        self._repository_event(repo, "created", by)
        return repo

    def archive_repo(self, repo: Repository, *, by: Account | None = None) -> None:
        repo.archived = True
        self._repository_event(repo, "archived", by)

    def unarchive_repo(self, repo: Repository, *, by: Account | None = None) -> None:
        repo.archived = False
        self._repository_event(repo, "unarchived", by)

    def set_visibility(self, repo: Repository, *, private: bool, by: Account | None = None) -> None:
        repo.private = private
        self._repository_event(repo, "privatized" if private else "publicized", by)

    def delete_repo(self, repo: Repository, *, by: Account | None = None) -> None:
        self._repository_event(repo, "deleted", by)
        with self.state.lock:
            repo.deleted = True
            for inst in self.state.installations.values():
                inst.repo_ids.discard(repo.id)

    def _repository_event(
        self,
        repo: Repository,
        action: str,
        by: Account | None,
        *,
        changes: dict[str, Any] | None = None,
        installations: list[Installation] | None = None,
    ) -> None:
        sender = by or (repo.owner if repo.owner.type == "User" else self._first_admin(repo))

        def build(inst: Installation | None) -> dict[str, Any]:
            return events.repository_payload(
                self.state, repo, action, sender=sender, installation=inst, changes=changes
            )

        self.emit_repo_event(repo, "repository", build, installations=installations)

    def _first_admin(self, repo: Repository) -> Account:
        admins = [uid for uid, role in repo.owner.members.items() if role == "admin"]
        return self.state.accounts[admins[0]] if admins else repo.owner
