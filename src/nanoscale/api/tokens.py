"""/api/tokens: personal API tokens (the secret is shown once, at creation)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from nanoscale.accounts import tokens
from nanoscale.api.deps import ClientIp, CurrentUser, DbSession

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    name: str = Field(pattern=tokens.TOKEN_NAME_PATTERN)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenOut):
    token: str  # `Authorization: Bearer <token>`; not retrievable later


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, user: CurrentUser, db: DbSession, ip: ClientIp) -> TokenCreated:
    created = tokens.create_token(
        db, user=user, name=body.name, expires_in_days=body.expires_in_days, ip=ip
    )
    out = TokenOut.model_validate(created.token)
    return TokenCreated(**out.model_dump(), token=created.secret)


@router.get("", response_model=list[TokenOut])
def list_tokens(user: CurrentUser, db: DbSession) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in tokens.list_tokens(db, user=user)]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: str, user: CurrentUser, db: DbSession, ip: ClientIp) -> None:
    tokens.revoke_token(db, user=user, token_id=token_id, ip=ip)
