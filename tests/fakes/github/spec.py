"""GitHub's published REST and webhook descriptions, and validation against them.

The descriptions come from the npm packages `@octokit/openapi` and `@octokit/openapi-webhooks`,
fetched with `npm pack` into `.cache/octokit/` (never committed) and loaded once per process.
Validation is a small path matcher plus `jsonschema`; the REST description is OpenAPI 3.0, so its
`nullable` keyword is rewritten to JSON Schema types first.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from .spec_cache import CACHE_DIR, fetch_description
from .spec_errata import (
    GENERIC_ERROR_STATUSES,
    UNDOCUMENTED_ALIASES,
    UNDOCUMENTED_STATUSES,
    apply_errata,
)

# Pinned so that a fidelity result is reproducible; bump deliberately.
REST_PACKAGE = "@octokit/openapi@23.0.2"
WEBHOOKS_PACKAGE = "@octokit/openapi-webhooks@12.1.0"
API_PREFIX = "/api/v3"
REST_URI = "urn:github:rest"
WEBHOOKS_URI = "urn:github:webhooks"


@dataclass
class ValidationResult:
    kind: str  # "response", "request" or "webhook"
    key: str  # operationId, or webhook name such as "push" / "installation-created"
    errors: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema, recursively (returns a new tree)."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_jsonschema(value) for key, value in node.items()}
    if out.get("nullable") is not True:
        return out
    del out["nullable"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [out, {"type": "null"}]}


# GitHub accepts these unencoded even when they contain slashes ("feature/x").
SLASHED_PARAMS = ("{branch}", "{ref}", "{path}")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [p for p in re.split(r"(\{[^}]+\})", template) if p]
    last = len(parts) - 1

    def piece(i: int, part: str) -> str:
        if not part.startswith("{"):
            return re.escape(part)
        return ".+" if i == last and part in SLASHED_PARAMS else "[^/]+"

    return re.compile("^" + "".join(piece(i, p) for i, p in enumerate(parts)) + "$")


class RestSpec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            REST_URI, referencing.jsonschema.DRAFT4.create_resource(document)
        )
        # Literal paths must win over templated ones (`/user/installations` vs `/user/{x}`).
        templates = sorted(document["paths"], key=lambda t: (t.count("{"), -len(t)))
        self.matchers = [(_template_regex(t), t) for t in templates]

    @classmethod
    @functools.cache
    def load(cls) -> RestSpec:
        raw = json.loads(
            fetch_description(REST_PACKAGE, CACHE_DIR / "api.github.com.json").read_text()
        )
        return cls(apply_errata(_nullable_to_jsonschema(raw)))

    def match(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        path = path.removeprefix(API_PREFIX) or "/"
        for regex, template in self.matchers:
            if regex.match(path) and method.lower() in self.document["paths"][template]:
                return template, self.document["paths"][template][method.lower()]
        for pattern, twin in UNDOCUMENTED_ALIASES.items():
            if re.match(pattern, path) and method.lower() in self.document["paths"][twin]:
                return twin, self.document["paths"][twin][method.lower()]
        return None

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _check(self, pointer: str, instance: Any) -> list[str]:
        schema = {"$ref": f"{REST_URI}#{pointer}"}
        validator = jsonschema.Draft4Validator(
            schema, registry=self.registry, format_checker=jsonschema.FormatChecker()
        )
        return [_describe(e) for e in validator.iter_errors(instance)]

    def validate_response(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> ValidationResult:
        found = self.match(method, path)
        if found is None and status == 404:  # GitHub's answer to a route it does not have
            result = ValidationResult("response", "unknown-route", detail="404")
            return self._check_json(result, "/components/schemas/basic-error", headers, body)
        if found is None:
            return ValidationResult("response", f"{method} {path}", ["undocumented operation"])
        template, op = found
        result = ValidationResult("response", op["operationId"], detail=f"{status}")
        responses = op["responses"]
        if status == 304 and method == "GET" and "304" not in responses:
            # GitHub answers any conditional GET whose ETag still matches with an empty 304.
            if body.strip():
                result.errors.append("a 304 must not have a body")
            return result
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            erratum = UNDOCUMENTED_STATUSES.get((op["operationId"], status))
            if erratum is not None:
                return self._check_json(result, f"/components/schemas/{erratum}", headers, body)
            if status not in GENERIC_ERROR_STATUSES:
                result.errors.append(f"status {status} not documented for {template}")
                return result
            pointer = "/components/schemas/basic-error"
            return self._check_json(result, pointer, headers, body)
        response = self._resolve(responses[key])
        content = response.get("content") or {}
        erratum = UNDOCUMENTED_STATUSES.get((op["operationId"], status))
        if not content and erratum is not None:
            return self._check_json(result, f"/components/schemas/{erratum}", headers, body)
        if not content:
            if body.strip():
                result.errors.append(f"status {status} documents no body but one was sent")
            return result
        media = next(iter(content))
        ref = responses[key].get("$ref")
        base = ref.removeprefix("#") if ref else f"/paths/{_esc(template)}/{method.lower()}"
        pointer = f"{base}/content/{_esc(media)}/schema"
        if not ref:
            pointer = f"{base}/responses/{key}/content/{_esc(media)}/schema"
        return self._check_json(result, pointer, headers, body)

    def _check_json(
        self, result: ValidationResult, pointer: str, headers: Mapping[str, str], body: bytes
    ) -> ValidationResult:
        ctype = _header(headers, "content-type")
        if not ctype.startswith("application/json"):
            result.errors.append(f"content-type {ctype!r} is not JSON")
            return result
        try:
            instance = json.loads(body)
        except ValueError as exc:
            result.errors.append(f"body is not JSON: {exc}")
            return result
        result.errors.extend(self._check(pointer, instance))
        return result

    def validate_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> ValidationResult:
        """Check a client's request (NanoScale's, typically) against the description."""
        found = self.match(method, path)
        if found is None:
            return ValidationResult("request", f"{method} {path}", ["undocumented operation"])
        template, op = found
        result = ValidationResult("request", op["operationId"])
        for raw_param in op.get("parameters", []):
            param = self._resolve(raw_param)
            if param["in"] == "query" and param.get("required") and param["name"] not in query:
                result.errors.append(f"missing required query parameter {param['name']}")
        request_body = self._resolve(op.get("requestBody", {}))
        if body.strip() and not request_body:
            result.errors.append("operation takes no request body")
        elif request_body:
            if not body.strip():
                if request_body.get("required"):
                    result.errors.append("request body required")
                return result
            ref = op["requestBody"].get("$ref")
            base = ref.removeprefix("#") if ref else f"/paths/{_esc(template)}/{method.lower()}"
            base = base if ref else f"{base}/requestBody"
            media = next(iter(request_body["content"]))
            try:
                instance = json.loads(body)
            except ValueError as exc:
                result.errors.append(f"request body is not JSON: {exc}")
                return result
            result.errors.extend(self._check(f"{base}/content/{_esc(media)}/schema", instance))
        return result


class WebhookSpec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            WEBHOOKS_URI, referencing.jsonschema.DRAFT202012.create_resource(document)
        )

    @classmethod
    @functools.cache
    def load(cls) -> WebhookSpec:
        path = fetch_description(WEBHOOKS_PACKAGE, CACHE_DIR / "webhooks.api.github.com.json")
        return cls(json.loads(path.read_text()))

    def validate(
        self, headers: Mapping[str, str], body: bytes, *, signed: bool = True
    ) -> ValidationResult:
        """Validate a delivery as sent on the wire: headers and raw body bytes.

        The description marks the signature header required, but GitHub only sends it for
        hooks that have a secret; `signed=False` says so.
        """
        event = _header(headers, "x-github-event")
        ctype = _header(headers, "content-type")
        try:
            if ctype.startswith("application/x-www-form-urlencoded"):
                from urllib.parse import parse_qs

                body = parse_qs(body.decode())["payload"][0].encode()
            payload = json.loads(body)
        except (ValueError, KeyError) as exc:
            return ValidationResult("webhook", event, [f"payload unreadable: {exc}"])
        action = payload.get("action") if isinstance(payload, dict) else None
        name = (event + (f"-{action}" if action else "")).replace("_", "-")
        if name not in self.document["webhooks"]:
            name = event.replace("_", "-")
        result = ValidationResult("webhook", name)
        hook = self.document["webhooks"].get(name)
        if hook is None:
            result.errors.append(f"unknown webhook {name}")
            return result
        op = hook["post"]
        for param in op.get("parameters", []):
            required_header = param["in"] == "header" and param.get("required")
            if not signed and param["name"].lower().startswith("x-hub-signature"):
                continue
            if required_header and not _header(headers, param["name"]):
                result.errors.append(f"missing header {param['name']}")
        pointer = f"/webhooks/{_esc(name)}/post/requestBody/content/application~1json/schema"
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{WEBHOOKS_URI}#{pointer}"},
            registry=self.registry,
            format_checker=jsonschema.FormatChecker(),
        )
        result.errors.extend(_describe(e) for e in validator.iter_errors(payload))
        return result


def _esc(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), "")


def _describe(error: jsonschema.ValidationError) -> str:
    best = jsonschema.exceptions.best_match([error, *(error.context or [])]) or error
    where = "/".join(str(p) for p in best.absolute_path) or "<root>"
    return f"{where}: {best.message[:300]}"
