"""The queue: how a request becomes a queued deployment (`requests`), the per-project lease
that lets one deployment of a project run at a time (`lease`), the conditional-UPDATE
primitive both rely on (`sql`), and the in-process nudge that wakes the workers (`wakeup`).
Internal: callers go through `nanoscale.deployments.service`."""
