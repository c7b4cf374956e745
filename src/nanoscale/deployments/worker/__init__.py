"""The worker side: `loop` claims queued deployments under the project lease and repairs
what a dead orchestrator left; `runner` executes one deployment through the engine and writes
its progress to the record; `teardown` stops everything of a project before it is deleted."""
