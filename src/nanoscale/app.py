"""`create_app(settings)`: the orchestrator's ASGI application (JSON API + dashboard)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from nanoscale import __version__
from nanoscale.api.github import BROWSER_STEPS, browser_step_failed
from nanoscale.api.routes import router as api_router
from nanoscale.context import AppContext, build_context
from nanoscale.dashboard.routes import install_dashboard
from nanoscale.deployments.backends import close_backends
from nanoscale.deployments.worker.loop import start_worker
from nanoscale.errors import NanoScaleError, NotFound, RateLimited, error_body, is_api_path
from nanoscale.forwarded import ForwardedHeadersMiddleware
from nanoscale.github.credentials import register_github_credentials
from nanoscale.github.webhooks.endpoint import WEBHOOK_PATH
from nanoscale.host_check import HostCheckMiddleware, allowed_hosts
from nanoscale.http_middleware import (
    SECURITY_HEADERS,
    BodyLimitMiddleware,
    RequestLogMiddleware,
    SecurityHeadersMiddleware,
)
from nanoscale.logs import get_logger
from nanoscale.request_context import RequestContextMiddleware
from nanoscale.settings import Settings

log = get_logger("nanoscale.app")


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status)


def _browser_step_error(app: FastAPI, request: Request, exc: NanoScaleError) -> Response:
    """GitHub sends the browser back to these API paths: answer with a page, never JSON. Not
    signed in here: the dashboard's error page (status kept); else back to the settings."""
    if exc.status == 401:
        page: Response = app.state.html_error_page(request, exc)
        page.status_code = 401
        return page
    return browser_step_failed(exc.code, exc.status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NanoScaleError)
    async def _nanoscale_error(request: Request, exc: NanoScaleError) -> Response:
        if request.url.path in BROWSER_STEPS:
            return _browser_step_error(app, request, exc)
        response = _error(exc.status, exc.code, exc.message, exc.field)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path in BROWSER_STEPS:
            return browser_step_failed("invalid_input", 422)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid input"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        if first.get("type") == "json_invalid":  # not JSON at all: a malformed request
            return _error(400, "malformed_body", "the request body is not valid JSON", None)
        # Input values are deliberately not echoed: they may be secrets.
        return _error(422, "invalid_input", str(first.get("msg", "invalid input")), field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
        code = codes.get(exc.status_code, "http_error")
        html_page = getattr(app.state, "html_error_page", None)
        if html_page is not None and not is_api_path(request.url.path):
            # Browsers outside the API get the dashboard's page, not JSON.
            error_cls = NotFound if exc.status_code == 404 else NanoScaleError
            page: Response = html_page(request, error_cls(str(exc.detail), code=code))
            page.status_code = exc.status_code
            return page
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("http.unhandled_error", error_type=type(exc).__name__)
        response = _error(500, "internal_error", "an internal error occurred; see the server log")
        # Answered outside every middleware (Starlette's outermost error handler).
        response.headers.update({**SECURITY_HEADERS, "Cache-Control": "no-store"})
        return response


def create_app(settings: Settings, *, context: AppContext | None = None) -> FastAPI:
    ctx = context or build_context(settings)
    register_github_credentials()  # the deploy engine's `github` credential source

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = start_worker(ctx) if settings.worker_enabled else None
        yield
        if worker is not None:
            worker.stop()
        close_backends(ctx)
        if context is None:  # we built it, we close it
            ctx.close()

    app = FastAPI(
        title="NanoScale",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = ctx
    _install_error_handlers(app)
    app.include_router(api_router)
    install_dashboard(app)
    # The last added runs first: the real client address (from a proven proxy only), security
    # headers on everything, bind the request id, log every request, refuse foreign hosts,
    # then limit bodies.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        own_limit_paths=frozenset({f"/api{WEBHOOK_PATH}"}),  # GitHub's 25 MB cap applies there
    )
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts(settings))
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    secret = settings.proxy_secret.get_secret_value() if settings.proxy_secret else None
    app.add_middleware(
        ForwardedHeadersMiddleware, trusted_proxies=settings.trusted_proxies, secret=secret
    )
    return app
