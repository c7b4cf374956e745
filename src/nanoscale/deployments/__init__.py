"""Deployments: turning a project's commit into its running release.

Callers (API, dashboard, CLI, GitHub webhooks) use `service` only: permission-checked
functions for users, and `service.request_deployment`, the trusted entry for system callers.

    models.py, states.py   the records (deployment, log chunks, lease) and their vocabulary
    service.py             the public face
    credentials.py         which git credential a project's fetches use (per source provider)
    backends.py            the runtime and proxy chosen by settings, shared per orchestrator
    releases.py            bridges from records to the engine (job snapshot, handles, routes)
    queue/                 request rules, the per-project lease, waking the workers
    worker/                the claiming loop, the runner of one deployment, project teardown
    reads/                 read models: project status and URL, the dashboard overview
    logs/                  the build log and the running release's own output
"""
