"""GitHub's webhooks: verify, record, hand pushes to the deployments service, answer fast."""
