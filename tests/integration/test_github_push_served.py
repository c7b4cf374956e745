"""Push-to-deploy through a real `nanoscale serve`: the served simulator delivers over HTTP
(the App's webhook and the repository hook NanoScale created), SQLite and PostgreSQL.

One stack per module (tests/support/served_github.py); every test starts and ends with "shop"
live on octo-alice/app's `main`, and the delete test runs last."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from tests.fakes.github.state import Delivery
from tests.support.served_github import ServedGitHub, served_github_stack

__all__ = ["served_github_stack"]
Stack = ServedGitHub


def _pushes_since(stack: Stack, mark: int) -> list[Delivery]:
    return [d for d in stack.gh.sim.state.deliveries[mark:] if d.event == "push"]


def _rows(
    stack: Stack, deliveries: list[Delivery]
) -> dict[tuple[str, int], m.GitHubWebhookDelivery]:
    """NanoScale's delivery records for these simulator deliveries, by (GUID, hook)."""
    guids = {d.guid for d in deliveries}
    with session_scope(stack.gh.ctx.sessions) as db:
        rows = db.scalars(
            select(m.GitHubWebhookDelivery).where(m.GitHubWebhookDelivery.delivery_id.in_(guids))
        )
        return {(r.delivery_id, r.hook_id): r for r in rows}


def _push_deployments(stack: Stack, sha: str) -> list[str]:
    return [d.id for d in stack.deployments() if d.commit_sha == sha]


def _deploy_push(stack: Stack, version: str) -> str:
    """Commit to main and wait until that commit is live; returns its SHA."""
    sim, repo = stack.gh.sim, stack.gh.world.app_repo
    sha = sim.commit(repo, "main", {"version.txt": f"{version}\n"}, message=version)
    stack.wait_deliveries()
    (deployment_id,) = _push_deployments(stack, sha)
    assert stack.wait_settled(deployment_id) == "live", stack.server.output()[-5000:]
    assert stack.serving(deployment_id) == f"{version} {sha}"
    return sha


