"""Webhook payload builders (push, ping, installation, installation_repositories, repository)."""

from __future__ import annotations

from typing import Any

from . import gitstore
from .payloads import account_json, installation_json, repo_json
from .payloads_repo import hook_json
from .state import Account, Hook, Installation, Repository, SimState, iso, node_id

JSON = dict[str, Any]
ZEN = "Design for failure."


def webhook_repo_json(state: SimState, repo: Repository) -> JSON:
    body = repo_json(state, repo)
    body.pop("network_count")
    body.pop("subscribers_count")
    body.pop("organization", None)
    return body


def _push_repo_json(state: SimState, repo: Repository) -> JSON:
    """The push event's repository uses epoch seconds and a few legacy fields."""
    body = webhook_repo_json(state, repo)
    owner = repo.owner
    body["owner"] = {**body["owner"], "name": owner.login, "email": owner.email}
    body["created_at"] = int(repo.created_at.timestamp())
    body["pushed_at"] = int(repo.pushed_at.timestamp())
    body["stargazers"] = 0
    body["master_branch"] = repo.default_branch
    if owner.type == "Organization":
        body["organization"] = owner.login
    return body


def short_installation(inst: Installation | None) -> JSON:
    return {"installation": {"id": inst.id, "node_id": _inst_node(inst)}} if inst else {}


def _inst_node(inst: Installation) -> str:
    return node_id("Integration::Installation", inst.id)


def org_fields(state: SimState, account: Account) -> JSON:
    if account.type != "Organization":
        return {}
    api = f"{state.api_url}/orgs/{account.login}"
    return {
        "organization": {
            "login": account.login,
            "id": account.id,
            "node_id": account.node_id,
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{state.base_url}/avatars/u/{account.id}?v=4",
            "description": None,
        }
    }


def _commit_entry(state: SimState, repo: Repository, sha: str, *, distinct: bool) -> JSON:
    info = gitstore.commit_info(repo.path, sha)
    changes = gitstore.changed_files(repo.path, sha)
    return {
        "id": sha,
        "tree_id": info.tree,
        "distinct": distinct,
        "message": info.message,
        "timestamp": iso(info.committer_date),
        "url": f"{state.base_url}/{repo.full_name}/commit/{sha}",
        "author": {"name": info.author.name, "email": info.author.email},
        "committer": {"name": info.committer.name, "email": info.committer.email},
        **changes,
    }


def push_payload(
    state: SimState,
    repo: Repository,
    *,
    ref: str,
    before: str,
    after: str,
    forced: bool,
    commits: list[str],
    pusher: Account,
    installation: Installation | None,
) -> JSON:
    created, deleted = before == gitstore.ZERO_SHA, after == gitstore.ZERO_SHA
    entries = [_commit_entry(state, repo, sha, distinct=True) for sha in commits]
    head = None if deleted else _commit_entry(state, repo, after, distinct=True)
    compare = f"{state.base_url}/{repo.full_name}/compare/{before[:12]}...{after[:12]}"
    if created:
        compare = f"{state.base_url}/{repo.full_name}/commit/{after[:12]}"
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "repository": _push_repo_json(state, repo),
        "pusher": {"name": pusher.login, "email": pusher.email},
        **org_fields(state, repo.owner),
        **short_installation(installation),
        "sender": account_json(state, pusher),
        "created": created,
        "deleted": deleted,
        "forced": forced,
        "base_ref": None,
        "compare": compare,
        "commits": entries,
        "head_commit": head,
    }


def ping_payload(state: SimState, repo: Repository, hook: Hook, sender: Account) -> JSON:
    return {
        "zen": ZEN,
        "hook_id": hook.id,
        "hook": hook_json(state, repo, hook),
        "repository": webhook_repo_json(state, repo),
        **org_fields(state, repo.owner),
        "sender": account_json(state, sender),
    }


def meta_deleted_payload(state: SimState, repo: Repository, hook: Hook, sender: Account) -> JSON:
    """`meta.deleted`: the last delivery a deleted hook receives."""
    return {
        "action": "deleted",
        "hook_id": hook.id,
        "hook": hook_json(state, repo, hook),
        "repository": webhook_repo_json(state, repo),
        **org_fields(state, repo.owner),
        "sender": account_json(state, sender),
    }


def _brief_repo(repo: Repository) -> JSON:
    return {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
    }


def installation_payload(state: SimState, inst: Installation, action: str, sender: Account) -> JSON:
    body: JSON = {
        "action": action,
        "installation": installation_json(state, inst),
        **org_fields(state, inst.account),
        "sender": account_json(state, sender),
    }
    if action in ("created", "deleted", "suspend", "unsuspend"):
        body["repositories"] = [_brief_repo(r) for r in state.installation_repos(inst)]
    if action == "created":
        body["requester"] = None
    return body


def installation_repositories_payload(
    state: SimState,
    inst: Installation,
    *,
    added: list[Repository],
    removed: list[Repository],
    sender: Account,
) -> JSON:
    return {
        "action": "added" if added else "removed",
        "installation": installation_json(state, inst),
        "repository_selection": inst.repository_selection,
        "repositories_added": [_brief_repo(r) for r in added],
        "repositories_removed": [_brief_repo(r) for r in removed],
        "requester": None,
        **org_fields(state, inst.account),
        "sender": account_json(state, sender),
    }


def repository_payload(
    state: SimState,
    repo: Repository,
    action: str,
    *,
    sender: Account,
    installation: Installation | None,
    changes: JSON | None = None,
) -> JSON:
    body: JSON = {"action": action}
    if changes is not None:
        body["changes"] = changes
    return {
        **body,
        "repository": webhook_repo_json(state, repo),
        **org_fields(state, repo.owner),
        **short_installation(installation),
        "sender": account_json(state, sender),
    }
