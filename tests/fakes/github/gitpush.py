"""`git push` over smart HTTP (`git-receive-pack`), with GitHub's rules, and the `push` events
it fires: https://docs.github.com/en/get-started/using-git/pushing-commits-to-a-remote-repository
and https://docs.github.com/en/webhooks/webhook-events-and-payloads#push (one event per ref a
push updates, tags included).

Pushing always needs credentials, public repositories too: Basic auth whose password is an
installation token or a user-to-server token
(https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation),
with `contents: write` on the repository; an archived repository is read-only
(https://docs.github.com/en/repositories/archiving-a-github-repository/archiving-repositories).
The event names the user of a user token as the pusher; an installation token's push is
attributed to the repository owner (GitHub names the App's bot, which the simulator lacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from . import gitstore
from .auth import AuthError, Credential, authenticate, can_see, permission
from .gitstore import ZERO_SHA
from .state import Repository, SimState

if TYPE_CHECKING:
    from .simulator import GitHubSimulator

UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="GitHub"'}
Backend = Callable[[], tuple[int, dict[str, str], bytes]]


def push_refusal(state: SimState, request: Request, repo: Repository) -> Response | Credential:
    """The pushing credential, or GitHub's refusal."""
    header = request.headers.get("authorization", "")
    if not header:
        return PlainTextResponse("Authentication required\n", 401, UNAUTHORIZED)
    try:
        cred = authenticate(state, header, "git")
    except AuthError:
        return PlainTextResponse("Invalid username or token.\n", 401, UNAUTHORIZED)
    if not can_see(state, cred, repo):
        return PlainTextResponse("Repository not found.\n", 404)
    if permission(state, cred, repo, "contents") != "write":
        who = cred.user.login if cred.user else "the installation"
        return PlainTextResponse(f"Permission to {repo.full_name}.git denied to {who}.\n", 403)
    if repo.archived:
        return PlainTextResponse("This repository was archived so it is read-only.\n", 403)
    return cred


def _heads_and_tags(repo: Repository) -> dict[str, str]:
    found: dict[str, str] = {}
    for prefix in ("refs/heads/", "refs/tags/"):
        found |= {f"{prefix}{name}": sha for name, sha in gitstore.refs(repo.path, prefix)}
    return found


def receive(
    simulator: GitHubSimulator, repo: Repository, cred: Credential, backend: Backend
) -> tuple[int, dict[str, str], bytes]:
    """Run `git-receive-pack`, then announce every ref it moved."""
    with simulator.state.lock:  # ref changes made meanwhile by the control API stay apart
        before = _heads_and_tags(repo)
        answer = backend()
        after = _heads_and_tags(repo)
        if before != after:
            repo.pushed_at = simulator.state.clock.now()
    for ref in sorted(set(before) | set(after)):
        old, new = before.get(ref, ZERO_SHA), after.get(ref, ZERO_SHA)
        if old != new:
            others = [sha for name, sha in after.items()
                      if name.startswith("refs/heads/") and name != ref]  # fmt: skip
            simulator.announce_push(repo, ref, old, new, cred.user, others=others)
    return answer
