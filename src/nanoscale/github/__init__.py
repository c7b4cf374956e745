"""The GitHub App integration: connect, installations and repositories, deploy credentials."""
