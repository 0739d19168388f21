"""Sign-in and the workbench shell, and the authenticator the whole app uses.

Two ways in: a bearer token (API clients) or a signed session cookie (the browser). A cookie alone never
authorises a state-changing request: it must come with the session's CSRF token, as the `X-CSRF-Token` header
(htmx sends it) or a `csrf_token` form field. The sign-in form itself is protected by a signed double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from portguard.core.deps import CurrentPrincipal, DbSession
from portguard.core.errors import Forbidden
from portguard.core.pages import render
from portguard.core.policy import Principal
from portguard.sharing import auth, service

SESSION_COOKIE = "pg_session"
LOGIN_CSRF_COOKIE = "pg_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

public = APIRouter(tags=["shell"])
router = APIRouter(tags=["shell"])


def _signer(request: Request, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt=salt)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _token_principal(session: Session, secret: str) -> Principal | None:
    user_id = auth.token_user_id(session, secret=secret)
    return service.load_principal(session, user_id=user_id) if user_id else None


async def authenticate(request: Request, session: Session) -> Principal | None:
    """The principal behind a bearer token or a session cookie; enforces CSRF for cookie-authenticated writes.

    Async only to read a form's CSRF field; every database call runs in the thread pool. On SQLite the first
    statement of a request waits for the write lock (`BEGIN IMMEDIATE`): waiting on the event loop would stop the
    request holding the lock from ever finishing, and both would fail after the 30 s busy timeout."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        return await run_in_threadpool(_token_principal, session, secret.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        session_id = _signer(request, "session").loads(cookie)
    except BadSignature:
        return None
    web_session = await run_in_threadpool(auth.session_user, session, session_id=str(session_id))
    if web_session is None:
        return None
    if request.method not in SAFE_METHODS:
        token = request.headers.get("x-csrf-token")
        if token is None and "form" in request.headers.get("content-type", ""):
            token = (await request.form()).get("csrf_token")  # type: ignore[assignment]
        if not auth.csrf_matches(web_session, token if isinstance(token, str) else None):
            raise Forbidden("missing or wrong CSRF token; reload the page and try again")
    request.state.web_session_id = web_session.id
    request.state.csrf_token = web_session.csrf_token
    return await run_in_threadpool(service.load_principal, session, user_id=web_session.user_id)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# ---------------------------------------------------------------- public routes


@public.get("/health", summary="Liveness and database check")
@public.get("/api/health", summary="Liveness and database check", include_in_schema=False)
def health(request: Request) -> dict[str, Any]:
    """Whether the service is up and can reach its database."""
    from sqlalchemy import text

    with request.app.state.db.session() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok", "database": request.app.state.db.dialect}


@public.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in page, with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next), error=None)
    _set_login_cookie(request, response, token)
    return response


def _set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        _signer(request, "login").dumps(token),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        max_age=3600,
    )


@public.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the credentials and open a session, or show why not."""
    expected = None
    try:
        expected = _signer(request, "login").loads(request.cookies.get(LOGIN_CSRF_COOKIE, ""))
    except BadSignature:
        expected = None
    if not expected or not hmac.compare_digest(str(expected), csrf_token):
        return _login_error(request, "The form expired or was not sent from this site; please try again.", 403, next)
    result = auth.login(
        session,
        username=username,
        password=password,
        client_ip=_client_ip(request),
        settings=request.app.state.settings,
    )
    if not result.ok or result.web_session is None:
        message = result.reason
        if result.locked_until is not None:
            message += f" until {result.locked_until:%H:%M} UTC"
        return _login_error(request, message[:1].upper() + message[1:] + ".", result.status, next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request, "session").dumps(result.web_session.id),
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        max_age=int(request.app.state.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_error(request: Request, message: str, status: int, next: str) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status_code=status, login_csrf=token, next=_safe_next(next), error=message)
    _set_login_cookie(request, response, token)
    return response


# ---------------------------------------------------------------- authenticated shell


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, principal: CurrentPrincipal) -> Response:
    """The workbench home page."""
    return render(request, "home.html")


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """End the browser session."""
    web_session_id = getattr(request.state, "web_session_id", None)
    if web_session_id is not None:
        auth.logout(session, session_id=web_session_id, actor=principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    """The OpenAPI 3.1 description of the API (signed-in users only)."""
    return JSONResponse(request.app.openapi())
