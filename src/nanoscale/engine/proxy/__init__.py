"""Reverse proxy backends: `caddy` (admin API, atomic route switches) and `none` (development)."""
