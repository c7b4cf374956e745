"""Git smart-HTTP and the push control API: real git clients, real push payloads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx

from tests.fakes.github import GitHubSimulator, ServedSimulator, gitstore
from tests.fakes.github.gitstore import ZERO_SHA
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import bearer, git, git_env, settled, small_world


def _pushes(sim: GitHubSimulator, receiver: WebhookReceiver) -> list[dict[str, object]]:
    """The App's push deliveries in the order the events happened (they arrive concurrently)."""
    return [json.loads(r.body) for r in settled(sim, receiver, "push", "/app")]


def test_public_repository_clones_anonymously_private_needs_a_token(
    github_sim: GitHubSimulator, github_served: ServedSimulator, tmp_path: Path
) -> None:
    world = small_world(github_sim)
    base, anonymous = github_served.base_url, git_env(github_served.base_url, None, tmp_path)
    assert (
        git(
            "clone", "-q", f"{base}/alice/site.git", str(tmp_path / "site"), env=anonymous
        ).returncode
        == 0
    )
    denied = git("clone", "-q", f"{base}/alice/app.git", str(tmp_path / "app"), env=anonymous)
    assert denied.returncode != 0 and "could not read Username" in denied.stderr
    token = github_sim.mint_installation_token(world.installation).token
    ok = git(
        "clone",
        "-q",
        f"{base}/alice/app.git",
        str(tmp_path / "app2"),
        env=git_env(base, token, tmp_path),
    )
    assert ok.returncode == 0, ok.stderr


def test_user_token_clones_repositories_the_user_can_access(
    github_sim: GitHubSimulator, github_served: ServedSimulator, tmp_path: Path
) -> None:
    world = small_world(github_sim)
    bob_token, _ = github_sim.mint_user_token(world.app, world.bob)
    env = git_env(github_served.base_url, bob_token.token, tmp_path)
    url = f"{github_served.base_url}/alice/app.git"
    assert git("clone", "-q", url, str(tmp_path / "a"), env=env).returncode != 0
    github_sim.add_collaborator(world.private, world.bob, "read")
    assert git("clone", "-q", url, str(tmp_path / "b"), env=env).returncode == 0


def test_shallow_single_branch_fetch_of_another_branch(
    github_sim: GitHubSimulator, github_served: ServedSimulator, tmp_path: Path
) -> None:
    world = small_world(github_sim)
    sha = github_sim.commit(world.private, "feature/x", {"feature.txt": "yes"})
    token = github_sim.mint_installation_token(world.installation).token
    env = git_env(github_served.base_url, token, tmp_path)
    dest = tmp_path / "shallow"
    url = f"{github_served.base_url}/alice/app.git"
    done = git("clone", "-q", "--depth", "1", "--branch", "feature/x", url, str(dest), env=env)
    assert done.returncode == 0, done.stderr
    assert git("rev-parse", "HEAD", env=env, cwd=dest).stdout.strip() == sha
    assert (dest / "feature.txt").read_text() == "yes"


def test_gzip_encoded_upload_pack_request_is_served(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    sha = github_sim.commit(world.public, "main", {"x": "y"})
    want = f"want {sha}\n"
    body = f"{len(want) + 4:04x}{want}00000009done\n".encode()
    resp = github_web.post(
        "/alice/site.git/git-upload-pack",
        content=gzip.compress(body),
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
        },
    )
    assert resp.status_code == 200 and b"PACK" in resp.content


