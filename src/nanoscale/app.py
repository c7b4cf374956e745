"""`create_app(settings)`: the orchestrator's ASGI application (JSON API + dashboard)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from nanoscale import __version__
from nanoscale.api.contract import install_contract
from nanoscale.api.github import BROWSER_STEPS, browser_step_failed
from nanoscale.api.routes import router as api_router
from nanoscale.context import AppContext, build_context
from nanoscale.dashboard.routes import install_dashboard
from nanoscale.deployments.backends import close_backends
from nanoscale.deployments.worker.loop import start_worker
from nanoscale.errors import (
    InvalidFields,
    InvalidInput,
    NanoScaleError,
    NotFound,
    RateLimited,
    error_body,
    error_body_of,
    is_api_path,
)
from nanoscale.forwarded import ForwardedHeadersMiddleware
from nanoscale.github.app_config import apply_stored_app
from nanoscale.github.avatars import avatar_origin
from nanoscale.github.credentials import register_github_credentials
from nanoscale.github.reconcile_loop import start_reconciler
from nanoscale.github.status_reports.reporter import start_status_reporter
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
from nanoscale.validation_messages import input_message

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


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (one path may have several routes)."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.router.routes):
        if route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def _loc(problem: Any) -> str | None:
    skipped = ("body", "query", "path", "[key]")  # [key]: a bad key of a mapping
    parts = [str(p) for p in problem.get("loc", ()) if p not in skipped]
    return ".".join(parts) or None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NanoScaleError)
    async def _nanoscale_error(request: Request, exc: NanoScaleError) -> Response:
        if request.url.path in BROWSER_STEPS:
            return _browser_step_error(app, request, exc)
        response = JSONResponse(error_body_of(exc), status_code=exc.status)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path in BROWSER_STEPS:
            return browser_step_failed("invalid_input", 422)
        problems = list(exc.errors()) or [{"loc": (), "msg": "invalid input"}]
        if any(p.get("type") == "json_invalid" for p in problems):  # not JSON: malformed
            return _error(400, "malformed_body", "the request body is not valid JSON", None)
        # Every field's problem at once. Input values are not echoed: they may be secrets.
        errors: list[InvalidInput] = [
            InvalidInput(input_message(p), field=_loc(p)) for p in problems
        ]
        error = errors[0] if len(errors) == 1 else InvalidFields(errors)
        return JSONResponse(error_body_of(error), status_code=422)

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
        else:
            page = _error(exc.status_code, code, str(exc.detail))
        if exc.status_code == 405:  # RFC 9110: say which methods the resource has
            page.headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return page

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
    apply_stored_app(ctx)  # an App created from the dashboard, unless the environment names one

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = start_worker(ctx) if settings.worker_enabled else None
        reconciler = start_reconciler(ctx)  # no-op unless GitHub is configured
        reporter = start_status_reporter(ctx) if settings.worker_enabled else None
        yield
        if reporter is not None:
            reporter.stop()
        reconciler.stop()
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
    install_contract(app)
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
    app.add_middleware(
        SecurityHeadersMiddleware, image_origins=(avatar_origin(settings.github_url),)
    )
    secret = settings.proxy_secret.get_secret_value() if settings.proxy_secret else None
    app.add_middleware(
        ForwardedHeadersMiddleware, trusted_proxies=settings.trusted_proxies, secret=secret
    )
    return app
