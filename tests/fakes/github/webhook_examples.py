"""The community's example webhook payloads (`@octokit/webhooks-examples`, MIT), fetched once
with `npm pack` like GitHub's OpenAPI descriptions (spec_cache.py) and cached outside git."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .spec_cache import CACHE_DIR, fetch_description

PACKAGE = "@octokit/webhooks-examples@7.6.1"
MEMBER = "package/api.github.com/index.json"


@dataclass(frozen=True)
class Example:
    event: str
    index: int  # position among this event's examples
    payload: dict[str, Any]

    @property
    def name(self) -> str:
        action = self.payload.get("action")
        return f"{self.event}-{self.index}" + (f"-{action}" if action else "")


def load_examples(events: tuple[str, ...]) -> list[Example]:
    """Every example of these events, in the package's order."""
    path = fetch_description(PACKAGE, CACHE_DIR / "webhooks-examples.json", member=MEMBER)
    families = {family["name"]: family for family in json.loads(path.read_text())}
    return [
        Example(event, index, payload)
        for event in events
        for index, payload in enumerate(families[event]["examples"])
    ]
