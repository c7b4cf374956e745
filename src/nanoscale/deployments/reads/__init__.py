"""Read models: what pages and lists show, derived from the records in a fixed number of
queries (`status`: a project's status and URL; `overview`: the dashboard's counts and feed)."""
