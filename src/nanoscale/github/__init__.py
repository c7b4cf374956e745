"""GitHub App integration (client gateway, connect flow, installations, repositories, webhooks)."""
