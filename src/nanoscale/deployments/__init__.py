"""Deployment records, their state machine, the request/coalesce/lease queue and logs."""