def test_git_push_needs_contents_write_and_fires_one_push_event_per_ref(
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
    github_web: httpx.Client,
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    base, url = github_served.base_url, f"{github_served.base_url}/alice/app.git"
    refs = github_web.get("/alice/site.git/info/refs", params={"service": "git-receive-pack"})
    assert refs.status_code == 401  # pushing needs credentials, public repositories too
    reader = github_sim.mint_installation_token(world.installation).token  # contents: read
    work = tmp_path / "work"
    assert git("clone", "-q", url, str(work), env=git_env(base, reader, tmp_path)).returncode == 0
    head = github_sim.state.repos[world.private.id]
    before = gitstore.resolve(head.path, "refs/heads/main")
    ident = ["-c", "user.name=Alice", "-c", "user.email=alice@example.com"]
    made = git(*ident, "commit", "-q", "--allow-empty", "-m", "Ship it ✓", cwd=work,
               env=git_env(base, reader, tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    sha = git("rev-parse", "HEAD", cwd=work, env=git_env(base, None, tmp_path)).stdout.strip()

    denied = git("push", "-q", "origin", "main", cwd=work, env=git_env(base, reader, tmp_path))
    assert denied.returncode != 0 and "403" in denied.stderr
    assert gitstore.resolve(head.path, "refs/heads/main") == before

    world.installation.permissions["contents"] = "write"
    writer = git_env(base, github_sim.mint_installation_token(world.installation).token, tmp_path)
    pushed = git("push", "-q", "origin", "main", cwd=work, env=writer)
    assert pushed.returncode == 0, pushed.stderr
    assert git("tag", "v1", cwd=work, env=writer).returncode == 0
    assert git("push", "-q", "origin", "v1", cwd=work, env=writer).returncode == 0
    assert gitstore.resolve(head.path, "refs/heads/main") == sha
    branch, tag = _pushes(github_sim, webhook_receiver)
    assert (branch["ref"], branch["before"], branch["after"]) == ("refs/heads/main", before, sha)
    assert [c["message"] for c in branch["commits"]] == ["Ship it ✓"]  # type: ignore[attr-defined,index]
    assert (tag["ref"], tag["after"], tag["created"]) == ("refs/tags/v1", sha, True)

    github_sim.archive_repo(world.private)
    again = git("push", "-q", "origin", "main:other", cwd=work, env=writer)
    assert again.returncode != 0 and "403" in again.stderr


def test_commit_push_payload_lists_the_commit_and_its_files(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    before = github_sim.state.repos[world.private.id]
    sha = github_sim.commit(
        before, "main", {"new.txt": "n", "README.md": None}, message="Add new, drop README ✓"
    )
    (push,) = _pushes(github_sim, webhook_receiver)
    assert push["after"] == sha and push["created"] is False and push["forced"] is False
    (commit,) = push["commits"]  # type: ignore[misc]
    assert commit["added"] == ["new.txt"] and commit["removed"] == ["README.md"]
    assert commit["message"] == "Add new, drop README ✓"
    assert push["installation"] == {
        "id": world.installation.id,
        "node_id": push["installation"]["node_id"],
    }  # type: ignore[index]


def test_force_push_is_flagged_forced(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    first = github_sim.commit(world.private, "main", {"a": "1"})
    rewritten = github_sim.force_push(world.private, "main", files={"a": "rewritten"})
    _, forced = _pushes(github_sim, webhook_receiver)
    assert forced["before"] == first and forced["after"] == rewritten and forced["forced"] is True


def test_branch_and_tag_creation_and_deletion_push_events(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    control = "/_sim/repos/alice/app"
    sha = github_web.post(f"{control}/create-branch", json={"name": "release/1.x"}).json()["result"]
    github_web.post(f"{control}/create-tag", json={"name": "v1.2"})
    github_web.post(f"{control}/delete-branch", json={"name": "release/1.x"})
    github_web.post(f"{control}/delete-tag", json={"name": "v1.2"})
    created, tagged, deleted, untagged = _pushes(github_sim, webhook_receiver)
    assert (created["ref"], created["created"], created["after"], created["commits"]) == (
        "refs/heads/release/1.x",
        True,
        sha,
        [],
    )
    assert tagged["ref"] == "refs/tags/v1.2" and tagged["created"] is True
    assert (
        deleted["deleted"] is True
        and deleted["after"] == ZERO_SHA
        and deleted["head_commit"] is None
    )
    assert untagged["ref"] == "refs/tags/v1.2" and untagged["deleted"] is True
    token = github_sim.mint_installation_token(github_sim.state.live_installations()[0]).token
    branches = github_web.get("/api/v3/repos/alice/app/branches", headers=bearer(token))
    assert [b["name"] for b in branches.json()] == ["main"]


def test_branch_and_commit_endpoints_describe_the_pushed_commit(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    sha = github_sim.commit(world.private, "feature/x", {"f.txt": "f"}, message="Feature")
    auth = {
        "Authorization": f"token {github_sim.mint_installation_token(world.installation).token}"
    }
    branch = github_web.get("/api/v3/repos/alice/app/branches/feature/x", headers=auth).json()
    assert branch["name"] == "feature/x" and branch["commit"]["sha"] == sha
    commit = github_web.get(f"/api/v3/repos/alice/app/commits/{sha[:12]}", headers=auth).json()
    assert commit["sha"] == sha and commit["commit"]["message"] == "Feature"
    assert [f["filename"] for f in commit["files"]] == ["f.txt"]
    missing = github_web.get("/api/v3/repos/alice/app/commits/nope", headers=auth)
    assert missing.status_code == 422
