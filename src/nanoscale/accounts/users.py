"""User administration: create, list and remove users; change passwords."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit, sessions, throttle
from nanoscale.accounts.models import User
from nanoscale.accounts.passwords import hash_password, validate_password, verify_password
from nanoscale.db.transactions import commit_before_raising
from nanoscale.errors import Conflict, Forbidden, InvalidInput, NotFound
from nanoscale.logs import get_logger
from nanoscale.settings import Settings

log = get_logger("nanoscale.accounts.users")

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# What a new username may look like as typed (it is stored in lower case).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "usernames are 1-64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return name


def user_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def find_user(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def create_user(
    session: Session,
    *,
    actor: User | None,
    username: str,
    password: str,
    is_admin: bool,
    ip: str | None,
    actor_label: str | None = None,
) -> User:
    """Add a user (admin-only at the API; `actor=None, actor_label="cli"` from the CLI)."""
    name = normalize_username(username)
    validate_password(password)
    if find_user(session, username=name) is not None:
        raise Conflict(f"user {name!r} already exists", code="user_exists", field="username")
    user = User(username=name, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    audit.record(
        session,
        action="user.created",
        actor=actor,
        actor_label=actor_label,
        ip=ip,
        target=f"user:{name}",
        details={"is_admin": is_admin},
    )
    log.info("user.created", user_id=user.id, is_admin=is_admin)
    return user


def delete_user(
    session: Session,
    *,
    actor: User | None,
    user_id: str,
    ip: str | None,
    owned_projects: Callable[[Session, str], int],
    actor_label: str | None = None,
) -> None:
    """Remove a user with their sessions and tokens. Refused for oneself, for the last
    admin, and while they own projects (deleting those needs the engine's teardown):
    `owned_projects(session, user_id)` counts them, since accounts know nothing of projects
    (`projects.service.count_owned_projects`)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user", field="user_id")
    if actor is not None and actor.id == user.id:
        raise Conflict("you cannot remove your own account", code="cannot_remove_self")
    if user.is_admin:
        admins = session.scalar(select(func.count()).select_from(User).where(User.is_admin))
        if (admins or 0) <= 1:
            raise Conflict("the last admin cannot be removed", code="last_admin")
    owned = owned_projects(session, user.id)
    if owned:
        raise Conflict(
            f"{user.username} owns {owned} project(s); delete them first",
            code="user_owns_projects",
        )
    session.delete(user)
    audit.record(
        session,
        action="user.removed",
        actor=actor,
        actor_label=actor_label,
        ip=ip,
        target=f"user:{user.username}",
    )
    log.info("user.removed", user_id=user_id)


def change_password(
    session: Session,
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_id: str | None,
    ip: str | None,
    settings: Settings,
) -> None:
    """Set a new password after checking the current one; every other session ends.

    Wrong current passwords count as failed logins for this user and IP (a stolen session
    must not become an unthrottled password oracle); the failure is committed here because
    the caller rolls back after the error."""
    address = ip or "unknown"
    # Checked first: a rollback after the reservation would leave a right password counted.
    validate_password(new_password, field="new_password")
    attempt = throttle.reserve_attempt(
        session, settings=settings, ip=address, username=user.username
    )
    if not verify_password(user.password_hash, current_password):
        audit.record(
            session, action="password.change_failed", actor=user, ip=ip,
            target=f"user:{user.id}",
        )  # fmt: skip
        commit_before_raising(session)
        raise Forbidden(
            "the current password is wrong", code="wrong_password", field="current_password"
        )
    throttle.settle_success(session, attempt=attempt, ip=address, username=user.username)
    user.password_hash = hash_password(new_password)
    sessions.end_user_sessions(session, user_id=user.id, keep_id=keep_session_id)
    audit.record(session, action="password.changed", actor=user, ip=ip, target=f"user:{user.id}")
    log.info("auth.password.changed", user_id=user.id)
