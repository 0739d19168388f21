"""Every route of the app needs credentials, except an explicit allowlist; every API route is documented.

The routes are enumerated from `app.routes` (newer FastAPI versions keep included routers as lazy branches there,
which `fastapi.routing.iter_route_contexts` flattens), every method of every route is called without credentials
(path parameters filled with dummy values), and the answer must be a 401 problem (API paths, and pages asked for
JSON) or a redirect to the sign-in page (pages asked for HTML). Anything else counts as public, and the set of
public routes must be exactly `PUBLIC`: a new public route, or a stale allowlist entry, fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount, Route

PROBLEM = "application/problem+json"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# (method, path) answering without credentials, each for a stated reason
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe for load balancers",
    ("GET", "/api/health"): "liveness probe, under the API prefix",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "the sign-in form's target (CSRF-protected by a signed double-submit cookie)",
}
# mounted applications answering without credentials: path -> reason
PUBLIC_MOUNTS: dict[str, str] = {"/static": "CSS, JavaScript and their licences; no data"}
# API routes deliberately left out of the OpenAPI document
HIDDEN_API: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): "duplicate of /health",
    ("GET", "/api/openapi.json"): "the document itself",
}


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, with its effective path."""

    method: str
    path: str
    route: BaseRoute
    context: Any

    @property
    def is_api(self) -> bool:
        return self.path == "/api" or self.path.startswith("/api/")

    @property
    def concrete_path(self) -> str:
        return fill_path(self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def fill_path(path: str) -> str:
    """`path` with each `{param}` replaced by a dummy value its converter accepts."""

    def dummy(match: re.Match[str]) -> str:
        name, converter = match.group(1), match.group(2) or "str"
        return {"int": "1", "float": "1.5", "uuid": "00000000-0000-0000-0000-000000000000", "path": "a/b"}.get(
            converter, f"dummy-{name}"
        )

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}", dummy, path)


def _contexts(app: FastAPI) -> Iterator[tuple[BaseRoute, Any]]:
    """(original route, effective route) for every route, through included routers."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:  # older FastAPI: app.routes is flat already
        for route in app.routes:
            yield route, route
        return
    for context in iter_contexts(app.routes):
        yield context.original_route, context


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, route) of the app, mounts as a single `*` entry."""
    found: list[Endpoint] = []
    for route, context in _contexts(app):
        path = getattr(context, "path", None) or getattr(route, "path", "")
        if isinstance(route, Mount):
            found.append(Endpoint("*", path, route, context))
            continue
        methods = getattr(context, "methods", None) or getattr(route, "methods", None)
        assert isinstance(route, APIRoute | Route), f"unexpected kind of route {route!r} at {path}"
        assert methods, f"route {path} has no methods"
        found.extend(Endpoint(m, path, route, context) for m in sorted(methods))
    return found


def call_anonymously(client: TestClient, endpoint: Endpoint, *, html: bool) -> Any:
    """Call `endpoint` without credentials; an unsafe method carries a (meaningless) body."""
    headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8" if html else "application/json"}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if endpoint.method in UNSAFE:
        if endpoint.is_api:
            kwargs["json"] = {}
        else:
            kwargs["data"] = {"field": "value"}
    return client.request(endpoint.method, endpoint.concrete_path, **kwargs)


def refusal(client: TestClient, endpoint: Endpoint) -> str | None:
    """None when `endpoint` refuses an anonymous caller properly; otherwise what it did instead."""
    path = endpoint.concrete_path
    answer = call_anonymously(client, endpoint, html=False)
    if answer.status_code != 401:
        return f"answered {answer.status_code} to an anonymous JSON client"
    if not answer.headers.get("content-type", "").startswith(PROBLEM):
        return f"401 is not problem+json: {answer.headers.get('content-type')}"
    body = answer.json()
    if body.get("status") != 401 or body.get("instance") != path or not body.get("detail"):
        return f"401 is not a proper problem document: {body}"
    if endpoint.is_api:
        # an API path answers problem+json whatever the client accepts
        as_browser = call_anonymously(client, endpoint, html=True)
        if as_browser.status_code != 401 or not as_browser.headers.get("content-type", "").startswith(PROBLEM):
            return f"API path answered {as_browser.status_code} to an anonymous browser"
        return None
    page = call_anonymously(client, endpoint, html=True)
    if page.status_code != 303 or page.headers.get("location") != f"/login?next={path}":
        return f"page answered {page.status_code} {page.headers.get('location')} to an anonymous browser"
    return None


