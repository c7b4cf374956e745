"""Logs: the build log of a deployment (`build_log`: scrubbed, capped chunks in the
database, readable while written), the running release's own output (`release_output`, read
from files through `file_tail`), and the idle marker their followers yield (`pacing`)."""