def test_push_to_the_selected_branch_deploys_that_commit_live_once(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    mark = len(stack.gh.sim.state.deliveries)
    sha = _deploy_push(stack, "v2")
    pushes = _pushes_since(stack, mark)
    assert {d.target_type for d in pushes} == {"integration", "repository"}
    assert len({d.guid for d in pushes}) == 1  # one event: one GUID for both hooks
    assert sorted(d.status_code for d in pushes) == [200, 202]
    (deployment,) = [d for d in stack.deployments() if d.commit_sha == sha]
    assert (deployment.trigger, deployment.ref) == ("push", "main")
    assert deployment.correlation["delivery_id"] == pushes[0].guid
    rows = _rows(stack, pushes)
    assert sorted(str(r.outcome) for r in rows.values()) == ["deployed", "duplicate"]
    assert {r.source for r in rows.values()} == {"app", "repository"}
    assert all(r.head_commit == sha and r.status_code in (200, 202) for r in rows.values())
    # The push-triggered deployment is audited once (the duplicate copy is not).
    with session_scope(stack.gh.ctx.sessions) as db:
        audited = [
            a
            for a in db.scalars(
                select(AuditEvent).where(AuditEvent.action == "github.push.deployed")
            )
            if deployment.id in (a.details or {}).get("deployment_ids", [])
        ]
    assert [(a.details or {}).get("deployment_ids") for a in audited] == [[deployment.id]]
    assert audited[0].target == f"github_repository:{stack.gh.world.app_repo.id}"

    # GitHub's Redeliver (its REST API, as a person clicking "Redeliver" would) of both
    # copies: the same GUID again on each hook, a no-op.
    for original in pushes:
        _redeliver(stack, original)
    stack.wait_deliveries()
    again = [d for d in _pushes_since(stack, mark) if d.redelivery]
    assert len(again) == 2 and {d.status_code for d in again} == {200}, again
    assert _push_deployments(stack, sha) == [deployment.id]
    # Each record counts its redelivery, and the user is told it arrived and changed nothing.
    rows = _rows(stack, pushes)
    assert {(r.redeliveries, r.last_redelivered_at is not None) for r in rows.values()} == {
        (1, True)
    }
    listed = stack.alice.client.get(
        "/api/integrations/github/deliveries", params={"project_id": stack.project["id"]}
    ).json()["deliveries"]
    mine = [d for d in listed if d["delivery_id"] == pushes[0].guid]
    assert len(mine) == 2 and all(d["redeliveries"] == 1 for d in mine), mine
    assert all(
        d["summary"].endswith("; redelivered once since, nothing more to do") for d in mine
    ), mine


def _redeliver(stack: Stack, delivery: Delivery) -> None:
    """POST …/deliveries/{id}/attempts on the simulator's REST API (202 Accepted)."""
    app = stack.gh.world.app
    api = f"{stack.gh.served.base_url}/api/v3"
    if delivery.target_type == "integration":
        now = int(time.time())
        claims = {"iat": now - 60, "exp": now + 300, "iss": str(app.id)}
        token = jwt.encode(claims, app.private_key_pem, algorithm="RS256")
        url = f"{api}/app/hook/deliveries/{delivery.id}/attempts"
    else:
        repo = stack.gh.world.app_repo
        token = _user_token(stack)
        hook = f"{api}/repos/{repo.full_name}/hooks/{delivery.hook_id}"
        url = f"{hook}/deliveries/{delivery.id}/attempts"
    answer = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 202, answer.text


def _user_token(stack: Stack) -> str:
    """octo-alice's newest user token (she administers the repository)."""
    tokens = list(stack.gh.sim.state.user_tokens.values())
    return next(t.token for t in reversed(tokens) if t.user.login == "octo-alice" and not t.revoked)


def _by_ref(deliveries: list[Delivery]) -> dict[tuple[str, bool], list[Delivery]]:
    grouped: dict[tuple[str, bool], list[Delivery]] = {}
    for d in deliveries:
        key = (str(d.payload["ref"]), bool(d.payload["deleted"]))
        grouped.setdefault(key, []).append(d)
    return grouped


def test_other_branches_tags_and_deletions_do_not_deploy_and_each_says_why(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    sim, repo = stack.gh.sim, stack.gh.world.app_repo
    mark, before = len(sim.state.deliveries), len(stack.deployments())
    sim.create_branch(repo, "feature/x", from_ref="main")
    sim.commit(repo, "feature/x", {"f.txt": "x\n"})
    sim.create_tag(repo, "v1.0")
    sim.delete_branch(repo, "feature/x")
    stack.wait_deliveries()
    assert len(stack.deployments()) == before

    pushes = _pushes_since(stack, mark)
    rows = _rows(stack, pushes)
    expected = {
        ("refs/heads/feature/x", False): "not the selected branch",
        ("refs/tags/v1.0", False): "tags do not deploy",
        ("refs/heads/feature/x", True): "branch deleted",
    }
    grouped = _by_ref(pushes)
    assert set(grouped) == set(expected)
    for key, copies in grouped.items():
        assert {d.target_type for d in copies} == {"integration", "repository"}
        for delivery in copies:
            assert delivery.status_code == 200, delivery.response_body
            row = rows[(delivery.guid, delivery.hook_id)]
            assert row.outcome == "ignored" and row.status_code == 200, (key, row.outcome)
            assert expected[key] in str(row.reason), (key, row.reason)
            assert row.deployment_ids == []


def test_a_hundred_concurrent_copies_of_one_push_request_one_deployment(
    served_github_stack: Stack,
) -> None:
    """Both of GitHub's copies of one push (App and repository hook, each signed with its own
    secret), redelivered under their GUID and replayed under new GUIDs, all at once."""
    stack = served_github_stack
    sim, repo = stack.gh.sim, stack.gh.world.app_repo
    mark = len(sim.state.deliveries)
    faults = httpx.post(f"{stack.gh.served.base_url}/_sim/faults", json={"drop_deliveries": 2})
    assert faults.status_code == 200
    sha = sim.commit(repo, "main", {"version.txt": "v3\n"}, message="v3")
    stack.wait_deliveries()
    copies = _pushes_since(stack, mark)
    assert {d.target_type for d in copies} == {"integration", "repository"}
    assert {d.status_code for d in copies} == {0}  # neither reached NanoScale
    assert _push_deployments(stack, sha) == []

    guids = [copies[0].guid, *(str(uuid.uuid4()) for _ in range(4))]

    def send(i: int) -> httpx.Response:
        original = copies[i % 2]
        headers = original.request_headers | {"X-GitHub-Delivery": guids[i % len(guids)]}
        return client.post(original.url, content=original.body, headers=headers)

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(send, range(100)))
    codes = [a.status_code for a in answers]
    assert all(c < 500 for c in codes), [a.text for a in answers if a.status_code >= 500]
    assert codes.count(202) == 1, codes
    assert codes.count(200) == 99, codes
    others = {a.json()["outcome"] for a in answers if a.status_code == 200}
    assert others == {"duplicate"}, others
    (deployment_id,) = _push_deployments(stack, sha)
    assert stack.wait_settled(deployment_id) == "live"
    assert stack.serving(deployment_id) == f"v3 {sha}"
    rows = _rows_for(stack, guids)
    assert len(rows) == 2 * len(guids)  # one record per (GUID, hook), none lost
    assert sorted(str(r.outcome) for r in rows) == ["deployed"] + ["duplicate"] * 9
    assert {r.status_code for r in rows} == {200, 202}


def _rows_for(stack: Stack, guids: list[str]) -> list[m.GitHubWebhookDelivery]:
    with session_scope(stack.gh.ctx.sessions) as db:
        query = select(m.GitHubWebhookDelivery).where(
            m.GitHubWebhookDelivery.delivery_id.in_(guids)
        )
        return list(db.scalars(query))


def test_with_the_apps_deliveries_dropped_the_repository_hook_still_deploys(
    served_github_stack: Stack,
) -> None:
    stack = served_github_stack
    mark = len(stack.gh.sim.state.deliveries)
    drop = {"drop_deliveries": 1, "target_type": "integration"}
    assert httpx.post(f"{stack.gh.served.base_url}/_sim/faults", json=drop).status_code == 200
    sha = _deploy_push(stack, "v4")
    by_target = {d.target_type: d for d in _pushes_since(stack, mark)}
    assert by_target["integration"].status_code == 0  # dropped: GitHub does not retry
    assert by_target["repository"].status_code == 202
    (row,) = _rows(stack, list(by_target.values())).values()
    assert (row.source, row.outcome, row.head_commit) == ("repository", "deployed", sha)


def test_with_both_deliveries_dropped_the_reconciler_deploys_the_head(
    served_github_stack: Stack,
) -> None:
    """GitHub does not retry: with the App's and the hook's copy both lost, "Check for new
    commits" (the reconciler, inside the served process) deploys the branch head once."""
    stack = served_github_stack
    sim, repo, alice = stack.gh.sim, stack.gh.world.app_repo, stack.alice
    mark = len(sim.state.deliveries)
    drop = {"drop_deliveries": 2}
    assert httpx.post(f"{stack.gh.served.base_url}/_sim/faults", json=drop).status_code == 200
    sha = sim.commit(repo, "main", {"version.txt": "v4b\n"}, message="v4b")
    stack.wait_deliveries()
    assert sorted(d.status_code for d in _pushes_since(stack, mark)) == [0, 0]
    assert _push_deployments(stack, sha) == []

    url = f"/api/projects/{stack.project['id']}/github/check"
    checked = alice.client.post(url, headers=alice.headers)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["result"], checked.json()["head_sha"]) == ("deployed", sha)
    (deployment_id,) = _push_deployments(stack, sha)
    assert checked.json()["deployment_id"] == deployment_id
    assert stack.wait_settled(deployment_id) == "live", stack.server.output()[-5000:]
    assert stack.serving(deployment_id) == f"v4b {sha}"

    again = alice.client.post(url, headers=alice.headers)
    assert again.json()["result"] == "up_to_date", again.text
    assert _push_deployments(stack, sha) == [deployment_id]


