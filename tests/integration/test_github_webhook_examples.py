"""Every `push`, `ping`, `installation`, `installation_repositories`, `repository` and
`github_app_authorization` example of `@octokit/webhooks-examples`, signed and delivered over
HTTP to a real `nanoscale serve` (SQLite and PostgreSQL): first unmodified (they name other
repositories, installations and users: answered, recorded, and nothing of ours changes), then
with ids moved into the test world so each handler acts (tests/support/served_github.py's
stack: octo-alice connected, "shop" live from octo-alice/app). Never a 5xx.

Tests run in file order on one stack; the world-changing ones come last."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from tests.fakes.github import gitstore
from tests.fakes.github.delivery_wire import HOOKSHOT, sign
from tests.fakes.github.webhook_examples import Example, load_examples
from tests.support.github_app import WEBHOOK_SECRET
from tests.support.served_github import ServedGitHub, served_github_stack
from tests.support.served_nanoscale import WEBHOOK_PATH

__all__ = ["served_github_stack"]
EVENTS = (
    "push", "ping", "installation", "installation_repositories", "repository",
    "github_app_authorization",
)  # fmt: skip
EXAMPLES = load_examples(EVENTS)
Stack = ServedGitHub


def _deliver(
    stack: Stack, example: Example, payload: dict[str, Any], *, via_repository_hook: bool = False
) -> tuple[httpx.Response, m.GitHubWebhookDelivery | None]:
    """Sign and send as GitHub would (the App's webhook, or the repository's NanoScale hook);
    returns the answer and NanoScale's record of this delivery."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    app, repo = stack.gh.world.app, stack.gh.world.app_repo
    if via_repository_hook:
        (hook,) = repo.hooks.values()
        hook_id, secret, target = hook.id, str(hook.secret), ("repository", repo.id)
    else:
        hook_id, secret, target = app.hook_id, WEBHOOK_SECRET, ("integration", app.id)
    guid = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json", "User-Agent": HOOKSHOT,
        "X-GitHub-Event": example.event, "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-Type": target[0],
        "X-GitHub-Hook-Installation-Target-ID": str(target[1]),
        "X-Hub-Signature-256": sign(secret, body),
    }  # fmt: skip
    answer = httpx.post(f"{stack.server.url}{WEBHOOK_PATH}", content=body, headers=headers)
    with session_scope(stack.gh.ctx.sessions) as db:
        query = select(m.GitHubWebhookDelivery).where(
            m.GitHubWebhookDelivery.delivery_id == guid,
            m.GitHubWebhookDelivery.hook_id == hook_id,
        )
        return answer, db.scalars(query).one_or_none()


def _assert_recorded(
    answer: httpx.Response,
    row: m.GitHubWebhookDelivery | None,
    example: Example,
    source: str,
    payload: dict[str, Any] | None = None,  # as delivered; default: the example unmodified
) -> None:
    assert answer.status_code < 500, answer.text
    assert row is not None, "not recorded"
    payload = example.payload if payload is None else payload
    assert (row.event_type, row.action, row.source) == (
        example.event, payload.get("action"), source
    )  # fmt: skip
    assert row.status_code == answer.status_code and row.outcome == answer.json()["outcome"]
    assert row.repo_id == (payload.get("repository") or {}).get("id")
    if example.event == "push":
        assert (row.ref, row.before_sha, row.head_commit) == (
            payload["ref"], payload["before"], payload["after"]
        )  # fmt: skip


def _expected_unmodified(example: Example) -> tuple[int, set[str]]:
    """What a delivery about someone else's repository, installation or user deserves."""
    if example.event == "ping":
        return 200, {"pong"}
    if example.event in ("push", "github_app_authorization"):
        return 200, {"ignored"}
    return 200, {"ignored", "updated"}  # nothing of ours matches: nothing changes (checked)


