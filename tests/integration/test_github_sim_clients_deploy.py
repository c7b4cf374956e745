"""githubkit (strict models) against the new operations: deployments, statuses, hook config,
installation lookup, manifest conversion and token revocation."""

from __future__ import annotations

from githubkit import AppAuthStrategy, GitHub, OAuthAppAuthStrategy, UnauthAuthStrategy
from githubkit.auth import BaseAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit_schemas.latest.models import Deployment

from tests.fakes.github import GitHubSimulator, ServedSimulator
from tests.fakes.github.manifest_flow import register
from tests.fakes.github.records import ManifestCode
from tests.fakes.github.testkit import small_world


def _kit(served: ServedSimulator, auth: BaseAuthStrategy) -> GitHub[BaseAuthStrategy]:
    return GitHub(
        auth,
        base_url=f"{served.base_url}/api/v3/",
        cache_strategy=MemCacheStrategy(),
        http_cache=False,
        auto_retry=False,
    )


def test_githubkit_reports_a_deployment_back_to_github(
    github_sim: GitHubSimulator, github_served: ServedSimulator
) -> None:
    world = small_world(github_sim)
    for holder in (world.app, world.installation):
        holder.permissions |= {"deployments": "write", "statuses": "write"}
    app_kit = _kit(github_served, AppAuthStrategy(world.app.id, world.app.private_key_pem.decode()))
    found = app_kit.rest.apps.get_repo_installation("alice", "app").parsed_data
    assert found.id == world.installation.id
    assert app_kit.rest.apps.get_webhook_config_for_app().parsed_data.content_type == "json"
    kit = app_kit.with_auth(app_kit.auth.as_installation(world.installation.id))
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    deployment = kit.rest.repos.create_deployment(
        "alice", "app", ref=sha, environment="production", auto_merge=False, required_contexts=[]
    ).parsed_data
    assert isinstance(deployment, Deployment) and deployment.sha == sha
    deployment_id = deployment.id
    kit.rest.repos.create_deployment_status(
        "alice", "app", deployment_id, state="success", environment_url="https://app.example"
    )
    statuses = kit.rest.repos.list_deployment_statuses("alice", "app", deployment_id).parsed_data
    assert [s.state for s in statuses] == ["success"]
    listed = kit.rest.repos.list_deployments("alice", "app", environment="production").parsed_data
    assert [d.id for d in listed] == [deployment_id]
    kit.rest.repos.create_commit_status("alice", "app", sha, state="success", context="deploy")
    combined = kit.rest.repos.get_combined_status_for_ref("alice", "app", "main").parsed_data
    assert (combined.state, combined.total_count) == ("success", 1)


def test_githubkit_converts_a_manifest_and_revokes_a_user_token(
    github_sim: GitHubSimulator, github_served: ServedSimulator
) -> None:
    world = small_world(github_sim)
    manifest = {"name": "Kit App", "url": "https://x.example", "redirect_url": "https://x/cb"}
    app = register(github_sim, world.alice, manifest)
    code = "kit-code"
    github_sim.state.manifest_codes[code] = ManifestCode(
        code, app, github_sim.state.clock.now().replace(year=2100)
    )
    anonymous = _kit(github_served, UnauthAuthStrategy())
    converted = anonymous.rest.apps.create_from_manifest(code)
    assert converted.parsed_data.slug == "kit-app" and converted.parsed_data.pem
    token, _ = github_sim.mint_user_token(world.app, world.alice)
    client = _kit(github_served, OAuthAppAuthStrategy(world.app.client_id, world.app.client_secret))
    assert (
        client.rest.apps.delete_token(world.app.client_id, access_token=token.token).status_code
        == 204
    )
    assert github_sim.state.user_tokens[token.token].revoked is True
