"""GitHub health checks (`nanoscale doctor`): each failure says what is wrong and the fix.

Read-only against GitHub: the App JWT (`GET /app`), GitHub's clock (`Date`), the App's
permissions and events (the optional status-reporting ones as information, never a failure),
its webhook URL (`GET /app/hook/config`) and each NanoScale repository hook's
(`GET /repos/{o}/{r}/hooks/{id}`) against the public base URL, recent failed App deliveries
(`GET /app/hook/deliveries`), rate-limit headroom, and https in production.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.errors import NanoScaleError
from nanoscale.github import models as m
from nanoscale.github.errors import GitHubAccessLost, GitHubAuthFailed
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hooks import HOOK_PERMISSIONS, WEBHOOK_PATH
from nanoscale.github.status_reports.modes import reporting_for

REQUIRED_PERMISSIONS = {"contents": "read", "metadata": "read", "repository_hooks": "write"}
REQUIRED_EVENTS = ("push", "repository")
MAX_SKEW_SECONDS = 30
RATE_HEADROOM = 0.1  # warn below a tenth of the hourly budget
RANK = {"read": 1, "write": 2, "admin": 3}
DOCS = "docs/github-operations.md"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class RepositoryHook:
    installation_id: int
    repo_id: int
    full_name: str
    hook_id: int


class _NoAuth(httpx.Auth):
    """GitHub answers unauthenticated calls too (and dates them)."""


def run_github_checks(gateway: GitHubGateway, *, hooks: list[RepositoryHook]) -> list[Check]:
    settings = gateway.settings
    expected = f"{settings.resolved_public_base_url}{WEBHOOK_PATH}"
    checks = [_https(gateway), _clock(gateway)]
    skewed = not checks[-1].ok
    try:
        app = gateway.request("GET", "/app", auth=f"Bearer {gateway.app_jwt()}", rate_key="app")
    except NanoScaleError as exc:
        return [*checks, _app_refused(gateway, exc, skewed=skewed)]
    body = app.json()
    checks.append(Check("github app", True, f"{body.get('slug')} (id {body.get('id')})"))
    checks += [_grants(body), _status_reporting(body), _rate_limit(app)]
    checks.append(_app_hook_url(gateway, body, expected))
    checks.append(_deliveries(gateway, expected))
    checks += [_repository_hook(gateway, hook, expected) for hook in hooks]
    return checks


def _https(gateway: GitHubGateway) -> Check:
    url = gateway.settings.resolved_public_base_url
    if gateway.settings.is_production and not url.startswith("https://"):
        return Check("github https", False, f"the public base URL {url} is not https",
                     "serve NanoScale over TLS and set NANOSCALE_PUBLIC_BASE_URL=https://...; "
                     "GitHub sends webhook secrets' signatures and OAuth codes there")  # fmt: skip
    return Check("github https", True, url)


def _clock(gateway: GitHubGateway) -> Check:
    try:
        answer = gateway.request("GET", "/rate_limit", auth=_NoAuth(), rate_key="anonymous")
        date = answer.headers.get("date")
    except NanoScaleError as exc:
        return Check("github clock", False, f"GitHub did not answer ({exc.code})",
                     "check that this host reaches NANOSCALE_GITHUB_API_URL")  # fmt: skip
    if not date:
        return Check("github clock", True, "GitHub sent no Date header; skew not measured")
    skew = (gateway.clock() - parsedate_to_datetime(date)).total_seconds()
    if abs(skew) > MAX_SKEW_SECONDS:
        side = "ahead of" if skew > 0 else "behind"
        return Check("github clock", False, f"this host's clock is {abs(skew):.0f} s {side} "
                     "GitHub's; App JWTs are refused",
                     "synchronise the clock with NTP (timedatectl set-ntp true)")  # fmt: skip
    return Check("github clock", True, f"within {abs(skew):.0f} s of GitHub's")


def _app_refused(gateway: GitHubGateway, exc: NanoScaleError, *, skewed: bool) -> Check:
    app_id = gateway.settings.github_app_id
    if skewed:
        return Check("github app", False, f"GitHub refused the App JWT ({exc.code})",
                     "fix the clock first (see github clock above)")  # fmt: skip
    if isinstance(exc, GitHubAuthFailed | GitHubAccessLost):
        return Check("github app", False, f"GitHub refused the App JWT for App {app_id}",
                     "the private key does not belong to this App: generate a key on the App's "
                     "settings page and point NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH at it, and "
                     "check NANOSCALE_GITHUB_APP_ID")  # fmt: skip
    return Check("github app", False, f"GitHub did not answer ({exc.code})",
                 "check that this host reaches NANOSCALE_GITHUB_API_URL")  # fmt: skip


def _grants(app: dict[str, Any]) -> Check:
    held = app.get("permissions") or {}
    missing = [f"{name}: {level}" for name, level in REQUIRED_PERMISSIONS.items()
               if RANK.get(str(held.get(name)), 0) < RANK[level]]  # fmt: skip
    missing += [f"event {e}" for e in REQUIRED_EVENTS if e not in (app.get("events") or [])]
    if missing:
        return Check("github permissions", False, "the App lacks " + ", ".join(missing),
                     "on the App's settings page (Permissions & events) grant them, then accept "
                     "the new permissions on each installation")  # fmt: skip
    return Check(
        "github permissions", True, "contents, metadata, repository hooks; push, repository"
    )


def _status_reporting(app: dict[str, Any]) -> Check:
    """Optional permissions: without them deployments are not shown on GitHub, which is
    information, not a failure."""
    reporting = reporting_for(app.get("permissions") or {})
    if reporting.mode == "deployments":
        return Check("github status reporting", True, "on: GitHub Deployments with statuses")
    if reporting.mode == "statuses":
        return Check("github status reporting", True, "on: commit statuses only (grant "
                     "deployments: write for GitHub Deployments)")  # fmt: skip
    return Check("github status reporting", True, "off: grant deployments: write (or statuses: "
                 "write) on the App's settings page to show deployments on GitHub")  # fmt: skip


def _rate_limit(answer: httpx.Response) -> Check:
    remaining, limit = (
        answer.headers.get("x-ratelimit-remaining"),
        answer.headers.get("x-ratelimit-limit"),
    )
    if not (remaining and limit and remaining.isdigit() and limit.isdigit()):
        return Check("github rate limit", True, "not reported")
    if int(remaining) < int(limit) * RATE_HEADROOM:
        return Check("github rate limit", False, f"{remaining} of {limit} requests left this hour",
                     "wait for the reset; find what calls GitHub so often in the logs")  # fmt: skip
    return Check("github rate limit", True, f"{remaining} of {limit} requests left this hour")


def _app_hook_url(gateway: GitHubGateway, app: dict[str, Any], expected: str) -> Check:
    config = gateway.request("GET", "/app/hook/config", auth=f"Bearer {gateway.app_jwt()}",
                             rate_key="app").json()  # fmt: skip
    url = config.get("url") or "(none)"
    if url != expected:
        return Check("github app webhook", False, f"the App's webhook URL is {url}",
                     f"set the Webhook URL on the App's settings page ({app.get('html_url')}) "
                     f"to {expected}, or NANOSCALE_PUBLIC_BASE_URL to the address GitHub "
                     "should use")  # fmt: skip
    return Check("github app webhook", True, url)


def _deliveries(gateway: GitHubGateway, expected: str) -> Check:
    items = gateway.request("GET", "/app/hook/deliveries", auth=f"Bearer {gateway.app_jwt()}",
                            rate_key="app", params={"per_page": 50}).json()  # fmt: skip
    failed = Counter(int(d.get("status_code") or 0) for d in items
                     if not 200 <= int(d.get("status_code") or 0) < 300)  # fmt: skip
    if not failed:
        return Check("github deliveries", True, f"the last {len(items)} succeeded")
    codes = ", ".join(f"{n} x {code or 'no answer'}" for code, n in sorted(failed.items()))
    return Check("github deliveries", False,
                 f"{sum(failed.values())} of the last {len(items)} failed ({codes})",
                 _delivery_fix(failed.most_common(1)[0][0], expected))  # fmt: skip


def _delivery_fix(code: int, expected: str) -> str:
    if code == 401:
        return ("signature mismatch: NANOSCALE_GITHUB_WEBHOOK_SECRET must equal the App's "
                "webhook secret (while rotating, set NANOSCALE_GITHUB_WEBHOOK_SECRET_PREVIOUS "
                "to the old one); the proxy must pass the raw body unchanged")  # fmt: skip
    if code == 413:
        return "raise the reverse proxy's request body limit to at least 25 MiB"
    if code == 0:
        return (f"GitHub cannot reach {expected}: check DNS, TLS, the firewall, the reverse "
                f"proxy or the tunnel ({DOCS})")  # fmt: skip
    return f"the reverse proxy must forward {expected} to NanoScale; see NanoScale's logs"


def _repository_hook(gateway: GitHubGateway, hook: RepositoryHook, expected: str) -> Check:
    name = f"github hook {hook.full_name}"
    try:
        token = gateway.installation_token(
            hook.installation_id, repo_ids=[hook.repo_id], permissions=HOOK_PERMISSIONS
        )
        found = gateway.request("GET", f"/repos/{hook.full_name}/hooks/{hook.hook_id}",
                                auth=f"Bearer {token}", rate_key="installation").json()  # fmt: skip
    except GitHubAccessLost:
        return Check(name, False, f"hook {hook.hook_id} is gone or out of reach",
                     "check the App is still installed on the repository, then recreate the "
                     "project from GitHub to get a new hook")  # fmt: skip
    except NanoScaleError as exc:
        return Check(name, False, f"could not read hook {hook.hook_id} ({exc.code})",
                     "check the App's repository_hooks permission there")  # fmt: skip
    url = (found.get("config") or {}).get("url")
    if url != expected:
        return Check(name, False, f"hook {hook.hook_id} delivers to {url}",
                     f"change its Payload URL on GitHub (repository Settings → Webhooks) to "
                     f"{expected}")  # fmt: skip
    return Check(name, True, f"hook {hook.hook_id} delivers to {url}")


def repository_hooks(db: Session) -> list[RepositoryHook]:
    """NanoScale's repository hooks, one per hook id."""
    found: dict[int, RepositoryHook] = {}
    query = select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.webhook_id.is_not(None))
    for link in db.scalars(query.order_by(m.ProjectGitHubLink.full_name)):
        assert link.webhook_id is not None
        found.setdefault(link.webhook_id, RepositoryHook(
            link.installation_id, link.repo_id, link.full_name, link.webhook_id))  # fmt: skip
    return list(found.values())
