"""REST and webhook representations of commit statuses and deployments (`status`,
`combined-commit-status`, `deployment`, `deployment-status`; the `status`, `deployment` and
`deployment_status` events)."""

from __future__ import annotations

from typing import Any

from . import gitstore
from .events import org_fields, short_installation, webhook_repo_json
from .payloads import account_json, app_json, repo_json
from .payloads_repo import commit_json
from .records import CommitStatus, Deployment, DeploymentStatus
from .state import Account, App, Installation, Repository, SimState, iso

JSON = dict[str, Any]
BOT_ID_OFFSET = 41_000_000  # Apps act as "<slug>[bot]" users with ids of their own


def bot_json(state: SimState, app: App) -> JSON:
    bot = Account(
        id=app.id + BOT_ID_OFFSET,
        login=f"{app.slug}[bot]",
        type="User",
        name=app.name,
        email=None,
        created_at=app.created_at,
    )
    return {**account_json(state, bot), "type": "Bot"}


def actor_json(state: SimState, account: Account | None, app: App | None) -> JSON:
    """Who did it: a user, or (for an installation token) the App's bot."""
    if account is not None:
        return account_json(state, account)
    assert app is not None
    return bot_json(state, app)


def status_json(state: SimState, repo: Repository, status: CommitStatus) -> JSON:
    creator = actor_json(state, status.creator, status.app)
    return {
        "url": f"{state.api_url}/repos/{repo.full_name}/statuses/{status.sha}",
        "avatar_url": creator["avatar_url"],
        "id": status.id,
        "node_id": f"SC_kwDO{status.id:010d}",
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at),
        "creator": creator,
    }


def combined_state(latest: list[CommitStatus]) -> str:
    """https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference"""
    states = {s.state for s in latest}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


def latest_per_context(statuses: list[CommitStatus]) -> list[CommitStatus]:
    newest: dict[str, CommitStatus] = {}
    for status in sorted(statuses, key=lambda s: s.id):
        newest[status.context] = status
    return sorted(newest.values(), key=lambda s: s.id, reverse=True)


def combined_json(
    state: SimState, repo: Repository, sha: str, statuses: list[CommitStatus]
) -> JSON:
    latest = latest_per_context(statuses)
    api = f"{state.api_url}/repos/{repo.full_name}"
    simple = [
        {k: v for k, v in status_json(state, repo, s).items() if k != "creator"}
        | {"required": False}
        for s in latest
    ]
    return {
        "state": combined_state(latest),
        "statuses": simple,
        "sha": sha,
        "total_count": len(latest),
        "repository": repo_json(state, repo),
        "commit_url": f"{api}/commits/{sha}",
        "url": f"{api}/commits/{sha}/status",
    }


def deployment_json(state: SimState, repo: Repository, deployment: Deployment) -> JSON:
    url = f"{state.api_url}/repos/{repo.full_name}/deployments/{deployment.id}"
    return {
        "url": url,
        "id": deployment.id,
        "node_id": f"DE_kwDO{deployment.id:010d}",
        "sha": deployment.sha,
        "ref": deployment.ref,
        "task": deployment.task,
        "payload": deployment.payload,
        "original_environment": deployment.environment,
        "environment": deployment.environment,
        "description": deployment.description,
        "creator": actor_json(state, deployment.creator, deployment.app),
        "created_at": iso(deployment.created_at),
        "updated_at": iso(deployment.updated_at),
        "statuses_url": f"{url}/statuses",
        "repository_url": f"{state.api_url}/repos/{repo.full_name}",
        "transient_environment": deployment.transient_environment,
        "production_environment": deployment.production_environment,
        "performed_via_github_app": app_json(state, deployment.app) if deployment.app else None,
    }


def deployment_status_json(
    state: SimState, repo: Repository, deployment: Deployment, status: DeploymentStatus
) -> JSON:
    deployment_url = f"{state.api_url}/repos/{repo.full_name}/deployments/{deployment.id}"
    return {
        "url": f"{deployment_url}/statuses/{status.id}",
        "id": status.id,
        "node_id": f"DES_kwDO{status.id:010d}",
        "state": status.state,
        "creator": actor_json(state, status.creator, status.app),
        "description": status.description,
        "environment": status.environment,
        "target_url": status.target_url,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at),
        "deployment_url": deployment_url,
        "repository_url": f"{state.api_url}/repos/{repo.full_name}",
        "environment_url": status.environment_url,
        "log_url": status.log_url,
        "performed_via_github_app": app_json(state, status.app) if status.app else None,
    }


def _common(state: SimState, repo: Repository, sender: JSON, inst: Installation | None) -> JSON:
    return {
        "repository": webhook_repo_json(state, repo),
        **org_fields(state, repo.owner),
        **short_installation(inst),
        "sender": sender,
    }


def status_event(
    state: SimState, repo: Repository, status: CommitStatus, inst: Installation | None
) -> JSON:
    body = status_json(state, repo, status)
    commit = commit_json(state, repo, status.sha)
    commit.pop("stats"), commit.pop("files")
    heads = gitstore.refs(repo.path, "refs/heads/")
    branches = [
        {"name": name, "commit": {"sha": head, "url": commit["url"]}, "protected": False}
        for name, head in heads
        if gitstore.is_ancestor(repo.path, status.sha, head)
    ][:10]
    return {
        **{k: body[k] for k in ("id", "target_url", "context", "description", "state")},
        "sha": status.sha,
        "name": repo.full_name,
        "commit": commit,
        "branches": branches,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        **_common(state, repo, body["creator"], inst),
    }


def deployment_event(
    state: SimState, repo: Repository, deployment: Deployment, inst: Installation | None
) -> JSON:
    body = deployment_json(state, repo, deployment)
    return {
        "action": "created",
        "deployment": body,
        "workflow": None,
        "workflow_run": None,
        **_common(state, repo, body["creator"], inst),
    }


def deployment_status_event(
    state: SimState,
    repo: Repository,
    deployment: Deployment,
    status: DeploymentStatus,
    inst: Installation | None,
) -> JSON:
    body = deployment_status_json(state, repo, deployment, status)
    return {
        "action": "created",
        "deployment_status": body,
        "deployment": deployment_json(state, repo, deployment),
        **_common(state, repo, body["creator"], inst),
    }
