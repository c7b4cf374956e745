"""Who is calling (App JWT, installation token, user token, anonymous) and what may they see."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Literal

import jwt

from .state import PERMISSION_RANK, Account, App, Repository, SimState
from .tokens import InstallationToken, UserToken

JWT_MAX_LIFETIME = 600
JWT_IAT_SKEW = 60
BAD_CREDENTIALS = "Bad credentials"


class AuthError(Exception):
    def __init__(self, message: str, doc: str = "") -> None:
        super().__init__(message)
        self.message, self.doc = message, doc


@dataclass
class Credential:
    kind: Literal["anonymous", "app", "installation", "user", "client"]
    rate_key: str
    app: App | None = None
    client_app: App | None = None  # Basic client_id:client_secret (the OAuth applications API)
    installation_token: InstallationToken | None = None
    user_token: UserToken | None = None

    @property
    def user(self) -> Account | None:
        return self.user_token.user if self.user_token else None


def authenticate(state: SimState, authorization: str, client: str) -> Credential:
    """Resolve an Authorization header; raise AuthError for anything GitHub would answer 401."""
    if not authorization:
        return Credential("anonymous", f"ip:{client}")
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            username, _, value = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthError(BAD_CREDENTIALS) from exc
        oauth_app = next((a for a in state.apps.values() if a.client_id == username), None)
        if oauth_app is not None:
            if not hmac.compare_digest(oauth_app.client_secret, value):
                raise AuthError(BAD_CREDENTIALS)
            return Credential("client", f"client:{oauth_app.id}", client_app=oauth_app)
    elif scheme.lower() not in ("bearer", "token"):
        raise AuthError(BAD_CREDENTIALS)
    if value.count(".") == 2:
        app = verify_app_jwt(state, value)
        return Credential("app", f"app:{app.id}", app=app)
    now = state.clock.now()
    inst_token = state.installation_tokens.get(value)
    if inst_token is not None:
        inst = inst_token.installation
        if inst_token.revoked or inst_token.expires_at <= now or inst.deleted:
            raise AuthError(BAD_CREDENTIALS)
        return Credential("installation", f"installation:{inst.id}", installation_token=inst_token)
    user_token = state.user_tokens.get(value)
    if user_token is not None and user_token.expires_at > now and not user_token.revoked:
        return Credential("user", f"user:{user_token.user.id}", user_token=user_token)
    raise AuthError(BAD_CREDENTIALS)


def verify_app_jwt(state: SimState, token: str) -> App:
    """GitHub's rules: RS256 by the App's key, iss = app id (or client id), exp - iat <= 10 min."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("A JSON web token could not be decoded") from exc
    iss = str(unverified.get("iss", ""))
    app = next((a for a in state.apps.values() if iss in (str(a.id), a.client_id)), None)
    if app is None:
        raise AuthError("'Issuer' claim ('iss') must be an Integer")
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError("A JSON web token could not be decoded") from exc
    now = int(state.clock.now().timestamp())
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int) or iat > now + JWT_IAT_SKEW:
        raise AuthError(
            "'Issued at' claim ('iat') must be an Integer representing the time that the "
            "assertion was issued."
        )
    if not isinstance(exp, int) or exp <= now:
        raise AuthError(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires."
        )
    if exp - iat > JWT_MAX_LIFETIME:
        raise AuthError("'Expiration time' claim ('exp') is too far in the future.")
    return app


def token_repos(state: SimState, token: InstallationToken) -> list[Repository]:
    """Repositories an installation token reaches now (narrowing survives later changes)."""
    repos = state.installation_repos(token.installation)
    if token.repo_ids is not None:
        repos = [r for r in repos if r.id in token.repo_ids]
    return repos


def user_app_repos(state: SimState, token: UserToken) -> list[Repository]:
    """A user-to-server token reaches the App's installed repositories the user can access."""
    seen: dict[int, Repository] = {}
    for inst in state.live_installations():
        if inst.app is not token.app or inst.suspended_at is not None:
            continue
        for repo in state.installation_repos(inst):
            if state.user_permission(token.user, repo) != "none":
                seen[repo.id] = repo
    return list(seen.values())


def can_see(state: SimState, cred: Credential, repo: Repository) -> bool:
    if repo.deleted:
        return False
    if not repo.private:
        return True
    if cred.installation_token is not None:
        return repo in token_repos(state, cred.installation_token)
    if cred.user_token is not None:
        return repo in user_app_repos(state, cred.user_token)
    return False


def permission(state: SimState, cred: Credential, repo: Repository, name: str) -> str:
    """The effective level ("none", "read", "write") of an App permission on a repository."""
    if cred.installation_token is not None:
        if repo not in token_repos(state, cred.installation_token):
            return "none"
        if cred.installation_token.installation.suspended_at is not None:
            return "none"
        return cred.installation_token.permissions.get(name, "none")
    if cred.user_token is not None and repo in user_app_repos(state, cred.user_token):
        insts = state.installations_for_repo(repo)
        granted = [i.permissions.get(name, "none") for i in insts if i.app is cred.user_token.app]
        return max(granted, key=PERMISSION_RANK.__getitem__, default="none")
    return "none"


def may_write(state: SimState, cred: Credential, repo: Repository, name: str) -> bool:
    """Write access through an App permission; a user token also needs the user's own write
    access (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-with-a-github-app-on-behalf-of-a-user)."""
    if permission(state, cred, repo, name) != "write":
        return False
    if cred.user is not None:
        return PERMISSION_RANK[state.user_permission(cred.user, repo)] >= PERMISSION_RANK["write"]
    return True


def may_read(state: SimState, cred: Credential, repo: Repository, name: str) -> bool:
    """Public repositories are readable by anyone; private ones need the permission."""
    return not repo.private or permission(state, cred, repo, name) != "none"


def acting_app(cred: Credential) -> App | None:
    if cred.installation_token is not None:
        return cred.installation_token.installation.app
    return cred.user_token.app if cred.user_token is not None else None