def _link_active(stack: Stack) -> bool:
    with session_scope(stack.gh.ctx.sessions) as db:
        return bool(db.scalars(select(m.ProjectGitHubLink.active)).one())


def test_a_repository_removed_from_the_installation_and_added_back_deploys_again(
    served_github_stack: Stack,
) -> None:
    """Access withdrawn on GitHub: pushes are recorded and ignored. Access given back: the link
    is active again by itself, and the reconciler deploys the head that was missed meanwhile."""
    stack = served_github_stack
    sim, repo, alice = stack.gh.sim, stack.gh.world.app_repo, stack.alice
    (installation,) = sim.state.installations_for_repo(repo)
    others = [r for r in sim.state.installation_repos(installation) if r.id != repo.id]
    sim.set_installation_repos(installation, others)
    stack.wait_deliveries()
    assert not _link_active(stack)

    mark = len(sim.state.deliveries)
    sha = sim.commit(repo, "main", {"version.txt": "v4c\n"}, message="v4c")
    stack.wait_deliveries()
    rows = _rows(stack, _pushes_since(stack, mark)).values()
    assert rows and {(r.outcome, r.reason) for r in rows} == {
        ("ignored", "link inactive (GitHub disconnected or access lost)")
    }
    assert _push_deployments(stack, sha) == []

    sim.set_installation_repos(installation, None)  # all repositories again
    stack.wait_deliveries()
    assert _link_active(stack)
    url = f"/api/projects/{stack.project['id']}/github/check"
    checked = alice.client.post(url, headers=alice.headers)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["result"], checked.json()["head_sha"]) == ("deployed", sha)
    (deployment_id,) = _push_deployments(stack, sha)
    assert stack.wait_settled(deployment_id) == "live", stack.server.output()[-5000:]


