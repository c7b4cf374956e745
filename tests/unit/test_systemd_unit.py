"""The systemd unit and env file NanoScale writes for a release (pure rendering), checked by
content and, where the binary exists, by `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nanoscale.engine.runtime.base import ReleaseSpec
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.systemd_unit import render_env_file, render_unit, unit_name

SECRET = "s3cret-env-value"


def make_spec(tmp_path: Path, command: str = "node server.js") -> ReleaseSpec:
    workdir = tmp_path / "releases" / "d42"
    workdir.mkdir(parents=True, exist_ok=True)
    return ReleaseSpec(
        project_id="p1",
        project_name="My Blog",
        deployment_id="d42",
        workdir=workdir,
        start_command=command,
        static_root=None,
        env={"API_TOKEN": SECRET},
        port=30001,
        run_as="ns-my-blog",
        log_path=tmp_path / "logs" / "d42.log",
    )


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("["):
            found.setdefault(key, []).append(value)
    return found


def test_unit_is_hardened_and_writable_only_in_its_release_dir(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    d = directives(render_unit(spec, user="ns-my-blog", env_file="/var/lib/ns/d42.env"))
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectProc": "invisible",
        "Restart": "on-failure",
        "User": "ns-my-blog",
        "Group": "ns-my-blog",
    }.items():
        assert d[key] == [value], key
    assert d["ReadWritePaths"] == [str(spec.workdir)]
    assert d["WorkingDirectory"] == [str(spec.workdir)]
    assert d["EnvironmentFile"] == ["/var/lib/ns/d42.env"]
    assert d["Environment"] == ["PORT=30001 NANOSCALE_RELEASE=d42"]


def test_env_values_are_never_in_the_unit(tmp_path: Path) -> None:
    unit = render_unit(make_spec(tmp_path), user="ns-my-blog", env_file="/x.env")
    assert SECRET not in unit
    assert "API_TOKEN" not in unit


def test_start_command_is_quoted_against_systemd_expansion(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, command='node s.js --greet "hi $USER" 100%')
    d = directives(render_unit(spec, user=None, env_file="/x.env"))
    assert d["ExecStart"] == ['/bin/sh -c "node s.js --greet \\"hi $$USER\\" 100%%"']
    assert d["DynamicUser"] == ["yes"]


def test_env_file_escapes_values_for_systemd(tmp_path: Path) -> None:
    text = render_env_file({"B": 'a "quoted" $VAR `x` \\ end', "A": "line1\nline2"})
    assert text == 'A="line1\nline2"\nB="a \\"quoted\\" \\$VAR \\`x\\` \\\\ end"\n'
    with pytest.raises(ValueError, match="invalid environment variable name"):
        render_env_file({"NOT-VALID": "x"})


def test_unit_names_are_safe_and_distinct_per_release(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    assert unit_name(spec) == "nanoscale-release-my-blog-d42.service"


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, command='echo "$PORT" 50%')
    env_file = tmp_path / "d42.env"
    env_file.write_text(render_env_file(dict(spec.env)))
    unit_path = tmp_path / unit_name(spec)
    unit_path.write_text(render_unit(spec, user="root", env_file=str(env_file)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if any(word in line for word in ("ignoring", "Unknown", "Failed", "not executable"))
    ]
    assert result.returncode == 0, result.stderr
    assert problems == []


def test_unit_carries_the_project_limits_and_the_full_sandbox(tmp_path: Path) -> None:
    limits = ResourceLimits(memory_bytes=256 * 2**20, max_processes=64, cpu_percent=150)
    unit = render_unit(make_spec(tmp_path), user="ns-my-blog", env_file="/x.env", limits=limits)
    d = directives(unit)
    for key, value in {
        "MemoryMax": str(256 * 2**20),
        "MemorySwapMax": "0",
        "TasksMax": "64",
        "CPUQuota": "150%",
        "RestrictNamespaces": "yes",
        "CapabilityBoundingSet": "",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
    }.items():
        assert d[key] == [value], key


def test_loader_variables_are_refused_in_the_env_file() -> None:
    with pytest.raises(ValueError, match="invalid environment variable name"):
        render_env_file({"LD_PRELOAD": "/tmp/x.so"})
