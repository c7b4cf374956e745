"""POST /api/projects/{id}/github/check: "Check for new commits" for a GitHub project (the
reconciler's check of that one project: a missed branch head is deployed, the repository's
metadata refreshed, its hook repaired)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from nanoscale.api.contract import errors
from nanoscale.api.deps import Context, CurrentUser, DbSession
from nanoscale.github import reconciler

# 404: no such project, not a GitHub project, GitHub not configured or the repository gone;
# 409: the link is inactive; 502/503: GitHub refused the App, is down or rate-limiting.
router = APIRouter(prefix="/projects", tags=["projects"], responses=errors(409, 502, 503))


class CheckOut(BaseModel):
    project_id: str
    branch: str
    result: str  # up_to_date | deployed | archived | access_lost | error:<code>
    head_sha: str | None
    deployment_id: str | None  # set when this check requested a deployment
    hook: str | None  # the repository hook: ok | created | adopted | fixed | failed


@router.post("/{project_id}/github/check", response_model=CheckOut)
def check_for_commits(project_id: str, user: CurrentUser, db: DbSession, ctx: Context) -> CheckOut:
    check = reconciler.check_project(db, ctx=ctx, user=user, project_id=project_id)
    return CheckOut(project_id=check.project_id, branch=check.branch, result=check.result,
                    head_sha=check.head_sha, deployment_id=check.deployment_id,
                    hook=check.hook)  # fmt: skip
