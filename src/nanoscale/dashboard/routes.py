"""The dashboard's router (mounted at `/`) and its static files (mounted at `/static`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from nanoscale.dashboard import (
    pages_auth,
    pages_github,
    pages_overview,
    pages_project,
    pages_project_actions,
    pages_projects,
    pages_settings,
)
from nanoscale.dashboard.templating import STATIC_DIR
from nanoscale.dashboard.web import error_page

router = APIRouter(include_in_schema=False)
for module in (
    pages_auth,
    pages_overview,
    pages_projects,
    pages_project,
    pages_project_actions,
    pages_settings,
    pages_github,
):
    router.include_router(module.router)


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico before reading the page's <link rel=icon>."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


def install_dashboard(app: FastAPI) -> None:
    app.include_router(router)
    app.state.html_error_page = error_page
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
