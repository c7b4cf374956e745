"""App JWT rules and installation tokens: lifetime, narrowing, revocation, suspension."""

from __future__ import annotations

import re

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import bearer, small_world


def _mint(
    web: httpx.Client, sim: GitHubSimulator, inst_id: int, token: str | None = None, **body: object
) -> httpx.Response:
    app = sim.state.installations[inst_id].app
    headers = bearer(token or sim.app_jwt(app))
    return web.post(
        f"/api/v3/app/installations/{inst_id}/access_tokens", headers=headers, json=body or None
    )


def test_valid_app_jwt_mints_a_one_hour_token(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    resp = _mint(github_web, github_sim, world.installation.id)
    assert resp.status_code == 201
    body = resp.json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expires_at"])
    token = github_sim.state.installation_tokens[body["token"]]
    assert (token.expires_at - github_sim.state.clock.now()).total_seconds() == 3600
    me = github_web.get("/api/v3/app", headers=bearer(github_sim.app_jwt(world.app))).json()
    assert (me["id"], me["slug"], me["installations_count"]) == (world.app.id, "nanoscale", 1)


def test_jwt_living_longer_than_ten_minutes_is_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    token = github_sim.app_jwt(world.app, iat_offset=0, lifetime=601)
    resp = _mint(github_web, github_sim, world.installation.id, token)
    assert resp.status_code == 401 and "too far in the future" in resp.json()["message"]
    ok = github_sim.app_jwt(world.app, iat_offset=0, lifetime=600)
    assert _mint(github_web, github_sim, world.installation.id, ok).status_code == 201


def test_expired_jwt_is_refused(github_sim: GitHubSimulator, github_web: httpx.Client) -> None:
    world = small_world(github_sim)
    token = github_sim.app_jwt(world.app, iat_offset=-700, lifetime=600)
    resp = _mint(github_web, github_sim, world.installation.id, token)
    assert resp.status_code == 401 and "'exp'" in resp.json()["message"]


def test_jwt_issued_in_the_future_is_refused_beyond_small_skew(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    inst = world.installation.id
    assert (
        _mint(
            github_web, github_sim, inst, github_sim.app_jwt(world.app, iat_offset=30, lifetime=300)
        ).status_code
        == 201
    )
    late = _mint(
        github_web, github_sim, inst, github_sim.app_jwt(world.app, iat_offset=120, lifetime=300)
    )
    assert late.status_code == 401 and "'iat'" in late.json()["message"]


def test_jwt_signed_with_another_key_or_issuer_is_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = github_sim.app_jwt(world.app, key=pem)
    assert _mint(github_web, github_sim, world.installation.id, forged).status_code == 401
    wrong_iss = github_sim.app_jwt(world.app, iss="424242")
    assert _mint(github_web, github_sim, world.installation.id, wrong_iss).status_code == 401
    hs256 = jwt.encode(
        {"iss": str(world.app.id), "iat": 0, "exp": 1},
        "not-the-app-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert _mint(github_web, github_sim, world.installation.id, hs256).status_code == 401


def test_narrowed_token_sees_only_its_repository(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    body = _mint(
        github_web, github_sim, world.installation.id, repository_ids=[world.private.id]
    ).json()
    assert body["repository_selection"] == "selected"
    auth = bearer(body["token"])
    listed = github_web.get("/api/v3/installation/repositories", headers=auth).json()
    assert [r["name"] for r in listed["repositories"]] == ["app"]
    other = github_sim.add_repo(world.alice, "other", private=True)
    assert github_web.get(f"/api/v3/repos/alice/{other.name}", headers=auth).status_code == 404
    assert github_web.get("/api/v3/repos/alice/app", headers=auth).status_code == 200
    wide = bearer(_mint(github_web, github_sim, world.installation.id).json()["token"])
    assert github_web.get("/api/v3/repos/alice/other", headers=wide).status_code == 200


def test_narrowing_beyond_the_installation_is_rejected(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    foreign = github_sim.add_repo(world.bob, "foreign", private=True)
    by_id = _mint(github_web, github_sim, world.installation.id, repository_ids=[foreign.id])
    assert by_id.status_code == 422
    too_much = _mint(
        github_web, github_sim, world.installation.id, permissions={"administration": "write"}
    )
    assert too_much.status_code == 422 and "permissions" in too_much.json()["message"]


def test_permission_narrowing_is_enforced_after_minting(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    token = _mint(
        github_web, github_sim, world.installation.id, permissions={"contents": "read"}
    ).json()["token"]
    hook = {"config": {"url": "http://127.0.0.1:9/hook"}}
    refused = github_web.post("/api/v3/repos/alice/app/hooks", headers=bearer(token), json=hook)
    assert (
        refused.status_code == 403
        and refused.json()["message"] == "Resource not accessible by integration"
    )


def test_revoked_token_stops_working(github_sim: GitHubSimulator, github_web: httpx.Client) -> None:
    world = small_world(github_sim)
    auth = bearer(_mint(github_web, github_sim, world.installation.id).json()["token"])
    assert github_web.delete("/api/v3/installation/token", headers=auth).status_code == 204
    after = github_web.get("/api/v3/installation/repositories", headers=auth)
    assert after.status_code == 401 and after.json()["documentation_url"].startswith(
        "https://docs.github.com/"
    )


def test_installation_token_expires_after_one_hour(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    github_sim.state.clock.freeze()  # a slow machine must not age the token by itself
    auth = bearer(_mint(github_web, github_sim, world.installation.id).json()["token"])
    github_sim.state.clock.advance(3599)
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200
    github_sim.state.clock.advance(2)
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 401


def test_suspended_installation_cannot_mint_tokens(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    path = f"/api/v3/app/installations/{world.installation.id}"
    assert github_web.put(f"{path}/suspended", headers=jwt_auth).status_code == 204
    assert github_web.get(path, headers=jwt_auth).json()["suspended_at"] is not None
    assert _mint(github_web, github_sim, world.installation.id).status_code == 403
    assert github_web.delete(f"{path}/suspended", headers=jwt_auth).status_code == 204
    assert _mint(github_web, github_sim, world.installation.id).status_code == 201


def test_malformed_bodies_and_credentials_get_github_shaped_errors(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    path = f"/api/v3/app/installations/{world.installation.id}/access_tokens"
    jwt_auth = {**bearer(github_sim.app_jwt(world.app)), "Content-Type": "application/json"}
    broken = github_web.post(path, headers=jwt_auth, content=b"{not json")
    assert broken.status_code == 400 and broken.json()["message"] == "Problems parsing JSON"
    garbage = github_web.get(
        "/api/v3/installation/repositories", headers={"Authorization": "Basic !!"}
    )
    assert garbage.status_code == 401 and garbage.json()["message"] == "Bad credentials"
