"""Building the world: users, organizations, repositories, Apps and installations."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import events, gitstore
from .core import SimCore, random_token
from .state import Account, App, Hook, Installation, Repository

DEFAULT_APP_PERMISSIONS = {"contents": "read", "metadata": "read", "repository_hooks": "write"}
DEFAULT_APP_EVENTS = ["push", "repository"]


@functools.cache
def app_key_pair(index: int) -> tuple[bytes, bytes]:
    """RSA keys are slow to make; Apps of one world get distinct keys, worlds share a pool."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


class WorldBuilder(SimCore):
    def add_user(self, login: str, *, name: str | None = None) -> Account:
        with self.state.lock:
            user = Account(
                id=self.state.next_id(1_000),
                login=login,
                type="User",
                name=name or login.title(),
                email=f"{login}@users.noreply.github.localhost",
                created_at=self.state.clock.now(),
            )
            self.state.accounts[user.id] = user
        return user

    def add_org(
        self,
        login: str,
        *,
        admins: Iterable[Account] = (),
        members: Iterable[Account] = (),
        base_permission: str = "none",
    ) -> Account:
        with self.state.lock:
            org = Account(
                id=self.state.next_id(2_000),
                login=login,
                type="Organization",
                name=login.title(),
                email=None,
                created_at=self.state.clock.now(),
                base_permission=base_permission,
            )
            org.members.update({u.id: "member" for u in members})
            org.members.update({u.id: "admin" for u in admins})
            self.state.accounts[org.id] = org
        return org

    def add_repo(
        self,
        owner: Account,
        name: str,
        *,
        private: bool = True,
        files: dict[str, str | bytes | None] | None = None,
        default_branch: str = "main",
        description: str | None = None,
    ) -> Repository:
        """A repository with one initial commit (GitHub's "Initialize with a README")."""
        now = self.state.clock.now()
        with self.state.lock:
            repo_id = self.state.next_id(100_000)
            path = self.state.root / "repos" / f"{repo_id}.git"
            gitstore.init_bare(path, default_branch)
            repo = Repository(
                id=repo_id,
                owner=owner,
                name=name,
                private=private,
                description=description,
                default_branch=default_branch,
                path=path,
                created_at=now,
                updated_at=now,
                pushed_at=now,
            )
            self.state.repos[repo.id] = repo
        readme: dict[str, str | bytes | None] = {"README.md": f"# {name}\n"}
        content = files if files is not None else readme
        if content:
            author = gitstore.Person(owner.name, owner.email or "noreply@github.localhost")
            sha = gitstore.commit_files(
                path, parent=None, files=content, message="Initial commit", author=author, when=now
            )
            gitstore.update_ref(path, f"refs/heads/{default_branch}", sha)
        return repo

    def add_collaborator(self, repo: Repository, user: Account, permission: str = "write") -> None:
        repo.collaborators[user.id] = permission

    def add_hook(
        self,
        repo: Repository,
        url: str,
        *,
        secret: str = "",
        events: Iterable[str] = ("push",),
        content_type: str = "json",
        active: bool = True,
    ) -> Hook:
        """A repository webhook, as if created earlier (no ping is sent)."""
        now = self.state.clock.now()
        with self.state.lock:
            hook = Hook(
                id=self.state.next_id(500_000_000),
                repo_id=repo.id,
                url=url,
                secret=secret,
                content_type=content_type,
                insecure_ssl="0",
                events=list(events),
                active=active,
                created_at=now,
                updated_at=now,
            )
            repo.hooks[hook.id] = hook
        return hook

    def add_app(
        self,
        owner: Account,
        slug: str,
        *,
        webhook_url: str | None = None,
        callback_urls: Iterable[str] = (),
        setup_url: str | None = None,
        permissions: dict[str, str] | None = None,
        events: Iterable[str] = DEFAULT_APP_EVENTS,
    ) -> App:
        private_pem, public_pem = app_key_pair(len(self.state.apps))
        with self.state.lock:
            app = App(
                id=self.state.next_id(900_000),
                slug=slug,
                name=slug.replace("-", " ").title(),
                owner=owner,
                client_id=random_token("Iv23li", 14),
                client_secret=secrets.token_hex(20),
                webhook_secret=secrets.token_hex(16),
                webhook_url=webhook_url,
                private_key_pem=private_pem,
                public_key_pem=public_pem,
                permissions=dict(permissions or DEFAULT_APP_PERMISSIONS),
                events=list(events),
                callback_urls=list(callback_urls),
                setup_url=setup_url,
                created_at=self.state.clock.now(),
                hook_id=self.state.next_id(400_000_000),
            )
            self.state.apps[app.id] = app
        return app

    def install(
        self,
        app: App,
        account: Account,
        *,
        repos: Iterable[Repository] | None = None,
        sender: Account | None = None,
    ) -> Installation:
        """Install (or reconfigure) the App on an account; repos=None means "All repositories"."""
        selection: Literal["all", "selected"] = "all" if repos is None else "selected"
        chosen = {r.id for r in repos or ()}
        sender = sender or account
        existing = next(
            (i for i in self.state.live_installations() if i.app is app and i.account is account),
            None,
        )
        if existing is not None:
            return self._reconfigure(existing, selection, chosen, sender)
        now = self.state.clock.now()
        with self.state.lock:
            inst = Installation(
                id=self.state.next_id(50_000_000),
                app=app,
                account=account,
                repository_selection=selection,
                repo_ids=chosen,
                permissions=dict(app.permissions),
                events=list(app.events),
                created_at=now,
                updated_at=now,
            )
            self.state.installations[inst.id] = inst
        self.emit_to_app(
            inst, "installation", events.installation_payload(self.state, inst, "created", sender)
        )
        return inst

    def _reconfigure(
        self,
        inst: Installation,
        selection: Literal["all", "selected"],
        chosen: set[int],
        sender: Account,
    ) -> Installation:
        before = {r.id: r for r in self.state.installation_repos(inst)}
        with self.state.lock:
            inst.repository_selection, inst.repo_ids = selection, chosen
            inst.updated_at = self.state.clock.now()
        after = {r.id: r for r in self.state.installation_repos(inst)}
        added = [r for rid, r in after.items() if rid not in before]
        removed = [r for rid, r in before.items() if rid not in after]
        for batch_added, batch_removed in ((added, []), ([], removed)):
            if batch_added or batch_removed:
                payload = events.installation_repositories_payload(
                    self.state, inst, added=batch_added, removed=batch_removed, sender=sender
                )
                self.emit_to_app(inst, "installation_repositories", payload)
        return inst

    def set_installation_repos(
        self,
        inst: Installation,
        repos: Iterable[Repository] | None,
        *,
        sender: Account | None = None,
    ) -> Installation:
        selection: Literal["all", "selected"] = "all" if repos is None else "selected"
        return self._reconfigure(
            inst, selection, {r.id for r in repos or ()}, sender or inst.account
        )
