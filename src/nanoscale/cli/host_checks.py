"""Host preconditions a deployment depends on, checked by `nanoscale doctor` and at startup
so that a first deployment does not discover them: project users can reach the data
directory, the sandbox tool works, and the port ranges stay clear of the kernel's own.

Running as root, NanoScale creates one system user per project (`ns-<project>-<id>`) and runs
that project's builds and app as it; those users are "others" to every directory above the
data directory, so each of those directories needs the `o+x` bit (enter, not list).
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from nanoscale.cli.findings import Finding, ok, problem
from nanoscale.engine.runtime.sandbox import find_bwrap
from nanoscale.settings import Settings

SUGGESTED_DATA_DIRS = "/srv/nanoscale or /var/lib/nanoscale"
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
BWRAP_PROBE = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid")


def runs_project_users() -> bool:
    return os.geteuid() == 0


def first_closed_ancestor(path: Path) -> Path | None:
    """The first existing directory on the way to `path` that "others" cannot enter."""
    for directory in reversed([path, *path.parents]):
        if directory.exists() and not directory.stat().st_mode & 0o001:
            return directory
    return None


def check_data_dir_traversable(settings: Settings) -> Finding:
    name = "data directory access"
    if not runs_project_users():
        return ok(name, "not root: builds and apps run as NanoScale's own user")
    data_dir = settings.data_dir.resolve()
    closed = first_closed_ancestor(data_dir.parent)  # the data dir itself is NanoScale's
    if closed is None:
        return ok(name, f"project users (ns-<project>-<id>) can reach {data_dir}")
    home_like = closed == Path.home() or closed.parent in {Path("/home"), Path("/")}
    fix = (
        f"set NANOSCALE_DATA_DIR to a directory outside {closed} (e.g. {SUGGESTED_DATA_DIRS})"
        f", or `chmod o+x {closed}` (lets every user enter it, not list it)"
        if home_like
        else f"chmod o+x {closed} (lets every user enter it, not list it)"
    )
    return problem(
        name,
        f"{closed} (mode {closed.stat().st_mode & 0o777:o}) cannot be entered by other users, "
        f"so the project users NanoScale creates cannot reach {data_dir}: every deployment "
        "would fail at Start",
        fix,
    )


def check_sandbox(settings: Settings) -> Finding:
    """Builds (and process releases) run in bubblewrap as the project's user: it must be
    installed and start a sandbox unprivileged (user namespaces enabled)."""
    if settings.sandbox == "none":
        return problem(
            "sandbox", "disabled (NANOSCALE_SANDBOX=none): builds and apps can see the whole "
            "host's files that their user may read, and every process",
            "set NANOSCALE_SANDBOX=auto and apt-get install bubblewrap",
        )  # fmt: skip
    bwrap = find_bwrap("auto")
    if bwrap is None:
        return problem(
            "sandbox", "bubblewrap (bwrap) is not installed: builds and apps run without a "
            "private mount and PID namespace (see docs/security.md)",
            "apt-get install bubblewrap",
        )  # fmt: skip
    nobody = 65534 if runs_project_users() else None  # as an unprivileged project user would
    result = subprocess.run(
        [bwrap, *BWRAP_PROBE, "true"], capture_output=True, text=True, check=False, timeout=30,
        user=nobody, group=nobody, extra_groups=[] if nobody else None, cwd="/",
    )  # fmt: skip
    if result.returncode != 0:
        return problem(
            "sandbox", f"bwrap cannot start a sandbox unprivileged: {result.stderr.strip()[:200]}",
            "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
        )  # fmt: skip
    return ok("sandbox", f"bubblewrap ({bwrap}) starts sandboxes")


def ephemeral_range() -> tuple[int, int] | None:
    try:
        low, high = EPHEMERAL_RANGE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def check_port_ranges(settings: Settings) -> Finding:
    """Release and project ports must not be ones the kernel hands out to outgoing
    connections, or a release can fail to bind at random."""
    kernel = ephemeral_range()
    ranges = {
        "NANOSCALE_RELEASE_PORT_START/END": (
            settings.release_port_start,
            settings.release_port_end,
        ),
        "NANOSCALE_PORT_RANGE_START/END": (settings.port_range_start, settings.port_range_end),
    }
    if kernel is not None:
        for name, (low, high) in ranges.items():
            if low <= kernel[1] and kernel[0] <= high:
                return problem(
                    "ports", f"{name} ({low}-{high}) overlaps the kernel's ephemeral ports "
                    f"({kernel[0]}-{kernel[1]})",
                    f"move {name} below {kernel[0]} "
                    "(or narrow net.ipv4.ip_local_port_range)",
                )  # fmt: skip
    (r_low, r_high), (p_low, p_high) = ranges.values()
    if r_low <= p_high and p_low <= r_high:
        return problem(
            "ports", "the release and project port ranges overlap",
            "give NANOSCALE_RELEASE_PORT_* and NANOSCALE_PORT_RANGE_* disjoint ranges",
        )  # fmt: skip
    return ok("ports", f"releases on {r_low}-{r_high}, clear of the kernel's ephemeral ports")


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def startup_notes(settings: Settings) -> list[str]:
    """What `serve` says before starting: the per-project users when root, and problems."""
    notes = []
    if runs_project_users():
        notes.append(
            "running as root: NanoScale creates one system user per project (ns-<project>-<id>) "
            "and runs that project's builds and app as it"
        )
    for finding in (check_data_dir_traversable(settings), check_port_ranges(settings)):
        if not finding.ok:
            notes.append(f"warning: {finding.detail}\n  fix: {finding.fix}")
    return notes