def test_a_renamed_repository_keeps_deploying(served_github_stack: Stack) -> None:
    stack = served_github_stack
    alice, project = stack.alice, stack.project
    stack.gh.sim.rename_repo(stack.gh.world.app_repo, "shop-app")
    stack.wait_deliveries()
    refreshed = alice.client.get(f"/api/projects/{project['id']}").json()
    assert refreshed["repo_url"].endswith("/octo-alice/shop-app.git"), refreshed
    _deploy_push(stack, "v5")


def test_deleting_the_project_removes_its_hook_on_github(served_github_stack: Stack) -> None:
    """Last in this module: the stack has no project afterwards."""
    stack = served_github_stack
    alice, repo = stack.alice, stack.gh.world.app_repo
    api = f"{stack.gh.served.base_url}/api/v3/repos/{repo.full_name}/hooks"
    auth = {"Authorization": f"Bearer {_user_token(stack)}"}
    assert len(httpx.get(api, headers=auth).json()) == 1
    deleted = alice.client.delete(f"/api/projects/{stack.project['id']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert httpx.get(api, headers=auth).json() == []

    # The next push reaches NanoScale through the App only, and deploys nothing.
    mark = len(stack.gh.sim.state.deliveries)
    stack.gh.sim.commit(repo, "main", {"version.txt": "v6\n"})
    stack.wait_deliveries()
    (push,) = _pushes_since(stack, mark)
    assert push.target_type == "integration" and push.status_code == 200
    (row,) = _rows(stack, [push]).values()
    assert row.outcome == "ignored" and row.reason == "no linked project", row.reason
