"""The dashboard's GitHub health panel (admins, on /settings): the `nanoscale doctor` GitHub
checks (github/doctor.py) run for this server. They call GitHub, so they run after the
request's transaction ends, and the page answers within HEALTH_DEADLINE_SECONDS even if GitHub
hangs (each call also has the gateway's own timeout). Checks report names, URLs, counts and
fixes, never a secret."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import Forbidden
from nanoscale.github.doctor import Check, repository_hooks, run_github_checks
from nanoscale.github.runtime import gateway_for
from nanoscale.logs import get_logger

HEALTH_DEADLINE_SECONDS = 20.0
log = get_logger("nanoscale.github.health")


def check_github(
    db: Session, *, ctx: AppContext, user: User, deadline: float = HEALTH_DEADLINE_SECONDS
) -> list[Check]:
    """Each check with its status and fix; only an admin may run them (they read every
    project's hook and the App's delivery log)."""
    if not user.is_admin:
        raise Forbidden("only admins can check the GitHub App", code="admin_required")
    if not ctx.settings.github_configured:
        return [Check("github", False, "the GitHub App is not configured on this server",
                      "create it with Create GitHub App below, or set the NANOSCALE_GITHUB_* "
                      "variables (docs/github.md)")]  # fmt: skip
    hooks = repository_hooks(db)
    end_transaction(db)  # nothing stays locked while GitHub answers
    gateway = gateway_for(ctx)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="github-health")
    try:
        checks = pool.submit(run_github_checks, gateway, hooks=hooks).result(timeout=deadline)
    except FutureTimeout:
        log.warning("github.health.timeout", deadline_s=deadline)
        return [Check("github", False, f"GitHub did not answer every check within {deadline:.0f} s",
                      "check that this host reaches NANOSCALE_GITHUB_API_URL, then run "
                      "`nanoscale doctor` for the full report")]  # fmt: skip
    finally:
        pool.shutdown(wait=False)  # a hung call ends at the gateway's own timeout
    log.info("github.health.checked", failed=sum(not c.ok for c in checks), total=len(checks))
    return checks
