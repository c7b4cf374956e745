"""REST representations, complete enough for strict clients (githubkit) and GitHub's schemas."""

from __future__ import annotations

from typing import Any

from .state import Account, App, Installation, Repository, SimState, iso

JSON = dict[str, Any]

_REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def account_json(state: SimState, account: Account) -> JSON:
    """simple-user: GitHub uses this shape for users and organizations as owners."""
    api, login = state.api_url, account.login
    users = f"{api}/users/{login}"
    return {
        "login": login,
        "id": account.id,
        "node_id": account.node_id,
        # GHES form (served by avatars.py); github.com uses avatars.githubusercontent.com
        "avatar_url": f"{state.base_url}/avatars/u/{account.id}?v=4",
        "gravatar_id": "",
        "url": f"{api}/orgs/{login}" if account.type == "Organization" else users,
        "html_url": f"{state.base_url}/{login}",
        "followers_url": f"{users}/followers",
        "following_url": f"{users}/following{{/other_user}}",
        "gists_url": f"{users}/gists{{/gist_id}}",
        "starred_url": f"{users}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{users}/subscriptions",
        "organizations_url": f"{users}/orgs",
        "repos_url": f"{users}/repos",
        "events_url": f"{users}/events{{/privacy}}",
        "received_events_url": f"{users}/received_events",
        "type": account.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user_json(state: SimState, user: Account) -> JSON:
    """GET /user for the authenticated user (the `private-user` schema)."""
    owned = [r for r in state.repos.values() if r.owner is user and not r.deleted]
    return {
        **account_json(state, user),
        "user_view_type": "private",
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": user.email,
        "notification_email": user.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": sum(not r.private for r in owned),
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.created_at),
        "private_gists": 0,
        "total_private_repos": sum(r.private for r in owned),
        "owned_private_repos": sum(r.private for r in owned),
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": True,
        "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
    }


def repo_urls(state: SimState, repo: Repository) -> JSON:
    api = f"{state.api_url}/repos/{repo.full_name}"
    urls = {key: api + suffix for key, suffix in _REPO_URL_TEMPLATES.items()}
    host = state.base_url.split("://", 1)[1]
    return {
        **urls,
        "url": api,
        "html_url": f"{state.base_url}/{repo.full_name}",
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host}:{repo.full_name}.git",
        "clone_url": f"{state.base_url}/{repo.full_name}.git",
        "svn_url": f"{state.base_url}/{repo.full_name}",
    }


def permissions_json(level: str) -> JSON:
    rank = ["read", "triage", "write", "maintain", "admin"]
    held = rank.index(level) if level in rank else -1
    return {
        "admin": held >= 4,
        "maintain": held >= 3,
        "push": held >= 2,
        "triage": held >= 1,
        "pull": held >= 0,
    }


def repo_json(state: SimState, repo: Repository, *, permission: str | None = None) -> JSON:
    """A `full-repository`, which also satisfies `repository` and `minimal-repository`."""
    # Any branch at all means content; checked on disk to keep list endpoints subprocess-free.
    heads = repo.path / "refs" / "heads"
    has_refs = (repo.path / "packed-refs").exists() or any(p.is_file() for p in heads.rglob("*"))
    size = 1 if has_refs else 0
    body: JSON = {
        "id": repo.id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": account_json(state, repo.owner),
        "private": repo.private,
        "description": repo.description,
        "fork": False,
        **repo_urls(state, repo),
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": size,
        "default_branch": repo.default_branch,
        "open_issues_count": 0,
        "open_issues": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": repo.archived,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "mirror_url": None,
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "pushed_at": iso(repo.pushed_at),
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "network_count": 0,
        "subscribers_count": 0,
    }
    if permission is not None:
        body["permissions"] = permissions_json(permission)
    if repo.owner.type == "Organization":
        body["organization"] = account_json(state, repo.owner)
    return body


def app_json(state: SimState, app: App) -> JSON:
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": f"A_kwDO{app.id:08d}",
        "client_id": app.client_id,
        "owner": account_json(state, app.owner),
        "name": app.name,
        "description": app.description,
        "external_url": app.external_url or state.base_url,
        "html_url": f"{state.base_url}/apps/{app.slug}",
        "created_at": iso(app.created_at),
        "updated_at": iso(app.created_at),
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "installations_count": len([i for i in state.live_installations() if i.app is app]),
    }


def installation_json(state: SimState, inst: Installation) -> JSON:
    account = inst.account
    settings = (
        f"{state.base_url}/organizations/{account.login}/settings/installations/{inst.id}"
        if account.type == "Organization"
        else f"{state.base_url}/settings/installations/{inst.id}"
    )
    return {
        "id": inst.id,
        "client_id": inst.app.client_id,
        "account": account_json(state, account),
        "repository_selection": inst.repository_selection,
        "access_tokens_url": f"{state.api_url}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{state.api_url}/installation/repositories",
        "html_url": settings,
        "app_id": inst.app.id,
        "app_slug": inst.app.slug,
        "target_id": account.id,
        "target_type": account.type,
        "permissions": dict(inst.permissions),
        "events": list(inst.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": account_json(state, inst.suspended_by) if inst.suspended_by else None,
        "suspended_at": iso(inst.suspended_at) if inst.suspended_at else None,
    }