def public_endpoints(app: FastAPI) -> dict[str, str]:
    """Each endpoint that does not refuse an anonymous caller, with what it did."""
    client = TestClient(app)
    public: dict[str, str] = {}
    for endpoint in endpoints(app):
        if endpoint.method == "*":
            public[str(endpoint)] = "mounted application"
            continue
        problem = refusal(client, endpoint)
        if problem is not None:
            public[str(endpoint)] = problem
    return public


def _allowlisted() -> set[str]:
    return {f"{m} {p}" for m, p in PUBLIC} | {f"* {p}" for p in PUBLIC_MOUNTS}


# ---------------------------------------------------------------- tests


def test_routes_are_enumerated(app):
    found = endpoints(app)
    paths = {e.path for e in found}
    # a sanity floor, so that a broken enumeration cannot pass vacuously
    assert len(found) >= 30, [str(e) for e in found]
    assert {"/", "/login", "/logout", "/api/me", "/api/tokens/{token_id}", "/static", "/notes"} <= paths
    assert len({str(e) for e in found}) == len(found), "a (method, path) is routed twice"
    print(f"routes: {len(found)} endpoints enumerated")


def test_every_route_outside_the_allowlist_needs_credentials(app):
    """The public surface is exactly the allowlist: nothing more, and nothing stale."""
    public = public_endpoints(app)
    unexpected = {k: v for k, v in public.items() if k not in _allowlisted()}
    assert not unexpected, f"routes answering without credentials, not in the allowlist: {unexpected}"
    assert set(public) == _allowlisted(), f"allowlisted but not public (stale entry?): {_allowlisted() - set(public)}"


def test_allowlisted_routes_answer_anonymously(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/api/health").json()["status"] == "ok"
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    # POST /login without the form's CSRF token is refused, but as a form error, not as "sign in first"
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 403
    css = client.get("/static/portguard.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("path", ["/static/../templates/base.html", "/static/%2e%2e/templates/base.html"])
def test_static_mount_serves_only_its_directory(client, path):
    response = client.get(path)
    assert response.status_code == 404


def test_a_new_public_route_is_caught(app):
    """The check above fails for an unauthenticated route added anywhere."""

    @app.get("/api/leak")
    def leak() -> dict[str, str]:
        """Forgot to ask for a principal."""
        return {"secret": "data"}

    @app.post("/pages/leak")
    def page_leak() -> dict[str, str]:
        """Forgot too."""
        return {}

    public = public_endpoints(app)
    assert "GET /api/leak" in public
    assert "POST /pages/leak" in public
    assert set(public) - _allowlisted() == {"GET /api/leak", "POST /pages/leak"}


def test_every_api_route_is_documented(app):
    api_routes = [e for e in endpoints(app) if e.is_api and isinstance(e.route, APIRoute)]
    assert api_routes
    undocumented = []
    for e in api_routes:
        summary = (getattr(e.context, "summary", None) or "").strip()
        description = (getattr(e.context, "description", None) or e.route.endpoint.__doc__ or "").strip()
        in_schema = getattr(e.context, "include_in_schema", e.route.include_in_schema)
        if not description or (in_schema and not summary):
            undocumented.append(str(e))
        if not in_schema:
            assert (e.method, e.path) in HIDDEN_API, f"{e} is hidden from the OpenAPI document"
    assert not undocumented, f"API routes without summary/docstring: {undocumented}"

    # and the OpenAPI document carries exactly the visible API routes, each with a summary and a description
    document = app.openapi()
    operations = {
        (method.upper(), path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }
    visible_api = {(e.method, e.path) for e in api_routes if (e.method, e.path) not in HIDDEN_API}
    assert {k for k in operations if k[1].startswith("/api")} == visible_api
    for key, op in operations.items():
        assert op.get("summary") and op.get("description"), f"{key} lacks a summary or description"
        assert any(code.startswith("2") for code in op["responses"]), f"{key} documents no success response"
    assert set(HIDDEN_API) <= {(e.method, e.path) for e in api_routes}, "stale HIDDEN_API entry"
