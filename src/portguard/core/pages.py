"""Server-rendered pages: one Jinja2 environment, the navigation per permission, and the CSRF token in context.

Pages are plain HTML with htmx for partial updates. The navigation is data: each entry names the permission that
shows it, so what a user sees in the menu is exactly what their roles let them open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from portguard.core.errors import InvalidInput
from portguard.core.policy import Principal

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation."""

    label: str
    href: str
    permission: str | None  # None: every signed-in user


NAV: list[NavItem] = [
    NavItem("Home", "/", None),
    NavItem("Declarations", "/declarations", "declaration:read"),
    NavItem("Ingests", "/ingests", "ingest:read"),
    NavItem("Rules", "/rules", "rule:read"),
    NavItem("Selection", "/selection", "control:write"),
    NavItem("Models", "/models", "model:read"),
    NavItem("Port alerts", "/port-alerts", "port_alert:read"),
    NavItem("Containers", "/containers", "event:read"),
    NavItem("Release", "/release", "release:read"),
    NavItem("Network", "/network", "network:read"),
    NavItem("Watch lists", "/watchlists", "watchlist:read"),
    NavItem("Personnel", "/personnel", "employee:read"),
    NavItem("Substances", "/substances", "substance:read"),
    NavItem("Drug alerts", "/alerts", "drug_alert:read"),
    NavItem("Notes", "/notes", "note:read"),
    NavItem("Organisations & users", "/admin", "user:read"),
    NavItem("Audit", "/audit", "audit:read"),
]

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


M = TypeVar("M", bound=BaseModel)


def form_model(model: type[M], **fields: Any) -> M:
    """Validate a page's form fields with the API schema, so a page and the API refuse the same input; the errors
    as one `InvalidInput` naming each field."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(
            "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'form'}: {str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        ) from None


def nav_for(principal: Principal | None) -> list[NavItem]:
    """The navigation entries this principal may open."""
    if principal is None:
        return []
    return [item for item in NAV if item.permission is None or principal.has(item.permission)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the principal, its navigation and the session's CSRF token in context."""
    principal = getattr(request.state, "principal", None)
    context.setdefault("principal", principal)
    context.setdefault("nav", nav_for(principal))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context.setdefault("path", request.url.path)
    return templates.TemplateResponse(request, template, context, status_code=status_code)
