"""NanoScale deployment states as GitHub states, and the steps still to report.

Deployment statuses (https://docs.github.com/en/rest/deployments/statuses): queued →
in_progress → success | failure; a release that stopped serving (a newer one went live) and a
deployment that never ran (superseded by a newer commit, cancelled) become `inactive`, GitHub's
word for "no longer active" (`error` would claim something broke). Commit statuses
(https://docs.github.com/en/rest/commits/statuses) have four states: pending → success |
failure, and `error` for a deployment that will never finish (a retired release stays success).
"""

from __future__ import annotations

from dataclasses import dataclass

from nanoscale.deployments.states import DeploymentState as S

DEPLOYMENT_FINAL = ("inactive", "failure", "error")
STATUS_FINAL = ("success", "failure", "error")
DESCRIPTIONS = {
    "queued": "Queued on NanoScale",
    "in_progress": "Deploying on NanoScale",
    "pending": "Deploying on NanoScale",
    "success": "Live on NanoScale",
    "failure": "The deployment failed",
    "inactive": "No longer serving",
    "error": "The deployment did not run",
}


@dataclass(frozen=True)
class Observed:
    """What the reporter reads of one deployment."""

    state: str
    ran: bool  # it reached fetching (so it really was in progress)
    retired: bool  # live once, its release since stopped


def deployment_steps(seen: Observed, reported: str | None) -> list[str]:
    """The deployment statuses to post, in order, to bring GitHub from `reported` to now."""
    if reported is None and _never_ran(seen):
        return []  # coalesced away before GitHub heard of it: no GitHub deployment at all
    path = ["queued"]
    if seen.ran:
        path.append("in_progress")
    if seen.state == S.LIVE:
        path += ["success", "inactive"] if seen.retired else ["success"]
    elif seen.state == S.FAILED:
        path.append("failure")
    elif seen.state in (S.SUPERSEDED, S.CANCELLED):
        path.append("inactive")
    return _after(path, reported)


def status_steps(seen: Observed, reported: str | None) -> list[str]:
    """The commit status to post (at most one: a commit status replaces the previous one)."""
    if reported is None and _never_ran(seen):
        return []
    if seen.state == S.LIVE:
        target = "success"
    elif seen.state == S.FAILED:
        target = "failure"
    elif seen.state in (S.SUPERSEDED, S.CANCELLED):
        target = "error"
    else:
        target = "pending"
    return [] if target == reported else [target]


def _after(path: list[str], reported: str | None) -> list[str]:
    if reported is None:
        return path
    if reported not in path:  # reported something this path no longer has: say where it is now
        return path[-1:] if path[-1] != reported else []
    return path[path.index(reported) + 1 :]


def _never_ran(seen: Observed) -> bool:
    return seen.state in (S.SUPERSEDED, S.CANCELLED) and not seen.ran


def settled(mode: str, seen: Observed) -> bool:
    """Nothing will ever be posted for this deployment again (once its steps are posted)."""
    if seen.state == S.LIVE:
        return mode != "deployments" or seen.retired  # a live release turns inactive later
    return seen.state in (S.FAILED, S.SUPERSEDED, S.CANCELLED)


def is_final(mode: str, reported: str | None) -> bool:
    if mode == "deployments":
        return reported in DEPLOYMENT_FINAL
    return reported in STATUS_FINAL
