"""The FastAPI application: mounts each domain's router and pages, and renders every error as problem+json.

`create_app()` builds everything from settings (or an injected `Database`, for tests); nothing is created at
import. Authentication is wired here: core asks `app.state.authenticate`, which the sharing domain provides.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from portguard import __version__
from portguard.controls import api as controls_api
from portguard.core import jobs
from portguard.core.db import Database
from portguard.core.errors import InvalidInput, PortGuardError
from portguard.core.pages import WEB_DIR, render
from portguard.core.settings import Settings, get_settings
from portguard.declarations import api as declarations_api
from portguard.network import api as network_api
from portguard.personnel import api as personnel_api
from portguard.release import api as release_api
from portguard.risk import api as risk_api
from portguard.risk import targeting_api
from portguard.sharing import api as sharing_api
from portguard.substances import api as substances_api
from portguard.tracking import api as tracking_api
from portguard.web import pages as web_pages

log = logging.getLogger("portguard")
PROBLEM = "application/problem+json"
# Vega compiles its field accessors with Function(), hence 'unsafe-eval'; no inline script and no foreign origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


def create_app(*, settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the PortGuard application."""
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="PortGuard",
        version=__version__,
        description="Risk targeting, container security and information sharing for European container ports.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.jobs = jobs.Jobs()
    app.state.authenticate = web_pages.authenticate

    @app.exception_handler(PortGuardError)
    async def _portguard_error(request: Request, exc: PortGuardError) -> Any:
        if exc.status == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if _wants_html(request):
            return render(request, "error.html", status_code=exc.status, error=exc)
        headers = {"WWW-Authenticate": 'Bearer realm="portguard"'} if exc.status == 401 else None
        return JSONResponse(exc.problem(request.url.path), status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return _problem(422, "Invalid input", "the request does not match the schema", request.url.path, errors=errors)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Any:
        # A value the database refuses is bad input, not a server fault: PostgreSQL text cannot hold NUL characters.
        log.warning("database refused a value on %s: %s", request.url.path, exc.orig)
        problem = InvalidInput("a value of this request cannot be stored (text must not contain NUL characters)")
        return await _portguard_error(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        anonymous = "authorization" not in request.headers and not request.cookies
        if exc.status_code == 400 and anonymous and request.url.path.startswith("/api/"):
            # A body that cannot even be parsed (bad multipart) from nobody: say what matters first, sign in.
            return _problem(
                401, "Authentication required", "sign in, or send 'Authorization: Bearer <token>'", request.url.path
            )
        return _problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _problem(
            500, "Internal server error", "an unexpected error occurred; it has been logged", request.url.path
        )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.include_router(web_pages.public)
    app.include_router(web_pages.router)
    app.include_router(sharing_api.router)
    app.include_router(sharing_api.pages)
    app.include_router(declarations_api.router)
    app.include_router(declarations_api.pages)
    app.include_router(risk_api.router)
    app.include_router(risk_api.pages)
    app.include_router(targeting_api.router)
    app.include_router(targeting_api.pages)
    app.include_router(controls_api.router)
    app.include_router(tracking_api.router)
    app.include_router(tracking_api.pages)
    app.include_router(release_api.router)
    app.include_router(release_api.pages)
    app.include_router(network_api.router)
    app.include_router(network_api.pages)
    app.include_router(personnel_api.router)
    app.include_router(personnel_api.pages)
    app.include_router(substances_api.router)
    app.include_router(substances_api.pages)
    app.include_router(jobs.router)
    return app
