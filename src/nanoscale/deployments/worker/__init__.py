"""The worker side: `loop` runs the worker threads; `claims` takes a project's lease and its
newest queued deployment; `recovery` repairs what a dead orchestrator left and re-adopts live
releases; `runner` executes one deployment through the engine and writes its progress to the
record; `head` resolves a branch head; `teardown` stops everything of a project before it is
deleted."""
