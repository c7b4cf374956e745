"""One result of a setup check (`nanoscale doctor`, startup): what was checked, and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


def ok(check: str, detail: str) -> Finding:
    return Finding(check, True, detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, False, detail, fix)
