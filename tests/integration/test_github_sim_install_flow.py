"""Install flow options: OAuth during installation, "Redirect on update", and requests from
organization members who cannot install."""

from __future__ import annotations

import re

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import (
    CALLBACK,
    bearer,
    exchange,
    form_fields,
    query_of,
    small_world,
)

SETUP = "http://127.0.0.1:9/github/setup"


def _submit(
    web: httpx.Client, login: str, account: str, repo_ids: list[int] | None = None
) -> httpx.Response:
    chooser = web.get("/apps/nanoscale/installations/new", params={"login": login, "state": "s1"})
    link = re.search(rf'data-login="{account}" href="([^"]+)"', chooser.text)
    assert link is not None, chooser.text
    page = web.get(link.group(1).replace("&amp;", "&"))
    data: dict[str, str | list[str]] = {**form_fields(page.text), "repository_selection": "all"}
    if repo_ids is not None:
        data |= {"repository_selection": "selected", "repository_ids": [str(r) for r in repo_ids]}
    return web.post("/apps/nanoscale/installations", data=data)


def _settings(web: httpx.Client, **settings: object) -> None:
    assert web.patch("/_sim/apps/nanoscale", json=settings).status_code == 200


def test_oauth_during_installation_sends_the_user_to_the_callback_with_a_code(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    _settings(github_web, request_oauth_on_install=True, setup_url=SETUP)
    done = _submit(github_web, "alice", "acme")
    assert done.status_code == 302 and done.headers["location"].startswith(f"{CALLBACK}?")
    back = query_of(done.headers["location"])
    assert back["setup_action"] == "install" and back["state"] == "s1"
    inst = github_sim.state.installations[int(back["installation_id"])]
    assert inst.account is world.org
    tokens = exchange(github_web, world.app, code=back["code"])
    listed = github_web.get("/api/v3/user/installations", headers=bearer(tokens["access_token"]))
    assert inst.id in [i["id"] for i in listed.json()["installations"]]


def test_updates_redirect_to_the_setup_url_only_with_redirect_on_update(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    _settings(github_web, setup_url=SETUP)
    quiet = _submit(github_web, "alice", "alice", [world.private.id])
    assert quiet.status_code == 200 and "updated" in quiet.text
    assert github_sim.state.installation_repos(world.installation) == [world.private]
    _settings(github_web, setup_on_update=True)
    moved = _submit(github_web, "alice", "alice", None)
    assert moved.status_code == 302 and moved.headers["location"].startswith(f"{SETUP}?")
    back = query_of(moved.headers["location"])
    assert back == {
        "installation_id": str(world.installation.id),
        "setup_action": "update",
        "state": "s1",
    }


def test_a_member_who_is_not_an_owner_can_only_request_the_app(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    _settings(github_web, setup_url=SETUP)
    asked = _submit(github_web, "bob", "acme")
    assert asked.status_code == 302
    assert query_of(asked.headers["location"]) == {"setup_action": "request", "state": "s1"}
    assert not [i for i in github_sim.state.live_installations() if i.account is world.org]
