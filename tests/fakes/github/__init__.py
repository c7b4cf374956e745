"""A local, spec-checked stand-in for github.com (REST, web flow, git smart-HTTP, webhooks).

Start with `GitHubSimulator` (in-process ASGI app) or `GitHubSimulator().serve()` (loopback
port); see `fixtures.py` for pytest fixtures and `spec.py` for validation against GitHub's
published OpenAPI and webhook descriptions.
"""

from .delivery import sign
from .pushes import SimError
from .recording import RecordingTransport, SpecRecorder
from .simulator import GitHubSimulator, ServedSimulator

__all__ = [
    "GitHubSimulator",
    "RecordingTransport",
    "ServedSimulator",
    "SimError",
    "SpecRecorder",
    "sign",
]
