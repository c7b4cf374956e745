"""The running orchestrator's shared resources, built once at startup from `Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.crypto import KeyRing, ensure_key_file, read_key_file
from nanoscale.db.engine import make_engine, make_session_factory
from nanoscale.db.files import prepare_data_dir, prepare_sqlite_file
from nanoscale.errors import ConfigError
from nanoscale.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: KeyRing
    # Long-lived components registered by other layers (worker, runtime, proxy), by name.
    components: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.engine.dispose()


def load_keyring(settings: Settings) -> KeyRing:
    """Keys from NANOSCALE_SECRET_KEY (comma-separated, primary first) or the key file.

    In development a missing key file is created (mode 0600) so `make run` just works.
    """
    if settings.secret_key is not None:
        return KeyRing([k for k in settings.secret_key.get_secret_value().split(",") if k])
    path = settings.resolved_secret_key_file
    if not path.exists():
        if settings.is_production:
            raise ConfigError(
                f"NANOSCALE_SECRET_KEY_FILE: {path} does not exist; create it with "
                "`nanoscale keys generate > FILE` and chmod 600",
                field="NANOSCALE_SECRET_KEY_FILE",
            )
        ensure_key_file(path)
    return KeyRing(read_key_file(path))


def build_context(settings: Settings) -> AppContext:
    prepare_data_dir(settings.data_dir)
    prepare_sqlite_file(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    return AppContext(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        keyring=load_keyring(settings),
    )
