"""kill -9 of a real `nanoscale serve` while push deliveries are in flight: nothing is
half-recorded (a delivery row is either handled, with its outcome and the deployments it led
to, or unhandled; no push deployment lacks its handled delivery), and after a restart the
reconciler catches up: the pushed head goes live, deployed exactly once (a deployment the
crash interrupted is failed as `orchestrator_lost` and retried once by the reconciler)."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.github import models as m
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.deploy import traversable_dir
from tests.support.github_app import WEBHOOK_SECRET
from tests.support.served_github import DEPLOY_LIMIT_SECONDS, ServedGitHub, served_github
from tests.support.served_nanoscale import WEBHOOK_PATH

COPIES = 40  # concurrent copies of the push (distinct GUIDs), most in flight at the kill


@pytest.fixture
def stack(
    github_sim: GitHubSimulator, github_served: ServedSimulator, database_url: str
) -> Iterator[ServedGitHub]:
    with traversable_dir("nanoscale-kill9-") as root:
        url = f"sqlite:///{root / 'nanoscale.db'}" if database_url.startswith("sqlite") else (
            database_url
        )  # fmt: skip
        with served_github(github_sim, github_served, root, database_url=url) as served:
            yield served


def _signed_copies(payload: dict[str, object]) -> tuple[bytes, list[dict[str, str]]]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = [{"Content-Type": "application/json", "X-GitHub-Event": "push",
                "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature,
                "X-GitHub-Hook-Installation-Target-Type": "integration",
                "User-Agent": "GitHub-Hookshot/test"} for _ in range(COPIES)]  # fmt: skip
    return body, headers


def _fire_and_kill(stack: ServedGitHub, body: bytes, copies: list[dict[str, str]]) -> None:
    """Send every copy at once and kill -9 the server as soon as the first is answered."""
    answered = threading.Event()
    url = f"{stack.server.url}{WEBHOOK_PATH}"

    def send(headers: dict[str, str]) -> None:
        try:
            httpx.post(url, content=body, headers=headers, timeout=30)
        except httpx.HTTPError:
            pass  # the server died under this request: what the test is about
        finally:
            answered.set()

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        for headers in copies:
            pool.submit(send, headers)
        assert answered.wait(60)
        assert stack.server.kill(signal.SIGKILL) == -signal.SIGKILL


def _records(
    stack: ServedGitHub, sha: str
) -> tuple[list[m.GitHubWebhookDelivery], list[Deployment]]:
    with session_scope(stack.gh.ctx.sessions) as db:
        rows = list(db.scalars(select(m.GitHubWebhookDelivery).where(
            m.GitHubWebhookDelivery.head_commit == sha)))  # fmt: skip
        deployments = list(db.scalars(select(Deployment).where(
            Deployment.project_id == stack.project["id"],
            Deployment.commit_sha == sha)))  # fmt: skip
        db.expunge_all()
        return rows, deployments


def test_kill_9_with_deliveries_in_flight_leaves_no_half_records_and_the_head_goes_live_once(
    stack: ServedGitHub,
) -> None:
    gh = stack.gh
    gh.sim.deliverer.faults.drop_next = 2  # GitHub's own two deliveries of the push are lost
    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v2\n"}, message="v2")
    stack.wait_deliveries()
    push = next(d for d in gh.sim.state.deliveries
                if d.event == "push" and d.payload.get("after") == sha)  # fmt: skip
    body, copies = _signed_copies(push.payload)
    _fire_and_kill(stack, body, copies)

    rows, deployments = _records(stack, sha)
    by_guid = {r.delivery_id: r for r in rows}
    for row in rows:  # handled with its outcome, or not handled at all
        if row.handled:
            assert row.outcome in ("deployed", "duplicate"), (row.outcome, row.reason)
            assert set(row.deployment_ids) <= {d.id for d in deployments}
        else:
            assert row.outcome is None, row.outcome
    for deployment in deployments:  # no deployment without its handled delivery
        origin = by_guid.get(str(deployment.correlation.get("delivery_id")))
        assert origin is not None and origin.handled and origin.outcome == "deployed"
        assert deployment.id in origin.deployment_ids
    assert len(deployments) <= 1

    # Restarted with a short reconciler interval: the missed (or interrupted) head goes live.
    stack.server.env["NANOSCALE_GITHUB_RECONCILE_INTERVAL_SECONDS"] = "1"
    stack.server.restart()
    deadline = time.monotonic() + DEPLOY_LIMIT_SECONDS
    while True:
        _, deployments = _records(stack, sha)
        live = [d for d in deployments if d.state == "live"]
        if live:
            break
        assert time.monotonic() < deadline, [(d.state, d.error_code) for d in deployments]
        time.sleep(0.2)
    assert len(live) == 1 and stack.serving(live[0].id).startswith(f"v2 {sha}")
    others = [d for d in deployments if d.id != live[0].id]
    assert all((d.state, d.error_code) == ("failed", "orchestrator_lost") for d in others), [
        (d.state, d.error_code) for d in others
    ]
    assert len(others) <= 1

    # Later passes find nothing more to do.
    seen: set[object] = set()
    deadline = time.monotonic() + 60
    while len(seen) < 3:  # the link checked at three different times: two passes since
        with session_scope(gh.ctx.sessions) as db:
            link = db.scalars(select(m.ProjectGitHubLink)).one()
            seen.add(link.checked_at)
            assert link.head_sha in (None, sha)
        assert time.monotonic() < deadline, "the reconciler stopped passing"
        time.sleep(0.2)
    _, after = _records(stack, sha)
    assert len(after) == len(deployments)
