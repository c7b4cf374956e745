"""Where GitHub's published description and GitHub's behaviour differ, and how validation copes.

Each entry says what GitHub does that the description does not (or gets wrong).
"""

from __future__ import annotations

from typing import Any

# Served by GitHub but absent from the description; validated as the documented twin.
UNDOCUMENTED_ALIASES = {r"^/repositories/\d+$": "/repos/{owner}/{repo}"}
# GitHub answers these on any endpoint (400: "Problems parsing JSON") even where the
# description does not list them; they are checked as `basic-error`.
GENERIC_ERROR_STATUSES = frozenset({400, 401, 403, 404, 429, 500, 502, 503, 504})
# Statuses GitHub sends on an operation whose description omits them, with the schema used.
UNDOCUMENTED_STATUSES = {
    # An invalid URL is refused like on the hook itself (the description lists only 200).
    ("repos/update-webhook-config-for-repo", 422): "validation-error",
    ("apps/update-webhook-config-for-app", 422): "validation-error",
    # An unknown SHA or state ("No commit found for SHA: ...") is a 422 (only 201 is listed).
    ("repos/create-commit-status", 422): "validation-error",
    # Documented without a body, but GitHub explains the conflict (merge or status checks).
    ("repos/create-deployment", 409): "basic-error",
}


def apply_errata(document: dict[str, Any]) -> dict[str, Any]:
    """Known slips in the published description, each fixed to match its own components.

    GET /app/installations inlines `account` as allOf[simple-user, enterprise] (an account
    would have to be both); the `installation` component says anyOf, as GitHub behaves.
    """
    op = document["paths"]["/app/installations"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    account = schema["items"]["properties"]["account"]
    for branch in account.get("anyOf", []):
        if "allOf" in branch:
            branch["anyOf"] = branch.pop("allOf")
    return document
