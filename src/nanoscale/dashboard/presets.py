"""Command presets offered by the project form. Suggestions only: every field stays editable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COMMAND_FIELDS = ("install_command", "build_command", "start_command", "output_directory")

PRESETS: dict[str, dict[str, Any]] = {
    "node": {
        "label": "Node.js",
        "fields": {
            "install_command": "npm ci",
            "build_command": "npm run build --if-present",
            "start_command": "npm start",
            "output_directory": "",
        },
    },
    "nextjs": {
        "label": "Next.js",
        "fields": {
            "install_command": "npm ci",
            "build_command": "npm run build",
            "start_command": "npx next start -p $PORT",
            "output_directory": "",
        },
    },
    "python": {
        "label": "Python",
        "fields": {
            # A venv per release: Debian-style hosts refuse system-wide pip installs (PEP 668).
            "install_command": "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
            "build_command": "",
            "start_command": ".venv/bin/python app.py",
            "output_directory": "",
        },
    },
    "static": {
        "label": "Static site",
        "fields": {
            "install_command": "",
            "build_command": "",
            "start_command": "",
            "output_directory": "public",
        },
    },
}


def apply_preset(values: Mapping[str, str], preset: str) -> dict[str, str]:
    """Fill the command fields the user left empty from the chosen preset (no-JS fallback)."""
    merged = dict(values)
    chosen = PRESETS.get(preset)
    if chosen is None:
        return merged
    for name in COMMAND_FIELDS:
        if not merged.get(name):
            merged[name] = chosen["fields"][name]
    return merged
