"""Pure rendering of a release's systemd unit and its environment file (tested by content).

The unit sandboxes the app: read-only system (`ProtectSystem=strict`) except its own release
directory, no home directories, private /tmp, no privilege gain, no capabilities, no new
namespaces, other processes invisible, and the project's memory, task and CPU limits in the
unit's own cgroup (`MemoryMax=`, `TasksMax=`, `CPUQuota=`).
Env var values live only in the EnvironmentFile (root-only, 0600), never in the unit or on a
command line; the unit holds just PORT and the release marker.
"""

from __future__ import annotations

import re

from nanoscale.engine.loader_env import is_loader_var
from nanoscale.engine.runtime.base import ReleaseSpec
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.procfs import MARKER_VAR

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HARDENING = (
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "NoNewPrivileges=yes",
    "ProtectProc=invisible",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectKernelLogs=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "UMask=0027",
)


def limit_lines(limits: ResourceLimits | None) -> list[str]:
    if limits is None:
        return []
    return [
        f"MemoryMax={limits.memory_bytes}",
        "MemorySwapMax=0",
        f"TasksMax={limits.max_processes}",
        f"CPUQuota={limits.cpu_percent}%",
    ]


# Only units under this prefix are NanoScale's to remove: an operator's own `nanoscale-*`
# units (the orchestrator's service itself, say) are never touched.
UNIT_PREFIX = "nanoscale-release-"


def unit_name(spec: ReleaseSpec) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", spec.project_name.lower()).strip("-")[:40] or "project"
    release = re.sub(r"[^A-Za-z0-9_-]+", "-", spec.deployment_id)
    return f"{UNIT_PREFIX}{slug}-{release}.service"


def _quote_exec_arg(text: str) -> str:
    """One ExecStart argument: C-style escapes inside double quotes, then systemd's own
    specifier (%) and variable ($) expansion disabled by doubling."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def _path_value(text: str) -> str:
    if any(c in text for c in "\n\"'\\") or text != text.strip():
        raise ValueError(f"unsupported character in path {text!r}")
    return text.replace("%", "%%")


def render_unit(
    spec: ReleaseSpec,
    *,
    user: str | None,
    env_file: str,
    grace_seconds: float = 10.0,
    limits: ResourceLimits | None = None,
) -> str:
    if spec.start_command is None:
        raise ValueError("static releases have no unit")
    workdir, log = _path_value(str(spec.workdir)), _path_value(str(spec.log_path))
    tree = _path_value(str(spec.tree or spec.workdir))
    identity = [f"User={user}", f"Group={user}"] if user else ["DynamicUser=yes"]
    lines = [
        "[Unit]",
        f"Description=NanoScale release {spec.deployment_id} of {spec.project_name}",
        "After=network.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        *identity,
        f"WorkingDirectory={workdir}",
        f"EnvironmentFile={_path_value(env_file)}",
        f"Environment=PORT={spec.port} {MARKER_VAR}={spec.deployment_id}",
        f"ExecStart=/bin/sh -c {_quote_exec_arg(spec.start_command)}",
        "Restart=on-failure",
        "RestartSec=2",
        f"TimeoutStopSec={max(1, round(grace_seconds))}",
        "KillMode=control-group",
        f"StandardOutput=append:{log}",
        f"StandardError=append:{log}",
        *HARDENING,
        *limit_lines(limits),
        f"ReadWritePaths={tree}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def render_env_file(env: dict[str, str]) -> str:
    """KEY="value" lines; backslash, quote, dollar and backtick escaped as systemd expects."""
    lines = []
    for key, value in sorted(env.items()):
        if not ENV_NAME.fullmatch(key) or is_loader_var(key):
            raise ValueError(f"invalid environment variable name {key!r}")
        escaped = value
        for char in ("\\", '"', "$", "`"):
            escaped = escaped.replace(char, "\\" + char)
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"
