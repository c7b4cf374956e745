"""Shared machinery of the simulator facade: token minting and event fan-out."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt

from .delivery import Deliverer, new_guid
from .state import Account, App, Delivery, Installation, Repository, SimState
from .tokens import InstallationToken, RefreshToken, UserToken

USER_TOKEN_TTL = timedelta(hours=8)
REFRESH_TOKEN_TTL = timedelta(days=184)
INSTALLATION_TOKEN_TTL = timedelta(hours=1)
# GitHub sends these to an App whether or not it subscribed to them.
ALWAYS_DELIVERED = frozenset({"installation", "installation_repositories"})
PayloadBuilder = Callable[[Installation | None], dict[str, Any]]


def random_token(prefix: str, length: int = 36) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class SimCore:
    state: SimState
    deliverer: Deliverer

    # -- credentials -------------------------------------------------------------------------

    def mint_installation_token(
        self,
        inst: Installation,
        *,
        repo_ids: set[int] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> InstallationToken:
        with self.state.lock:
            token = InstallationToken(
                token=random_token("ghs_"),
                installation=inst,
                expires_at=self.state.clock.now() + INSTALLATION_TOKEN_TTL,
                repo_ids=repo_ids,
                permissions=dict(permissions or inst.permissions),
            )
            self.state.installation_tokens[token.token] = token
        return token

    def mint_user_token(self, app: App, user: Account) -> tuple[UserToken, RefreshToken]:
        now = self.state.clock.now()
        with self.state.lock:
            access = UserToken(random_token("ghu_"), user, app, now + USER_TOKEN_TTL)
            refresh = RefreshToken(
                random_token("ghr_", 76), user, app, now + REFRESH_TOKEN_TTL, access.token
            )
            self.state.user_tokens[access.token] = access
            self.state.refresh_tokens[refresh.token] = refresh
        return access, refresh

    def app_jwt(
        self,
        app: App,
        *,
        iat_offset: int = -60,
        lifetime: int = 600,
        iss: str | int | None = None,
        key: bytes | None = None,
    ) -> str:
        """An App JWT as a well-behaved client would mint it (iat backdated for skew)."""
        now = int(self.state.clock.now().timestamp())
        claims = {
            "iat": now + iat_offset,
            "exp": now + iat_offset + lifetime,
            "iss": iss or str(app.id),
        }
        return jwt.encode(claims, key or app.private_key_pem, algorithm="RS256")

    def revoke_user_tokens(self, app: App, user: Account) -> None:
        """Every access and refresh token of this user for this App stops working."""
        with self.state.lock:
            for access in self.state.user_tokens.values():
                if access.app is app and access.user is user:
                    access.revoked = True
            for refresh in self.state.refresh_tokens.values():
                if refresh.app is app and refresh.user is user:
                    refresh.used = True

    # -- event fan-out -----------------------------------------------------------------------

    def emit_app_event(self, app: App, event: str, payload: dict[str, Any]) -> Delivery | None:
        """An App-level event outside any installation (e.g. `github_app_authorization`)."""
        if not app.webhook_url or not app.webhook_active:
            return None
        return self.deliverer.new_delivery(
            event=event,
            action=payload.get("action"),
            hook_id=app.hook_id,
            target_type="integration",
            target_id=app.id,
            installation_id=None,
            repository_id=None,
            url=app.webhook_url,
            secret=app.webhook_secret,
            content_type=app.webhook_content_type,
            payload=payload,
        )

    def emit_to_app(
        self,
        inst: Installation,
        event: str,
        payload: dict[str, Any],
        *,
        repository_id: int | None = None,
        guid: str | None = None,
    ) -> Delivery | None:
        app = inst.app
        if not app.webhook_url or not app.webhook_active:
            return None
        subscribed = event in app.events and event in inst.events
        if event not in ALWAYS_DELIVERED and (not subscribed or inst.suspended_at is not None):
            return None
        return self.deliverer.new_delivery(
            guid=guid,
            event=event,
            action=payload.get("action"),
            hook_id=app.hook_id,
            target_type="integration",
            target_id=app.id,
            installation_id=inst.id,
            repository_id=repository_id,
            url=app.webhook_url,
            secret=app.webhook_secret,
            content_type=app.webhook_content_type,
            payload=payload,
        )

    def emit_repo_event(
        self,
        repo: Repository,
        event: str,
        build: PayloadBuilder,
        *,
        installations: list[Installation] | None = None,
    ) -> list[Delivery]:
        """One delivery per subscribed App installation, plus one per matching repository hook,
        all with the event's one `X-GitHub-Delivery` GUID."""
        targets = (
            installations if installations is not None else self.state.installations_for_repo(repo)
        )
        guid = new_guid()
        sent: list[Delivery | None] = [
            self.emit_to_app(i, event, build(i), repository_id=repo.id, guid=guid) for i in targets
        ]
        for hook in list(repo.hooks.values()):
            if not hook.active or not ({event, "*"} & set(hook.events)):
                continue
            payload = build(None)
            sent.append(
                self.deliverer.new_delivery(
                    guid=guid,
                    event=event,
                    action=payload.get("action"),
                    hook_id=hook.id,
                    target_type="repository",
                    target_id=repo.id,
                    installation_id=None,
                    repository_id=repo.id,
                    url=hook.url,
                    secret=hook.secret,
                    content_type=hook.content_type,
                    payload=payload,
                )
            )
        return [d for d in sent if d is not None]
