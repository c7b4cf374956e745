"""Fetch GitHub's published descriptions (and other reference data) with `npm pack`, once,
into a cache outside git."""

from __future__ import annotations

import fcntl
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE_DIR = Path(os.environ.get("GITHUB_SIM_SPEC_CACHE", REPO_ROOT / ".cache" / "octokit"))
MEMBER = "package/generated/api.github.com.json"


def fetch_description(package: str, dest: Path, member: str = MEMBER) -> Path:
    """`npm pack` the package once and keep only one JSON file of it (`member`): by default
    the OpenAPI description."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (dest.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers race for the same download
        if dest.exists():
            return dest
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            out = subprocess.run(
                ["npm", "pack", package, "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as tar:
                found = tar.extractfile(member)
                assert found is not None, f"{member} missing from {package}"
                part = dest.with_suffix(".part")
                part.write_bytes(found.read())
                part.replace(dest)
    return dest
