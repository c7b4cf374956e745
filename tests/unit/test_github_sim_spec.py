"""The spec validator itself: it must reject what GitHub's descriptions reject."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.github.hook_rules import HOOK_EVENTS
from tests.fakes.github.spec import RestSpec, WebhookSpec, _nullable_to_jsonschema

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _example(name: str) -> dict[str, Any]:
    value: dict[str, Any] = RestSpec.load().document["components"]["examples"][name]["value"]
    return json.loads(json.dumps(value))


def _repo() -> dict[str, Any]:
    repo = _example("full-repository-default-response")
    repo["source"]["language"] = repo["parent"]["language"] = None  # the example itself omits it
    repo["language"] = None
    return repo


def _check(path: str, status: int, body: object, method: str = "GET") -> list[str]:
    raw = json.dumps(body).encode()
    return RestSpec.load().validate_response(method, path, status, JSON_HEADERS, raw).errors


def test_complete_repository_passes_and_incomplete_one_fails() -> None:
    assert _check("/api/v3/repos/octo/hello", 200, _repo()) == []
    broken = _repo()
    del broken["owner"]
    broken["private"] = "no"
    errors = _check("/api/v3/repos/octo/hello", 200, broken)
    assert any("'owner' is a required property" in e for e in errors)
    assert any("private" in e for e in errors)


def test_nullable_fields_accept_null_and_reject_other_types() -> None:
    repo = _repo()
    repo["description"] = None
    assert _check("/api/v3/repos/o/r", 200, repo) == []
    repo["description"] = 42
    assert _check("/api/v3/repos/o/r", 200, repo) != []


def test_nullable_rewrite_covers_types_enums_and_refs() -> None:
    converted = _nullable_to_jsonschema(
        {
            "a": {"type": "string", "nullable": True, "enum": ["x"]},
            "b": {"$ref": "#/x", "nullable": True},
        }
    )
    assert converted["a"] == {"type": ["string", "null"], "enum": ["x", None]}
    assert converted["b"] == {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}


def test_literal_paths_win_over_templates_and_branch_names_may_hold_slashes() -> None:
    spec = RestSpec.load()
    assert spec.match("GET", "/api/v3/user/installations")[0] == "/user/installations"  # type: ignore[index]
    assert (
        spec.match("GET", "/api/v3/repos/o/r/branches/feature/x")[0]
        == "/repos/{owner}/{repo}/branches/{branch}"
    )  # type: ignore[index]
    assert spec.match("GET", "/api/v3/no/such/thing") is None


def test_undocumented_status_and_wrong_content_type_are_failures() -> None:
    spec = RestSpec.load()
    assert spec.validate_response("GET", "/api/v3/repos/o/r", 418, JSON_HEADERS, b"{}").errors
    text = spec.validate_response(
        "GET", "/api/v3/repos/o/r", 200, {"Content-Type": "text/html"}, b"<p>"
    )
    assert text.errors == ["content-type 'text/html' is not JSON"]


def test_generic_error_statuses_are_checked_as_basic_error() -> None:
    ok = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
    assert _check("/api/v3/installation/repositories", 401, ok) == []
    assert _check("/api/v3/installation/repositories", 401, {"message": 401}) != []


def test_request_validation_flags_bad_bodies_and_unknown_operations() -> None:
    spec = RestSpec.load()
    path = "/api/v3/app/installations/1/access_tokens"
    assert spec.validate_request("POST", path, {}, {}, b'{"repository_ids": [1]}').ok
    assert not spec.validate_request("POST", path, {}, {}, b'{"repository_ids": "all"}').ok
    assert not spec.validate_request("GET", "/api/v3/made/up", {}, {}, b"").ok


def _headers(**extra: str) -> dict[str, str]:
    base = {
        "User-Agent": "GitHub-Hookshot/abc",
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Event": "push",
        "X-GitHub-Hook-Installation-Target-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Delivery": "d",
        "X-Hub-Signature-256": "sha256=00",
        "Content-Type": "application/json",
    }
    return base | extra


def test_webhook_validation_requires_payload_fields_and_headers() -> None:
    spec = WebhookSpec.load()
    result = spec.validate(_headers(), json.dumps({"ref": "refs/heads/main"}).encode())
    assert result.key == "push"
    assert any("'pusher' is a required property" in e for e in result.errors)
    no_sig = {k: v for k, v in _headers().items() if k != "X-Hub-Signature-256"}
    missing = spec.validate(no_sig, b"{}")
    assert "missing header X-Hub-Signature-256" in missing.errors
    unsigned = spec.validate(no_sig, b"{}", signed=False)
    assert "missing header X-Hub-Signature-256" not in unsigned.errors


def test_webhook_action_selects_the_schema() -> None:
    spec = WebhookSpec.load()
    result = spec.validate(_headers(**{"X-GitHub-Event": "installation"}), b'{"action": "created"}')
    assert result.key == "installation-created" and result.errors
    unknown = spec.validate(_headers(**{"X-GitHub-Event": "no_such_event"}), b"{}")
    assert unknown.errors == ["unknown webhook no-such-event"]


def test_every_event_a_repository_hook_accepts_is_a_published_webhook() -> None:
    published = {
        hook["post"]["operationId"].split("/")[0].replace("-", "_")
        for hook in WebhookSpec.load().document["webhooks"].values()
    }
    assert HOOK_EVENTS.issubset(published) and "push" in HOOK_EVENTS


def test_a_304_is_accepted_on_any_get_but_only_without_a_body() -> None:
    spec = RestSpec.load()
    assert spec.validate_response("GET", "/api/v3/repos/o/r/branches", 304, {}, b"").ok
    assert not spec.validate_response("GET", "/api/v3/repos/o/r/branches", 304, {}, b"{}").ok
    assert not spec.validate_response("POST", "/api/v3/repos/o/r/hooks", 304, {}, b"").ok
