"""`nanoscale doctor`: check configuration and prerequisites; print each problem with its fix.

Read-only: unlike `serve`, it creates no key file, database or directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from nanoscale.crypto import KeyRing, read_key_file
from nanoscale.db.engine import make_engine
from nanoscale.db.files import readable_by_others, sqlite_path
from nanoscale.db.migrate import alembic_config
from nanoscale.errors import NanoScaleError
from nanoscale.settings import ProxyKind, RuntimeKind, Settings, load_settings


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


def _ok(check: str, detail: str) -> Finding:
    return Finding(check, True, detail)


def _problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, False, detail, fix)


def check_secret_key(settings: Settings) -> Finding:
    try:
        if settings.secret_key is not None:
            keys = [k for k in settings.secret_key.get_secret_value().split(",") if k]
            return _ok("secret key", f"primary key id {KeyRing(keys).primary_key_id}")
        path = settings.resolved_secret_key_file
        if not path.exists():
            if settings.is_production:
                return _problem(
                    "secret key", f"{path} does not exist",
                    f"nanoscale keys generate > {path} && chmod 600 {path}",
                )  # fmt: skip
            return _ok("secret key", f"{path} will be created on first start")
        if path.stat().st_mode & 0o077:
            return _problem("secret key", f"{path} is readable by others", f"chmod 600 {path}")
        return _ok("secret key", f"primary key id {KeyRing(read_key_file(path)).primary_key_id}")
    except NanoScaleError as exc:
        return _problem("secret key", exc.message, "set a key from `nanoscale keys generate`")


def check_data_dir(settings: Settings) -> Finding:
    path = settings.data_dir.resolve()
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK):
        return _problem(
            "data directory", f"{existing} is not writable",
            f"chown the directory to the NanoScale user or set NANOSCALE_DATA_DIR ({path})",
        )  # fmt: skip
    return _ok("data directory", str(path))


def check_database(settings: Settings) -> Finding:
    url = settings.resolved_database_url
    sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    if sqlite_file and not Path(sqlite_file).exists():  # connecting would create it
        return _problem(
            "database", f"the SQLite database {sqlite_file} does not exist yet",
            "run `nanoscale db upgrade` (or `make run`)",
        )  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return _problem(
            "database", f"cannot connect ({type(exc).__name__})",
            "check NANOSCALE_DATABASE_URL and that the database server is running",
        )  # fmt: skip
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current != head:
        return _problem(
            "database", f"schema at revision {current or 'none'}, code expects {head}",
            "run `nanoscale db upgrade`",
        )  # fmt: skip
    return _ok("database", f"reachable, migrated to {head}")


def check_private_files(settings: Settings) -> Finding:
    """The SQLite database (password hashes, sessions) and the key file are ours alone."""
    candidates = [sqlite_path(settings.resolved_database_url)]
    if settings.secret_key is None:
        candidates.append(settings.resolved_secret_key_file)
    exposed = [p for p in candidates if p is not None and p.exists() and readable_by_others(p)]
    if exposed:
        names = " ".join(str(p) for p in exposed)
        return _problem(
            "file permissions", f"readable by other users: {names}",
            f"chmod 600 {names} (and the database's -wal/-shm files)",
        )  # fmt: skip
    return _ok("file permissions", "database and key file readable by NanoScale only")


def check_git(_settings: Settings) -> Finding:
    git = shutil.which("git")
    if git is None:
        return _problem("git", "git is not installed", "apt-get install git")
    version = subprocess.run([git, "--version"], capture_output=True, text=True, check=False)
    return _ok("git", version.stdout.strip())


def check_proxy(settings: Settings) -> Finding:
    if settings.proxy != ProxyKind.CADDY:
        return _ok("proxy", "none (projects are reachable on their ports only)")
    url = f"{settings.caddy_admin.rstrip('/')}/config/"
    try:
        response = httpx.get(url, timeout=3.0)
    except httpx.HTTPError as exc:
        return _problem(
            "proxy", f"Caddy admin API at {settings.caddy_admin} is unreachable "
            f"({type(exc).__name__})",
            "start Caddy (`systemctl start caddy`) or set NANOSCALE_CADDY_ADMIN",
        )  # fmt: skip
    if response.status_code != 200:
        return _problem(
            "proxy", f"Caddy admin API answered {response.status_code}",
            "check that NANOSCALE_CADDY_ADMIN points at Caddy's admin endpoint",
        )  # fmt: skip
    return _ok("proxy", f"Caddy admin API reachable at {settings.caddy_admin}")


def check_runtime(settings: Settings) -> Finding:
    if settings.runtime == RuntimeKind.SYSTEMD:
        if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
            return _problem(
                "runtime", "systemd is not running on this host",
                "set NANOSCALE_RUNTIME=process, or run NanoScale on a systemd host",
            )  # fmt: skip
        if os.geteuid() != 0:
            return _problem("runtime", "the systemd runtime needs root", "run NanoScale as root")
        return _ok("runtime", "systemd")
    if os.geteuid() == 0:  # apps then run as per-project system users
        missing = [tool for tool in ("setpriv", "useradd", "userdel") if not _which_admin(tool)]
        if missing:
            return _problem(
                "runtime", f"running as root but {', '.join(missing)} missing "
                "(apps run as their own system users)",
                "apt-get install util-linux passwd",
            )  # fmt: skip
    return _ok("runtime", "process")


def _which_admin(tool: str) -> bool:
    return shutil.which(tool, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") is not None


CHECKS: tuple[Callable[[Settings], Finding], ...] = (
    check_secret_key, check_data_dir, check_database, check_private_files, check_git,
    check_proxy, check_runtime,
)  # fmt: skip


def run_checks() -> list[Finding]:
    try:
        settings = load_settings()
    except NanoScaleError as exc:
        return [_problem("configuration", exc.message, "fix the variables named above")]
    return [_ok("configuration", f"{settings.env} mode"), *(check(settings) for check in CHECKS)]


def doctor() -> None:
    """Check configuration, database, git, proxy and runtime; exit 1 if anything is wrong."""
    findings = run_checks()
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL"
        typer.echo(f"{mark}  {finding.check}: {finding.detail}")
        if not finding.ok:
            typer.echo(f"      fix: {finding.fix}")
    problems = sum(not f.ok for f in findings)
    typer.echo("no problems found" if not problems else f"{problems} problem(s) found")
    raise typer.Exit(1 if problems else 0)
