"""Generated webhook deliveries (hypothesis) over real HTTP to a real `nanoscale serve`, SQLite
and PostgreSQL: whatever a sender puts in a request, the answer is never a 5xx.

Half the deliveries are signed App deliveries, so they get past the signature check into parsing
and the event handlers; the rest test the refusals (401, and 429 once failures flood in). The
module has its own served stack: a generated lifecycle event may change what that stack knows."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.github.delivery_wire import sign
from tests.support.github_app import WEBHOOK_SECRET
from tests.support.served_github import ServedGitHub, served_github_stack

__all__ = ["served_github_stack"]
URL = "/api/integrations/github/webhook"
EVENTS = ["push", "ping", "installation", "installation_repositories", "repository",
          "github_app_authorization", "pull_request"]  # fmt: skip
KEYS = ["ref", "after", "before", "repository", "deleted", "action", "installation", "sender",
        "id", "repositories_removed", "repositories_added", "hook_id", "created"]  # fmt: skip

json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                max_size=6),
    max_leaves=20,
).map(lambda value: json.dumps(value).encode())  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    event=st.sampled_from(EVENTS) | st.text(max_size=40),
    guid=st.uuids().map(str) | st.text(max_size=40),
    hook=st.text(alphabet="0123456789-x", max_size=25),
    target=st.sampled_from(["integration", "repository", "", "bogus"]),
    body=st.binary(max_size=300) | json_bodies,
    signed=st.booleans(),
)
def test_generated_deliveries_never_get_a_server_error(
    served_github_stack: ServedGitHub,
    event: str,
    guid: str,
    hook: str,
    target: str,
    body: bytes,
    signed: bool,
) -> None:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": guid, "X-GitHub-Hook-ID": hook,
               "X-GitHub-Hook-Installation-Target-Type": target,
               "Content-Type": "application/json"}  # fmt: skip
    if signed:  # an App delivery with a good signature: on to parsing and the handlers
        headers["X-Hub-Signature-256"] = sign(WEBHOOK_SECRET, body)
        headers["X-GitHub-Hook-Installation-Target-Type"] = "integration"
    sendable = {k: v for k, v in headers.items() if v.isprintable() and v.isascii()}
    answer = httpx.post(served_github_stack.server.url + URL, content=body, headers=sendable,
                        timeout=10)  # fmt: skip
    assert answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    genuine_hook_id = hook.isdigit() and len(hook) < 19  # GitHub sends a number; else refused
    if signed and genuine_hook_id and _is_object(body) and all(sendable.get(h) for h in REQUIRED):
        # A well-formed App delivery is handled: an outcome, whatever the event says.
        assert answer.status_code in (200, 202), answer.text
        assert answer.json()["outcome"], answer.text


REQUIRED = ("X-GitHub-Event", "X-GitHub-Delivery")


def _is_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False
