"""REST representations of branches, commits and repository hooks."""

from __future__ import annotations

from typing import Any

from . import gitstore
from .state import Hook, Repository, SimState, iso

JSON = dict[str, Any]


def branch_short_json(state: SimState, repo: Repository, name: str, sha: str) -> JSON:
    url = f"{state.api_url}/repos/{repo.full_name}/commits/{sha}"
    return {"name": name, "commit": {"sha": sha, "url": url}, "protected": False}


def branch_json(state: SimState, repo: Repository, name: str, sha: str) -> JSON:
    api = f"{state.api_url}/repos/{repo.full_name}"
    return {
        "name": name,
        "commit": commit_json(state, repo, sha),
        "_links": {
            "html": f"{state.base_url}/{repo.full_name}/tree/{name}",
            "self": f"{api}/branches/{name}",
        },
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {
                "enforcement_level": "off",
                "contexts": [],
                "checks": [],
            },
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


def commit_json(state: SimState, repo: Repository, sha: str) -> JSON:
    info = gitstore.commit_info(repo.path, sha)
    api = f"{state.api_url}/repos/{repo.full_name}"
    changes = gitstore.changed_files(repo.path, sha)
    files = [
        {
            "sha": sha,
            "filename": path,
            "status": kind,
            "additions": 0,
            "deletions": 0,
            "changes": 0,
            "blob_url": f"{state.base_url}/{repo.full_name}/blob/{sha}/{path}",
            "raw_url": f"{state.base_url}/{repo.full_name}/raw/{sha}/{path}",
            "contents_url": f"{api}/contents/{path}?ref={sha}",
        }
        for kind, paths in changes.items()
        for path in paths
    ]
    verification = {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }
    return {
        "sha": sha,
        "node_id": f"C_{sha[:20]}",
        "url": f"{api}/commits/{sha}",
        "html_url": f"{state.base_url}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": _git_person(info.author, iso(info.author_date)),
            "committer": _git_person(info.committer, iso(info.committer_date)),
            "message": info.message,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "comment_count": 0,
            "verification": verification,
        },
        "author": None,
        "committer": None,
        "parents": [
            {
                "sha": p,
                "url": f"{api}/commits/{p}",
                "html_url": f"{state.base_url}/{repo.full_name}/commit/{p}",
            }
            for p in info.parents
        ],
        "stats": {"additions": 0, "deletions": 0, "total": 0},
        "files": files,
    }


def _git_person(person: gitstore.Person, date: str) -> JSON:
    return {"name": person.name, "email": person.email, "date": date}


def hook_json(state: SimState, repo: Repository, hook: Hook) -> JSON:
    api = f"{state.api_url}/repos/{repo.full_name}/hooks/{hook.id}"
    config: JSON = {
        "content_type": hook.content_type,
        "insecure_ssl": hook.insecure_ssl,
        "url": hook.url,
    }
    if hook.secret:
        config["secret"] = "********"  # GitHub never echoes a secret back
    return {
        "type": "Repository",
        "id": hook.id,
        "name": "web",
        "active": hook.active,
        "events": list(hook.events),
        "config": config,
        "updated_at": iso(hook.updated_at),
        "created_at": iso(hook.created_at),
        "url": api,
        "test_url": f"{api}/test",
        "ping_url": f"{api}/pings",
        "deliveries_url": f"{api}/deliveries",
        "last_response": dict(hook.last_response),
    }
