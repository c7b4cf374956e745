"""What GitHub accepts for a repository webhook: event names, a URL, a content type, one hook
per URL. Follows https://docs.github.com/en/rest/repos/webhooks#create-a-repository-webhook and
https://docs.github.com/en/webhooks/webhook-events-and-payloads (the event names)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .state import Repository

# Events a repository webhook can subscribe to (organization-, App- and Marketplace-only events
# such as `installation` or `organization` are not offered on a repository).
HOOK_EVENTS = frozenset(
    [
        "branch_protection_configuration",
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "create",
        "delete",
        "dependabot_alert",
        "deploy_key",
        "deployment",
        "deployment_protection_rule",
        "deployment_review",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "fork",
        "gollum",
        "issue_comment",
        "issue_dependencies",
        "issues",
        "label",
        "member",
        "merge_group",
        "meta",
        "milestone",
        "package",
        "page_build",
        "project",
        "project_card",
        "project_column",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "push",
        "registry_package",
        "release",
        "repository",
        "repository_advisory",
        "repository_dispatch",
        "repository_import",
        "repository_ruleset",
        "repository_vulnerability_alert",
        "secret_scanning_alert",
        "secret_scanning_alert_location",
        "secret_scanning_scan",
        "security_and_analysis",
        "star",
        "status",
        "sub_issues",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_job",
        "workflow_run",
    ]
)
CONTENT_TYPES = ("json", "form")
Error = dict[str, Any]


def _error(message: str, field: str | None = None) -> Error:
    error: Error = {"resource": "Hook", "code": "custom", "message": message}
    if field is not None:
        error["field"] = field
    return error


def config_errors(config: dict[str, Any]) -> list[Error]:
    errors: list[Error] = []
    url = config.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(_error(f"Config url is not a valid URL: {url!r}", "url"))
    if config.get("content_type", "form") not in CONTENT_TYPES:
        errors.append(_error("Config content_type must be json or form", "content_type"))
    return errors


def event_errors(events: Any) -> list[Error]:
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        return [_error("Events must be a list of event names", "events")]
    unknown = [e for e in events if e != "*" and e not in HOOK_EVENTS]
    return [_error(f"{name} is not a valid event name", "events") for name in unknown]


def duplicate_errors(repo: Repository, url: str, *, except_id: int | None = None) -> list[Error]:
    if any(h.url == url and h.id != except_id for h in repo.hooks.values()):
        return [_error("Hook already exists on this repository")]
    return []
