"""The reporter's GitHub side: one job's steps, posted with an installation token narrowed to
the repository and to `deployments: write` or `statuses: write`.

- https://docs.github.com/en/rest/deployments/deployments#create-a-deployment: `ref` is the
  exact SHA, `environment` the project's name, `auto_merge: false` and `required_contexts: []`
  (NanoScale already deployed this commit; GitHub must neither merge nor gate it); a production,
  non-transient environment, since end users reach it.
- https://docs.github.com/en/rest/deployments/statuses#create-a-deployment-status: each step
  with `log_url` (the dashboard's deployment page) and, once live, `environment_url`;
  `auto_inactive: false`, because NanoScale says itself when a release stopped serving.
- https://docs.github.com/en/rest/commits/statuses#create-a-commit-status: context
  `nanoscale/<project>`, `target_url` the dashboard's deployment page.
"""

from __future__ import annotations

from collections.abc import Callable

from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.status_reports.modes import TOKEN_PERMISSIONS
from nanoscale.github.status_reports.scan import Job
from nanoscale.github.status_reports.states import DESCRIPTIONS

RATE_KEY = "installation"


def dashboard_url(base_url: str, job: Job) -> str:
    return f"{base_url}/projects/{job.project_id}/deployments/{job.deployment_id}"


def post_job(
    gateway: GitHubGateway,
    job: Job,
    *,
    base_url: str,
    created: Callable[[int], None],
    posted: Callable[[str], None],
) -> None:
    """Post every step of `job` in order; `created` saves a new GitHub deployment id and
    `posted` each state once GitHub accepted it, so a failure part-way resumes where it
    stopped. GitHub errors propagate (the caller backs off)."""
    token = gateway.installation_token(
        job.installation_id, repo_ids=[job.repo_id], permissions=TOKEN_PERMISSIONS[job.mode]
    )
    auth = f"Bearer {token}"
    log_url = dashboard_url(base_url, job)
    if job.mode == "statuses":
        for state in job.steps:
            status = {"state": state, "target_url": log_url, "description": DESCRIPTIONS[state],
                      "context": f"nanoscale/{job.project_name}"}  # fmt: skip
            gateway.request("POST", f"/repos/{job.full_name}/statuses/{job.sha}", auth=auth,
                            rate_key=RATE_KEY, json=status)  # fmt: skip
            posted(state)
        return
    deployment_id = job.github_deployment_id
    if deployment_id is None:
        body: dict[str, object] = {
            "ref": job.sha,
            "environment": job.project_name,
            "auto_merge": False,
            "required_contexts": [],
            "production_environment": True,  # what the project's users reach
            "transient_environment": False,
            "description": f"NanoScale deployment {job.deployment_id}",
            "payload": {"nanoscale_deployment_id": job.deployment_id},
        }
        answer = gateway.request("POST", f"/repos/{job.full_name}/deployments", auth=auth,
                                 rate_key=RATE_KEY, json=body)  # fmt: skip
        deployment_id = int(answer.json()["id"])
        created(deployment_id)
    for state in job.steps:
        step: dict[str, object] = {
            "state": state,
            "log_url": log_url,
            "description": DESCRIPTIONS[state],
            "auto_inactive": False,
        }
        if state == "success" and job.environment_url:
            step["environment_url"] = job.environment_url
        path = f"/repos/{job.full_name}/deployments/{deployment_id}/statuses"
        gateway.request("POST", path, auth=auth, rate_key=RATE_KEY, json=step)
        posted(state)
