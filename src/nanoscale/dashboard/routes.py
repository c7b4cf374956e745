"""The dashboard's router (mounted at `/`) and its static files (mounted at `/static`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from nanoscale.dashboard import pages_auth
from nanoscale.dashboard.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)
router.include_router(pages_auth.router)


def install_dashboard(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
