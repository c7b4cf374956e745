"""Deployment status back on GitHub (issue 12 item 7), decoupled from the deploy path.

The worker knows nothing of GitHub: it only writes deployment states. A background reporter
(`reporter.py`) scans for deployments of GitHub-linked projects whose state differs from what
was last reported (`models.GitHubStatusReport`), and reports them outside any database
transaction with an installation token narrowed to the repository and to the one permission it
needs: a GitHub Deployment with statuses when the installation holds `deployments: write`
(`modes.py`), else a commit status with `statuses: write`, else nothing. GitHub being down or
refusing only delays (backoff) or ends reporting; it never blocks or fails a deployment.
"""
