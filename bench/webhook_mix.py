"""The delivery mix of the acknowledgement benchmark, built from deliveries the GitHub
simulator itself made (real commits, its headers and signatures), re-addressed as new events.

Per block of 20 deliveries: 6 distinct pushes to a linked project's `main`, each delivered by
the App's webhook and by the repository hook (same GUID, 12 deliveries); 2 redeliveries of
earlier push deliveries (same GUID and hook); 1 captured push body replayed under a new GUID;
1 ping; 4 that must not deploy (a push to another branch, a tag, a branch deletion, a `star`
event).
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from bench.served_bench_world import LinkedProject
from tests.fakes.github.delivery_wire import encode
from tests.fakes.github.gitstore import ZERO_SHA
from tests.fakes.github.simulator import GitHubSimulator
from tests.fakes.github.state import Delivery


@dataclass(frozen=True)
class Outgoing:
    kind: str  # push | push-copy | redelivery | replay | ping | ignored
    guid: str
    hook_id: int
    headers: dict[str, str]
    body: bytes
    push: tuple[str, str] | None = None  # (project id, after) this delivery announces


@dataclass
class Templates:
    main: Delivery  # App copy of a push to main
    main_hook: Delivery  # the repository hook's copy
    others: list[Delivery]  # App copies of pushes that must not deploy
    ping: Delivery


def templates(sim: GitHubSimulator, project: LinkedProject) -> Templates:
    """Real pushes on the simulator (deferred: nothing is sent) give realistic deliveries."""
    repo = project.repo
    sim.deliverer.pending.clear()
    sim.commit(repo, "main", {"NOTES.md": "template\n"})
    main, main_hook = sorted(sim.deliverer.pending, key=lambda d: d.target_type)
    sim.commit(repo, "feature/x", {"NOTES.md": "other branch\n"})
    sim.create_tag(repo, "v1.0.0")
    sim.delete_branch(repo, "feature/x")
    others = [d for d in sim.deliverer.pending[2:] if d.target_type == "integration"]
    star = replace(main, event="star", action="created",
                   payload={"action": "created", "starred_at": "2026-12-01T10:00:00Z",
                            "repository": main.payload["repository"],
                            "sender": main.payload["sender"]})  # fmt: skip
    encode(star)
    ping = next(
        d for d in sim.state.deliveries if d.event == "ping" and d.hook_id == project.hook_id
    )
    sim.deliverer.pending.clear()
    return Templates(main, main_hook, [*others, star], ping)


def _readdressed(template: Delivery, guid: str, **payload: Any) -> Delivery:
    body = copy.deepcopy(template.payload)
    body.update(payload)
    made = replace(template, guid=guid, payload=body)
    encode(made)  # new body, new signature with the template's secret
    return made


def _out(kind: str, d: Delivery, push: tuple[str, str] | None = None) -> Outgoing:
    return Outgoing(kind, d.guid, d.hook_id, dict(d.request_headers), d.body, push)


def _push_fields(template: Delivery, before: str, after: str) -> dict[str, Any]:
    head = copy.deepcopy(template.payload["head_commit"])
    assert isinstance(head, dict)
    head["id"] = after
    head["message"] = f"Change {after[:7]}: ünïcode survives the signature"
    return {"before": before, "after": after, "head_commit": head, "commits": [head]}


class _Mixer:
    def __init__(self, projects: list[LinkedProject], made: dict[str, Templates], seed: int):
        self.projects, self.made = projects, made
        self.rng = random.Random(seed)
        self.heads = {p.project_id: str(made[p.project_id].main.payload["after"]) for p in projects}
        self.sent: list[Outgoing] = []

    def block(self, kind: str) -> list[Outgoing]:
        project = self.rng.choice(self.projects)
        t = self.made[project.project_id]
        guid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        old = [o for o in self.sent[-400:-100] if o.push]  # answered a second or more ago
        if kind == "push":
            return self._push(project, t, guid)
        if kind == "redelivery" and old:
            return [replace(self.rng.choice(old), kind="redelivery")]
        if kind == "replay" and old:
            captured = self.rng.choice(old)
            headers = {**captured.headers, "X-GitHub-Delivery": guid}
            return [replace(captured, kind="replay", guid=guid, headers=headers)]
        if kind in ("ping", "redelivery", "replay"):  # the first second has nothing to repeat
            return [_out("ping", _readdressed(t.ping, guid))]
        template = self.rng.choice(t.others)
        fields = {}
        if template.event == "push" and template.payload.get("after") != ZERO_SHA:
            fields = {"after": self._sha()}
        return [_out("ignored", _readdressed(template, guid, **fields))]

    def _push(self, project: LinkedProject, t: Templates, guid: str) -> list[Outgoing]:
        after = self._sha()
        fields = _push_fields(t.main, self.heads[project.project_id], after)
        self.heads[project.project_id] = after
        key = (project.project_id, after)
        pair = [
            _out("push", _readdressed(t.main, guid, **fields), key),
            _out("push-copy", _readdressed(t.main_hook, guid, **fields), key),
        ]
        self.rng.shuffle(pair)  # either copy may arrive first, as on GitHub
        return pair

    def _sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"


def mix(
    projects: list[LinkedProject], made: dict[str, Templates], count: int, seed: int = 12
) -> Iterator[Outgoing]:
    """`count` deliveries in sending order."""
    mixer = _Mixer(projects, made, seed)
    kinds = ["push"] * 6 + ["redelivery"] * 2 + ["replay", "ping"] + ["ignored"] * 4
    produced = 0
    while produced < count:
        mixer.rng.shuffle(kinds)
        for kind in kinds:
            for item in mixer.block(kind):
                mixer.sent.append(item)
                yield item
                produced += 1
