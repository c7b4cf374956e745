"""Which way an installation's deployments are reported, from the permissions GitHub lists for
it: a GitHub Deployment with statuses (`deployments: write`), else a commit status
(`statuses: write`), else nothing, with the reason (the status endpoint and doctor show it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["deployments", "statuses", "none"]
WRITE = ("write", "admin")
TOKEN_PERMISSIONS: dict[str, dict[str, str]] = {
    "deployments": {"deployments": "write"},
    "statuses": {"statuses": "write"},
}


@dataclass(frozen=True)
class Reporting:
    mode: Mode
    reason: str | None = None  # why nothing is reported (mode "none")

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "reason": self.reason}


def reporting_for(permissions: dict[str, Any] | None, *, suspended: bool = False) -> Reporting:
    if suspended:
        return Reporting("none", "the installation is suspended")
    if permissions is None:
        return Reporting("none", "the installation's permissions are not known yet")
    if permissions.get("deployments") in WRITE:
        return Reporting("deployments")
    if permissions.get("statuses") in WRITE:
        return Reporting("statuses")
    return Reporting(
        "none",
        "the installation grants neither deployments: write nor statuses: write; grant "
        "deployments: write on the App's settings page and accept it on the installation",
    )
