"""Creating the GitHub App from a manifest, against the simulator's manifest pages: a fresh
instance (no App in its environment) → an admin creates the App → connect → install → a private
repository deploys live, all without a restart; tampered, replayed and foreign states are
refused and store nothing; only an admin may start; the environment wins over the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from nanoscale.db.engine import session_scope
from nanoscale.github import app_models as am
from nanoscale.settings import Settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import App
from tests.fakes.github.testkit import form_fields, query_of
from tests.support.api import create_user, fast_password_hashing, login
from tests.support.cli import run_cli
from tests.support.github_app import PASSWORD, GitHubHarness, Person, github_harness
from tests.support.github_env import nanoscale_environment

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")
NO_APP = {
    "github_app_id": None,
    "github_app_client_id": None,
    "github_app_client_secret": None,
    "github_app_private_key_path": None,
    "github_webhook_secret": None,
}


@pytest.fixture
def fresh(
    make_settings: Callable[..., Settings],
    database_url: str,
    deploy_data_dir: Path,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[GitHubHarness]:
    """NanoScale with GitHub's URLs and a public base URL, but no App configured."""
    with github_harness(
        make_settings, github_sim, github_served, database_url=database_url,
        data_dir=deploy_data_dir, health_check_timeout_seconds=20, drain_seconds=0.2,
        lease_seconds=5, worker_poll_seconds=0.1, **NO_APP,
    ) as harness:  # fmt: skip
        yield harness
        harness.sim.deliverer.wait_idle()
        harness.recorder.assert_clean()


def _start(gh: GitHubHarness, person: Person, **body: Any) -> httpx.Response:
    return person.client.post(  # type: ignore[no-any-return]
        "/api/integrations/github/manifest", json=body, headers=person.headers
    )


def _create_on_github(gh: GitHubHarness, form: dict[str, str], login: str) -> str:
    """The admin's browser posts the form to GitHub and confirms; returns GitHub's redirect."""
    web = gh.sim_web()
    path = urlsplit(form["url"]).path
    page = web.post(path, data={"manifest": form["manifest"], "state": form["state"],
                                "login": login})  # fmt: skip
    assert page.status_code == 200, page.text
    confirmed = web.post(f"{path}/confirm", data=form_fields(page.text) | {"login": login})
    assert confirmed.status_code == 302, confirmed.text
    return str(confirmed.headers["location"])


def _back_to_nanoscale(person: Person, location: str) -> dict[str, str]:
    parts = urlsplit(location)
    answer = person.client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 303, answer.text
    return query_of(answer.headers["location"])


def _receive_deliveries(gh: GitHubHarness) -> None:
    """GitHub's deliveries reach this NanoScale (the App keeps the secret GitHub made)."""
    receiver = gh.person("alice").client

    def _post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        answer = receiver.post(urlsplit(url).path, content=body, headers=headers)
        return answer.status_code, dict(answer.headers), answer.text

    gh.sim.deliverer.transport = _post


def _registrations(gh: GitHubHarness) -> list[am.GitHubAppRegistration]:
    with session_scope(gh.ctx.sessions) as db:
        return list(db.scalars(select(am.GitHubAppRegistration)))


