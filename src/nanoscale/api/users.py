"""/api/users: admins list, create and remove users."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from nanoscale.accounts import users
from nanoscale.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from nanoscale.accounts.users import USERNAME_PATTERN
from nanoscale.api.auth import UserOut
from nanoscale.api.contract import errors
from nanoscale.api.deps import AdminUser, ClientIp, DbSession
from nanoscale.projects.service import count_owned_projects

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    is_admin: bool = False


@router.get("", response_model=list[UserOut])
def list_users(_admin: AdminUser, db: DbSession) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(db)]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_user(body: UserCreate, admin: AdminUser, db: DbSession, ip: ClientIp) -> UserOut:
    user = users.create_user(
        db,
        actor=admin,
        username=body.username,
        password=body.password,
        is_admin=body.is_admin,
        ip=ip,
    )
    return UserOut.model_validate(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
def delete_user(user_id: str, admin: AdminUser, db: DbSession, ip: ClientIp) -> None:
    users.delete_user(db, actor=admin, user_id=user_id, ip=ip, owned_projects=count_owned_projects)
