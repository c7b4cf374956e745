"""A recorded webhook delivery in plain words, for the Deliveries tab and
`GET /api/integrations/github/deliveries`: "push to feature/x: not the selected branch",
"push to main: duplicate of delivery <GUID>", "push to main: deployment started"."""

from __future__ import annotations

from dataclasses import dataclass

from nanoscale.github import models as m

REF_KINDS = (("refs/heads/", "branch"), ("refs/tags/", "tag"))


@dataclass(frozen=True)
class Words:
    ref_name: str | None  # the pushed branch or tag, None for other events
    ref_kind: str | None  # branch | tag | ref
    detail: str  # what NanoScale did, or why not
    summary: str  # "push to <ref>: <detail>" (or just the detail)


def _ref(row: m.GitHubWebhookDelivery) -> tuple[str | None, str | None]:
    if row.event_type != "push" or not row.ref:
        return None, None
    for prefix, kind in REF_KINDS:
        if row.ref.startswith(prefix):
            return row.ref.removeprefix(prefix), kind
    return row.ref, "ref"


def _detail(row: m.GitHubWebhookDelivery) -> str:  # noqa: PLR0911 - one wording per return
    if not row.handled:
        if row.status_code and row.status_code >= 500:
            return "NanoScale could not process it; redeliver it from GitHub"
        return "received, not processed yet"
    if row.outcome == "deployed":
        return "deployment started"
    if row.outcome == "duplicate":
        if not row.duplicate_of:
            return "duplicate: this commit was already requested"
        same = " (the same push through the other webhook)"
        return f"duplicate of delivery {row.duplicate_of}" + (
            same if row.duplicate_of == row.delivery_id else ""
        )
    if row.outcome == "pong":
        return "GitHub's ping: the webhook reaches NanoScale"
    return row.reason or (row.outcome or "received").replace("_", " ")


def describe(row: m.GitHubWebhookDelivery) -> Words:
    name, kind = _ref(row)
    detail = _detail(row) + redelivery_note(row.redeliveries)
    if name is None:
        return Words(None, None, detail, detail)
    subject = f"push to tag {name}" if kind == "tag" else f"push to {name}"
    return Words(name, kind, detail, f"{subject}: {detail}")


def redelivery_note(count: int | None) -> str:
    if not count:
        return ""
    times = "once" if count == 1 else f"{count} times"
    return f"; redelivered {times} since, nothing more to do"