def test_fresh_instance_creates_the_app_connects_installs_and_deploys_without_restart(
    fresh: GitHubHarness,
) -> None:
    gh = fresh
    alice = gh.person("alice")
    _receive_deliveries(gh)
    assert alice.client.get("/api/integrations/github/app-config").json() == {
        "configured": False, "source": "none"}  # fmt: skip
    started = _start(gh, alice)
    assert started.status_code == 200, started.text
    form = started.json()
    assert form["url"] == f"{gh.served.base_url}/settings/apps/new"
    manifest = json.loads(form["manifest"])
    assert manifest["hook_attributes"]["url"] == "http://testserver/api/integrations/github/webhook"
    assert manifest["redirect_url"] == "http://testserver/api/integrations/github/manifest/callback"
    assert manifest["callback_urls"] == ["http://testserver/api/integrations/github/callback"]
    assert manifest["default_permissions"] == {
        "contents": "read",
        "metadata": "read",
        "repository_hooks": "write",
        "deployments": "write",
        "statuses": "write",
    }  # fmt: skip (status reporting: default on)
    assert manifest["default_events"] == ["push", "repository"]
    assert manifest["public"] is False and manifest["setup_on_update"] is True

    done = _back_to_nanoscale(alice, _create_on_github(gh, form, "octo-alice"))
    app: App = next(a for a in gh.sim.state.apps.values() if a.slug == done["app"])
    assert done["github"] == "app_created"
    assert alice.client.get("/api/integrations/github/app-config").json() == {
        "configured": True, "source": "database"}  # fmt: skip
    (row,) = _registrations(gh)
    assert row.github_app_id == app.id and row.client_id == app.client_id
    stored = " ".join(
        [row.client_secret_encrypted, row.webhook_secret_encrypted, row.private_key_encrypted]
    )
    for secret in (app.client_secret, app.webhook_secret, app.private_key_pem.decode()):
        assert secret not in stored  # encrypted at rest

    # Same process, no restart: connect, install and deploy a private repository.
    gh.world.app = app
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    body = {"name": "shop", "start_command": "python3 app.py",
            "github_source": {"installation_id": installation_id,
                              "repo_id": gh.world.app_repo.id}}  # fmt: skip
    created = alice.client.post("/api/projects", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    gh.run_until_idle()
    deployment = alice.client.get(f"/api/deployments/{created.json()['deployment_id']}").json()
    assert deployment["state"] == "live", deployment
    # The App's webhook secret from the conversion verifies GitHub's deliveries.
    gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v2\n"}, message="v2")
    assert gh.sim.deliverer.wait_idle()
    pushes = [d for d in gh.sim.state.deliveries if d.event == "push"]
    assert pushes and all(d.status_code in (200, 202) for d in pushes)


def test_doctor_checks_an_app_created_from_the_dashboard(
    fresh: GitHubHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    gh = fresh
    alice = gh.person("alice")
    done = _back_to_nanoscale(alice, _create_on_github(gh, _start(gh, alice).json(), "octo-alice"))
    app_vars = ("NANOSCALE_GITHUB_APP", "NANOSCALE_GITHUB_WEBHOOK")  # the stored App only
    for name, value in nanoscale_environment(gh.settings).items():
        if not name.startswith(app_vars):
            monkeypatch.setenv(name, value)
    output = run_cli("doctor").output
    assert f"ok    github app: {done['app']} (id " in output, output
    assert "ok    github permissions: " in output


def test_the_api_leaves_the_status_permissions_out_when_asked(fresh: GitHubHarness) -> None:
    alice = fresh.person("alice")
    started = _start(fresh, alice, status_reporting=False)
    assert started.status_code == 200, started.text
    manifest = json.loads(started.json()["manifest"])
    assert manifest["default_permissions"] == {
        "contents": "read", "metadata": "read", "repository_hooks": "write"}  # fmt: skip


def test_tampered_replayed_and_foreign_states_are_refused_and_store_nothing(
    fresh: GitHubHarness,
) -> None:
    gh = fresh
    alice, bob = gh.person("alice"), gh.person("bob")
    form = _start(gh, alice).json()
    location = _create_on_github(gh, form, "octo-alice")
    query = query_of(location)
    path = urlsplit(location).path

    tampered = _back_to_nanoscale(alice, f"{path}?code={query['code']}&state=x{query['state']}")
    assert tampered["github_error"] == "manifest_state_invalid"
    missing = _back_to_nanoscale(alice, f"{path}?code={query['code']}")
    assert missing["github_error"] == "manifest_state_invalid"
    assert _registrations(gh) == []

    assert _back_to_nanoscale(alice, location)["github"] == "app_created"
    replayed = _back_to_nanoscale(alice, location)
    assert replayed["github_error"] == "manifest_state_invalid"
    assert len(_registrations(gh)) == 1

    # Only an admin may start.
    assert _start(gh, bob).status_code == 403


def test_a_state_started_by_another_admin_is_refused(fresh: GitHubHarness) -> None:
    gh = fresh
    alice = gh.person("alice")
    create_user(alice.client, alice.headers, "carol", PASSWORD, is_admin=True)
    client = gh._client()
    carol = Person("carol", client, login(client, "carol", PASSWORD))
    location = _create_on_github(gh, _start(gh, alice).json(), "octo-alice")
    assert _back_to_nanoscale(carol, location)["github_error"] == "manifest_state_invalid"
    assert _registrations(gh) == []
    assert _back_to_nanoscale(alice, location)["github"] == "app_created"


def test_an_app_in_the_environment_wins_and_cannot_be_replaced(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> None:
    with github_harness(make_settings, github_sim, github_served,
                        database_url=database_url) as gh:  # fmt: skip
        alice = gh.person("alice")
        assert alice.client.get("/api/integrations/github/app-config").json() == {
            "configured": True, "source": "environment"}  # fmt: skip
        refused = _start(gh, alice)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "github_app_exists"


def test_the_settings_page_creates_the_app_for_an_admin_only(fresh: GitHubHarness) -> None:
    gh = fresh
    alice, bob = gh.person("alice"), gh.person("bob")
    page = alice.client.get("/settings")
    assert page.status_code == 200 and "Create GitHub App" in page.text
    start_form = page.text[page.text.index('action="/settings/github/app"') :]
    box = '<input type="checkbox" name="status_reporting" value="1" style="width:auto" checked>'
    assert box in start_form  # asking for the status permissions is the default
    fields = form_fields(start_form) | {"organization": ""}
    without = alice.client.post("/settings/github/app", data=fields)  # the box unticked
    wanted = json.loads(
        form_fields(without.text[without.text.index('id="github-manifest-form"') :])["manifest"]
    )
    assert "deployments" not in wanted["default_permissions"]
    assert "statuses" not in wanted["default_permissions"]
    prepared = alice.client.post("/settings/github/app", data=fields | {"status_reporting": "1"})
    assert prepared.status_code == 200, prepared.text
    continue_form = prepared.text[prepared.text.index('id="github-manifest-form"') :]
    wanted = json.loads(form_fields(continue_form)["manifest"])["default_permissions"]
    assert wanted["deployments"] == wanted["statuses"] == "write"
    assert f'action="{gh.served.base_url}/settings/apps/new"' in prepared.text
    hidden = form_fields(continue_form)
    form = {"url": f"{gh.served.base_url}/settings/apps/new", **hidden}
    done = _back_to_nanoscale(alice, _create_on_github(gh, form, "octo-alice"))
    assert done["github"] == "app_created"
    after = alice.client.get("/settings")
    assert 'data-github-app-source="database"' in after.text
    assert "Create GitHub App" not in after.text

    bob_page = bob.client.get("/settings").text
    assert "github-app" not in bob_page
    bob_fields = form_fields(bob_page) | {"organization": ""}  # bob's own CSRF token
    refused = bob.client.post("/settings/github/app", data=bob_fields)
    assert refused.status_code == 403
    assert "admin" in refused.text.lower()
