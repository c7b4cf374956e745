"""Runtime backends: how a built release runs (supervised process, systemd unit, or static)."""
