"""Projects: what to deploy (source, commands, env vars, domain, port) and who owns it."""
