"""Registry of encrypted columns, and key rotation over all of them.

Every package that stores a secret registers its column here at import time of its models
module, with the function that rebuilds the value's encryption context from its row:

    register_encrypted_column("projects", "env_vars_encrypted",
                              lambda row: f"projects.env_vars:{row['id']}")

`rotate_keys` then re-encrypts, in the caller's single transaction, every value whose key id
is not the primary key's, so the old key can be removed from the configuration afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column, select, table, update
from sqlalchemy.orm import Session

from nanoscale.crypto import KeyRing

ContextFn = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    context: ContextFn  # row (all `row_columns`) -> the context the value was sealed with
    primary_key: str = "id"
    row_columns: tuple[str, ...] = ("id",)


@dataclass
class RotationReport:
    rotated: dict[str, int] = field(default_factory=dict)  # "table.column" -> values rotated
    checked: int = 0

    @property
    def total_rotated(self) -> int:
        return sum(self.rotated.values())


_REGISTRY: dict[tuple[str, str], EncryptedColumn] = {}


def register_encrypted_column(
    table_name: str,
    column_name: str,
    context: ContextFn,
    *,
    primary_key: str = "id",
    row_columns: tuple[str, ...] = ("id",),
) -> None:
    """Declare that `table.column` holds `KeyRing` ciphertexts (idempotent per column)."""
    _REGISTRY[(table_name, column_name)] = EncryptedColumn(
        table=table_name,
        column=column_name,
        context=context,
        primary_key=primary_key,
        row_columns=row_columns,
    )


def encrypted_columns() -> list[EncryptedColumn]:
    """Every registered column, after importing all model modules (so none is missed)."""
    from nanoscale.models import load_metadata

    load_metadata()
    return sorted(_REGISTRY.values(), key=lambda c: (c.table, c.column))


def rotate_keys(session: Session, keyring: KeyRing) -> RotationReport:
    """Re-encrypt every stored secret not under the primary key. The caller commits; any
    failure (e.g. SecretKeyMissing for a value whose key is gone) leaves everything as it was."""
    report = RotationReport()
    for enc in encrypted_columns():
        cols = {enc.primary_key, *enc.row_columns, enc.column}
        tbl = table(enc.table, *(column(name) for name in cols))
        rows = session.execute(select(tbl).where(tbl.c[enc.column].is_not(None))).mappings()
        count = 0
        for row in rows.all():
            value = row[enc.column]
            report.checked += 1
            if not keyring.needs_rotation(value):
                continue
            ctx = enc.context(dict(row))
            fresh = keyring.encrypt(keyring.decrypt(value, context=ctx), context=ctx)
            session.execute(
                update(tbl)
                .where(tbl.c[enc.primary_key] == row[enc.primary_key])
                .values({enc.column: fresh})
            )
            count += 1
        report.rotated[f"{enc.table}.{enc.column}"] = count
    session.flush()
    return report
