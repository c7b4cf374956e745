"""Users, sessions, passwords, CSRF, API tokens and the audit log."""
