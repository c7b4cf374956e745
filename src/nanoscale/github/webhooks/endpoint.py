"""POST /api/integrations/github/webhook: public, answered well within GitHub's 10 seconds.

Order: size (413) → signature over the raw bytes with the right secret (401; 429 instead when
one address keeps failing) → headers and JSON (400) → record per (GUID, hook) → handle in one short
transaction → a small JSON body saying what happened (202 queued; 200 ping, ignored,
duplicate). No GitHub API call happens here.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.errors import error_body
from nanoscale.github.webhooks import deliveries, verify
from nanoscale.github.webhooks.deliveries import Outcome
from nanoscale.github.webhooks.registry import HANDLERS
from nanoscale.github.webhooks.throttle import SignatureThrottle
from nanoscale.logs import get_logger

WEBHOOK_PATH = "/integrations/github/webhook"  # under /api
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024  # GitHub's cap
GUID_MAX = 64
log = get_logger("nanoscale.github.webhooks")
router = APIRouter(tags=["github"])
THROTTLE_KEY = "github.webhook_throttle"


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


async def _read_capped(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(WEBHOOK_PATH, include_in_schema=False)  # GitHub's endpoint, not a client API
async def github_webhook(request: Request) -> JSONResponse:
    body = await _read_capped(request)
    if body is None:
        return _refuse(413, "payload_too_large", "GitHub payloads are capped at 25 MB")
    ctx: AppContext = request.app.state.context
    source = request.client.host if request.client else "unknown"
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await run_in_threadpool(receive, ctx, headers, body, source)


def receive(ctx: AppContext, headers: dict[str, str], body: bytes, source: str) -> JSONResponse:
    target_type = headers.get("x-github-hook-installation-target-type")
    hook_header = headers.get("x-github-hook-id", "0")
    hook_id = int(hook_header) if hook_header.isdigit() and len(hook_header) < 19 else -1
    throttle = _throttle(ctx)
    # A genuine delivery is never refused for load; only failed signatures are throttled.
    if hook_id < 0 or not _verified(ctx, target_type, hook_id, body, headers):
        if throttle.blocked(source):
            message = "too many deliveries with bad signatures from this address"
            return _refuse(429, "too_many_bad_signatures", message)
        if throttle.failed(source):
            _report_bad_signature(ctx, source, hook_id)
        return _refuse(
            401, "signature_invalid", "X-Hub-Signature-256 does not match this hook's secret"
        )
    event, guid = headers.get("x-github-event", ""), headers.get("x-github-delivery", "")
    if not event or not guid or len(guid) > GUID_MAX or len(event) > 64:
        return _refuse(400, "headers_missing", "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _refuse(400, "body_invalid", "the body is not a JSON object")
    return _process(ctx, event=event, guid=guid, hook_id=hook_id, target_type=target_type,
                    payload=payload)  # fmt: skip


def _throttle(ctx: AppContext) -> SignatureThrottle:
    throttle = ctx.components.setdefault(THROTTLE_KEY, SignatureThrottle())
    assert isinstance(throttle, SignatureThrottle)
    return throttle


def _verified(
    ctx: AppContext, target_type: str | None, hook_id: int, body: bytes, headers: dict[str, str]
) -> bool:
    with session_scope(ctx.sessions) as db:
        return verify.verified(db, ctx=ctx, target_type=target_type, hook_id=hook_id, body=body,
                               header=headers.get("x-hub-signature-256"))  # fmt: skip


def _report_bad_signature(ctx: AppContext, source: str, hook_id: int) -> None:
    """Once per window and source: a flood of forgeries is one log line, one audit event."""
    log.warning("github.webhook.signature_invalid", source=source, hook_id=hook_id)
    with session_scope(ctx.sessions) as db:
        audit.record(db, action="github.webhook.signature_invalid", actor=None, ip=source,
                     details={"hook_id": hook_id}, actor_label="github")  # fmt: skip


def _process(
    ctx: AppContext,
    *,
    event: str,
    guid: str,
    hook_id: int,
    target_type: str | None,
    payload: dict[str, Any],
) -> JSONResponse:
    fields = _fields(event, guid, hook_id, target_type, payload)
    try:
        outcome = _handle(ctx, event=event, guid=guid, hook_id=hook_id, payload=payload,
                          fields=fields)  # fmt: skip
    except Exception as exc:  # the platform failed (database): kept, so Redeliver retries it
        log.exception("github.webhook.failed", delivery_id=guid, hook_id=hook_id)
        _record_failure(ctx, fields=fields, error=type(exc).__name__)
        message = "NanoScale could not process this delivery; redeliver it"
        return _refuse(503, "webhook_failed", message)
    log.info("github.webhook.received", webhook_event=event, delivery_id=guid, hook_id=hook_id,
             outcome=outcome.outcome)  # fmt: skip
    return _answer(outcome.status, **outcome.body(guid))


def _handle(
    ctx: AppContext,
    *,
    event: str,
    guid: str,
    hook_id: int,
    payload: dict[str, Any],
    fields: dict[str, Any],
) -> Outcome:
    with session_scope(ctx.sessions) as db:
        row = deliveries.claim(db, fields=fields)
        if row is None:
            outcome = deliveries.redelivered(db, fields=fields)
        else:
            handler = HANDLERS.get(event)
            if handler is None:
                outcome = Outcome(200, "ignored", f"event {event!r} is not acted on")
            else:
                outcome = handler(db, ctx=ctx, payload=payload, delivery_id=guid,
                                  hook_id=hook_id)  # fmt: skip
            deliveries.finish(row, outcome)
            _audit(db, event=event, fields=fields, outcome=outcome)
    return outcome


AUDITED_OUTCOMES = {"deployed": "github.push.deployed", "updated": "github.lifecycle"}


def _audit(db: Any, *, event: str, fields: dict[str, Any], outcome: Outcome) -> None:
    """Push-triggered deployments and lifecycle changes leave an audit event, in the same
    transaction as the change itself (duplicates and ignored deliveries stay in the delivery
    log only)."""
    action = AUDITED_OUTCOMES.get(outcome.outcome)
    if action is None:
        return
    repo_id = fields["repo_id"]
    details = {"delivery_id": fields["delivery_id"], "hook_id": fields["hook_id"],
               "event": event, "action": fields["action"], "reason": outcome.reason,
               "deployment_ids": outcome.deployment_ids}  # fmt: skip
    audit.record(db, action=action, actor=None, ip=None, actor_label="github",
                 target=f"github_repository:{repo_id}" if repo_id else None,
                 details=details)  # fmt: skip


def _record_failure(ctx: AppContext, *, fields: dict[str, Any], error: str) -> None:
    try:
        with session_scope(ctx.sessions) as db:
            row = deliveries.claim(db, fields=fields)
            if row is not None:
                row.status_code, row.error_message = 503, error
    except Exception:  # the database itself is down: GitHub's delivery log keeps the event
        log.exception("github.webhook.not_recorded", delivery_id=fields["delivery_id"])


def _fields(
    event: str, guid: str, hook_id: int, target_type: str | None, payload: dict[str, Any]
) -> dict[str, Any]:
    repo = payload.get("repository")
    repo_id = repo.get("id") if isinstance(repo, dict) else None

    def text(name: str, size: int) -> str | None:
        value = payload.get(name)
        return str(value)[:size] if isinstance(value, str) else None

    return {
        "delivery_id": guid,
        "hook_id": hook_id,
        "source": "repository" if target_type == "repository" else "app",
        "event_type": event,
        "action": text("action", 64),
        "repo_id": repo_id if isinstance(repo_id, int) and 0 < repo_id < 2**63 else None,
        "ref": text("ref", 255),
        "before_sha": text("before", 64),
        "head_commit": text("after", 64),
    }