def _world(stack: Stack) -> dict[str, Any]:
    """What must not change when a delivery is about someone else."""
    alice = stack.alice
    with session_scope(stack.gh.ctx.sessions) as db:
        links = [(li.active, li.full_name, li.installation_id)
                 for li in db.scalars(select(m.ProjectGitHubLink))]  # fmt: skip
        installations = [(i.installation_id, i.suspended)
                         for i in db.scalars(select(m.GitHubInstallation))]  # fmt: skip
    project = alice.client.get(f"/api/projects/{stack.project['id']}").json()
    return {
        "links": links,
        "installations": installations,
        "deployments": [d.id for d in stack.deployments()],
        "connected": alice.client.get("/api/integrations/github/status").json()["connected"],
        "repo_url": project["repo_url"],
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_unmodified_examples_are_answered_recorded_and_change_nothing_of_ours(
    served_github_stack: Stack, example: Example
) -> None:
    stack = served_github_stack
    before = _world(stack)
    answer, row = _deliver(stack, example, example.payload)
    _assert_recorded(answer, row, example, "app")
    status, outcomes = _expected_unmodified(example)
    assert answer.status_code == status and answer.json()["outcome"] in outcomes, answer.text
    if example.event == "push":
        ref = str(example.payload["ref"])
        reason = "tags do not deploy" if ref.startswith("refs/tags/") else "no linked project"
        assert reason in str(answer.json().get("reason")), answer.text
        # The repository hook's copy (its own secret) is answered the same way.
        hooked, hooked_row = _deliver(stack, example, example.payload, via_repository_hook=True)
        _assert_recorded(hooked, hooked_row, example, "repository")
        assert hooked.status_code == 200 and hooked.json()["outcome"] == "ignored", hooked.text
    assert _world(stack) == before


def _of(event: str, *actions: str) -> list[Example]:
    found = [e for e in EXAMPLES if e.event == event]
    return [e for e in found if not actions or e.payload.get("action") in actions]


def _installation_id(stack: Stack) -> int:
    with session_scope(stack.gh.ctx.sessions) as db:
        return int(db.scalars(select(m.ProjectGitHubLink.installation_id)).one())


def _adjusted(stack: Stack, example: Example) -> dict[str, Any]:
    """The example about our world: octo-alice/app, her installation, her account, our hook."""
    payload = copy.deepcopy(example.payload)
    repo, alice = stack.gh.world.app_repo, stack.gh.world.alice
    if isinstance(payload.get("repository"), dict):
        payload["repository"]["id"] = repo.id
    if isinstance(payload.get("installation"), dict):
        payload["installation"]["id"] = _installation_id(stack)
    for removed in payload.get("repositories_removed") or []:
        removed["id"] = repo.id
    if example.event == "github_app_authorization":
        payload["sender"]["id"] = alice.id
    if example.event == "ping":
        (hook,) = repo.hooks.values()
        payload["hook_id"] = payload["hook"]["id"] = hook.id
    return payload


def _link(stack: Stack) -> m.ProjectGitHubLink:
    with session_scope(stack.gh.ctx.sessions) as db:
        return db.scalars(select(m.ProjectGitHubLink)).one()


def test_adjusted_push_examples_deploy_only_the_selected_branch(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    sim, repo = stack.gh.sim, stack.gh.world.app_repo
    deployments = len(stack.deployments())
    for example in _of("push"):
        payload = _adjusted(stack, example)
        answer, row = _deliver(stack, example, payload)
        _assert_recorded(answer, row, example, "app", payload)
        ref = str(example.payload["ref"])
        reason = "tags do not deploy" if ref.startswith("refs/tags/") else "not the selected branch"
        assert answer.status_code == 200 and reason in answer.json()["reason"], answer.text
    assert len(stack.deployments()) == deployments

    # A branch-push example aimed at `main` with a real new commit (GitHub's own copies of
    # that push are dropped): the repository hook's copy deploys it, the App's is a duplicate.
    head = gitstore.resolve(repo.path, "refs/heads/main")
    sim.deliverer.faults.drop_next = 2
    sha = sim.commit(repo, "main", {"version.txt": "v2\n"}, message="v2")
    stack.wait_deliveries()
    example = next(e for e in _of("push") if e.payload["ref"] == "refs/heads/master")
    payload = _adjusted(stack, example) | {"ref": "refs/heads/main", "after": sha}
    payload["before"] = head
    first, _ = _deliver(stack, example, payload, via_repository_hook=True)
    assert first.status_code == 202 and first.json()["outcome"] == "deployed", first.text
    second, _ = _deliver(stack, example, payload)
    assert second.status_code == 200 and second.json()["outcome"] == "duplicate", second.text
    (deployment_id,) = first.json()["deployment_ids"]
    assert stack.wait_settled(deployment_id) == "live"
    assert stack.serving(deployment_id) == f"v2 {sha}"


def test_adjusted_pings_to_the_repository_hook_are_answered(served_github_stack: Stack) -> None:
    stack = served_github_stack
    for example in _of("ping"):
        payload = _adjusted(stack, example)
        answer, row = _deliver(stack, example, payload, via_repository_hook=True)
        _assert_recorded(answer, row, example, "repository", payload)
        assert answer.status_code == 200 and answer.json()["outcome"] == "pong", answer.text


def test_adjusted_repository_examples_update_names_by_repository_id(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    repo_url = _world(stack)["repo_url"]
    for example in _of("repository"):
        payload = _adjusted(stack, example)
        answer, row = _deliver(stack, example, payload)
        _assert_recorded(answer, row, example, "app", payload)
        action = example.payload["action"]
        expected = "ignored" if action == "created" else "updated"
        assert answer.status_code == 200 and answer.json()["outcome"] == expected, answer.text
        if action in ("renamed", "transferred"):
            assert _link(stack).full_name == payload["repository"]["full_name"]
    # The examples' clone URLs name github.com, which this NanoScale may not clone from.
    assert _world(stack)["repo_url"] == repo_url

    # GitHub's own word puts the names right again (identity is the id, not the name).
    stack.gh.sim.rename_repo(stack.gh.world.app_repo, "app-2")
    stack.wait_deliveries()
    assert _link(stack).full_name == "octo-alice/app-2"


def test_adjusted_installation_repositories_removed_deactivates_the_link(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    for example in _of("installation_repositories"):
        payload = _adjusted(stack, example)
        answer, row = _deliver(stack, example, payload)
        _assert_recorded(answer, row, example, "app", payload)
        removed = example.payload["action"] == "removed"
        assert answer.json()["outcome"] == ("updated" if removed else "ignored"), answer.text
        assert answer.status_code == 200 and _link(stack).active is not removed


def _installation_suspended(stack: Stack) -> bool | None:
    with session_scope(stack.gh.ctx.sessions) as db:
        query = select(m.GitHubInstallation).where(
            m.GitHubInstallation.installation_id == _installation_id(stack)
        )
        row = db.scalars(query).one_or_none()
        return None if row is None else row.suspended


def test_adjusted_installation_examples_mirror_suspension_and_deletion(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    order = ("suspend", "unsuspend", "created", "new_permissions_accepted", "deleted")
    for action in order:
        for example in _of("installation", action):
            payload = _adjusted(stack, example)
            answer, row = _deliver(stack, example, payload)
            _assert_recorded(answer, row, example, "app", payload)
            assert answer.status_code == 200, answer.text
            if action == "suspend":
                assert answer.json()["outcome"] == "updated" and _installation_suspended(stack)
            elif action == "unsuspend":
                assert answer.json()["outcome"] == "updated"
                assert _installation_suspended(stack) is False
            elif action == "deleted":
                assert answer.json()["outcome"] == "updated"
                assert _installation_suspended(stack) is None  # gone
                assert _link(stack).active is False
            else:
                assert answer.json()["outcome"] in ("ignored", "updated"), answer.text


def test_adjusted_authorization_revoked_disconnects_the_user(served_github_stack: Stack) -> None:
    stack = served_github_stack
    status = "/api/integrations/github/status"
    assert stack.alice.client.get(status).json()["connected"] is True
    first, *others = _of("github_app_authorization")
    payload = _adjusted(stack, first)
    answer, row = _deliver(stack, first, payload)
    _assert_recorded(answer, row, first, "app", payload)
    assert answer.status_code == 200 and answer.json()["outcome"] == "updated", answer.text
    assert stack.alice.client.get(status).json()["connected"] is False
    for example in others:  # already revoked: nothing left to remove
        payload = _adjusted(stack, example)
        answer, row = _deliver(stack, example, payload)
        _assert_recorded(answer, row, example, "app", payload)
        assert answer.status_code == 200 and answer.json()["outcome"] == "ignored", answer.text
