"""Regenerate migration 0001 from the models (allowed until the first release ships).

Usage: .venv/bin/python tools/regen_initial_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from nanoscale.db.migrate import MIGRATIONS_DIR, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(cfg, message="initial", autogenerate=True, rev_id="0001")
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(INITIAL)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(INITIAL)], check=False)
    subprocess.run(
        [sys.executable, "-m", "ruff", "check", "-q", "--fix", str(INITIAL)], check=False
    )
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
