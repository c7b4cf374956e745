"""Every model module, imported once so `Base.metadata` is complete (Alembic, drift checks)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from nanoscale.db.base import Base

MODEL_MODULES = (
    "nanoscale.accounts.models",
    "nanoscale.projects.models",
    "nanoscale.deployments.models",
    "nanoscale.github.models",
    "nanoscale.github.app_models",
    "nanoscale.github.status_reports.models",
)


def load_metadata() -> MetaData:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside an existing module
                raise
    return Base.metadata
