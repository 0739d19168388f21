"""HTTP for the sharing domain: organisations, users, groups, tokens, notes, audit; and their workbench pages.

Thin: every route authenticates, states its permission, calls `service` or `auth`, and shapes the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.deps import CurrentPrincipal, DbSession, Justification, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput
from portguard.core.pages import form_model, render
from portguard.core.policy import Handling, LegalRegime, OrgKind, Principal, Role
from portguard.sharing import auth, service
from portguard.sharing.models import (
    GroupIn,
    GroupOut,
    MeOut,
    NoteIn,
    NoteOut,
    OrgIn,
    OrgOut,
    Page,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(prefix="/api", tags=["sharing"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    user_id: str | None
    username: str | None
    org_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    legal_regime: str | None
    justification: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    broken_seq: int | None
    reason: str | None
    head: str | None = None


# ---------------------------------------------------------------- JSON API


@router.get("/me", response_model=MeOut, summary="Who am I")
def me(principal: CurrentPrincipal) -> MeOut:
    """The signed-in user, organisation, roles and permissions."""
    return MeOut(
        user_id=principal.user_id,
        username=principal.username,
        org_id=principal.org_id,
        org_kind=principal.org_kind,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
    )


@router.get("/orgs", response_model=Page[OrgOut], summary="List organisations")
def list_orgs(session: DbSession, principal: CurrentPrincipal, paging: Paging) -> dict[str, Any]:
    """The organisation directory."""
    items, total = service.list_orgs(session, actor=principal, limit=paging.limit, offset=paging.offset)
    return paging.page([OrgOut.model_validate(i) for i in items], total)


@router.post("/orgs", response_model=OrgOut, status_code=201, summary="Register an organisation")
def create_org(session: DbSession, principal: Annotated[Principal, Depends(require("org:manage"))], data: OrgIn) -> Any:
    """Register an organisation (platform administrators)."""
    return service.create_org(session, actor=principal, data=data)


@router.get("/orgs/{org_id}", response_model=OrgOut, summary="One organisation")
def get_org(session: DbSession, principal: CurrentPrincipal, org_id: str) -> Any:
    """One organisation of the directory."""
    return service.get_org(session, org_id=org_id)


@router.get("/users", response_model=Page[UserOut], summary="List users")
def list_users(
    session: DbSession,
    principal: Annotated[Principal, Depends(require("user:read"))],
    paging: Paging,
    org_id: str | None = None,
) -> dict[str, Any]:
    """Users of your organisation (all users, for platform administrators)."""
    items, total = service.list_users(session, actor=principal, org_id=org_id, limit=paging.limit, offset=paging.offset)
    return paging.page([UserOut.model_validate(i) for i in items], total)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user")
def create_user(
    session: DbSession, principal: Annotated[Principal, Depends(require("user:manage"))], data: UserIn
) -> Any:
    """Create a user with roles their organisation's kind allows."""
    return service.create_user(session, actor=principal, data=data)


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
def get_user(session: DbSession, principal: Annotated[Principal, Depends(require("user:read"))], user_id: str) -> Any:
    """One user you may administer."""
    return service.get_user(session, actor=principal, user_id=user_id)


@router.get("/groups", response_model=Page[GroupOut], summary="List sharing groups")
def list_groups(session: DbSession, principal: CurrentPrincipal, paging: Paging) -> dict[str, Any]:
    """Sharing groups and their member organisations."""
    items, total = service.list_groups(session, actor=principal, limit=paging.limit, offset=paging.offset)
    return paging.page([GroupOut.model_validate(i) for i in items], total)


@router.post("/groups", response_model=GroupOut, status_code=201, summary="Create a sharing group")
def create_group(
    session: DbSession, principal: Annotated[Principal, Depends(require("group:manage"))], data: GroupIn
) -> Any:
    """Create a sharing group (platform administrators)."""
    return service.create_group(session, actor=principal, data=data)


@router.get("/tokens", response_model=list[TokenOut], summary="My API tokens")
def list_tokens(session: DbSession, principal: CurrentPrincipal) -> Any:
    """Your API tokens (without secrets)."""
    return auth.list_tokens(session, user_id=principal.user_id)


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token")
def create_token(session: DbSession, principal: CurrentPrincipal, data: TokenIn) -> Any:
    """A new token for yourself; the secret is in this answer only."""
    token, secret = auth.create_token(
        session, actor=principal, user_id=principal.user_id, name=data.name, days=data.days
    )
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(session: DbSession, principal: CurrentPrincipal, token_id: str) -> Any:
    """Revoke one of your tokens (admins: of your organisation's users)."""
    return auth.revoke_token(session, actor=principal, token_id=token_id)


@router.get("/notes", response_model=Page[NoteOut], summary="List notes you may see")
def list_notes(
    session: DbSession, principal: CurrentPrincipal, paging: Paging, justification: Justification
) -> dict[str, Any]:
    """Notes visible to you under their handling codes; LED notes only with `X-Justification`."""
    items, total = service.list_notes(
        session, actor=principal, justification=justification, limit=paging.limit, offset=paging.offset
    )
    return paging.page([NoteOut.model_validate(i) for i in items], total)


@router.post("/notes", response_model=NoteOut, status_code=201, summary="Write a note")
def create_note(session: DbSession, principal: CurrentPrincipal, data: NoteIn) -> Any:
    """Write a note owned by your organisation."""
    return service.create_note(session, actor=principal, data=data)


@router.get("/notes/{note_id}", response_model=NoteOut, summary="Read a note")
def get_note(session: DbSession, principal: CurrentPrincipal, note_id: str, justification: Justification) -> Any:
    """One note, if its handling code lets you see it."""
    return service.get_note(session, actor=principal, note_id=note_id, justification=justification)


@router.get("/audit", response_model=Page[AuditEntryOut], summary="Read the audit chain")
def list_audit(
    session: DbSession,
    principal: Annotated[Principal, Depends(require("audit:read"))],
    paging: Paging,
    action: Annotated[AuditAction | None, Query()] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Audit entries of your organisation (all, for platform administrators), newest first."""
    items, total = service.list_audit(
        session, actor=principal, action=action, object_type=object_type, limit=paging.limit, offset=paging.offset
    )
    out = [AuditEntryOut(**{**e.payload(), "hash": e.hash}) for e in items]
    return paging.page(out, total)


class ActivityOut(BaseModel):
    day: str
    action: str
    entries: int


@router.get("/audit/activity", response_model=list[ActivityOut], summary="Audit activity per day")
def audit_activity(
    session: DbSession,
    principal: Annotated[Principal, Depends(require("audit:read"))],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Any:
    """Counts of audit entries per UTC day and action (your organisation's; all for platform administrators)."""
    org_id = None if principal.has("audit:read_all") else principal.org_id
    return audit.activity(session, org_id=org_id, days=days)


@router.get("/audit/verify", response_model=VerifyOut, summary="Verify the audit chain")
def verify_audit(session: DbSession, principal: Annotated[Principal, Depends(require("audit:verify"))]) -> Any:
    """Walk the whole chain and report the first broken entry."""
    return audit.verify(session).__dict__


# ---------------------------------------------------------------- pages


@pages.get("/notes", response_class=HTMLResponse)
def notes_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("note:read"))],
    paging: Paging,
) -> Response:
    """Notes you may see, and a form to write one."""
    items, total = service.list_notes(session, actor=principal, limit=paging.limit, offset=paging.offset)
    groups, _ = service.list_groups(session, actor=principal, limit=500)
    return render(
        request,
        "sharing/notes.html",
        notes=items,
        total=total,
        paging=paging,
        groups=groups,
        handlings=list(Handling),
        regimes=list(LegalRegime),
        error=None,
    )


@pages.post("/notes", response_class=HTMLResponse)
def notes_submit(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    title: Annotated[str, Form()],
    body: Annotated[str, Form()],
    handling: Annotated[str, Form()] = "AMBER",
    legal_regime: Annotated[str, Form()] = "GDPR",
    sharing_group_id: Annotated[str, Form()] = "",
) -> Response:
    """Write a note from the page form."""
    data = form_model(
        NoteIn,
        title=title,
        body=body,
        handling=handling,
        legal_regime=legal_regime,
        sharing_group_id=sharing_group_id or None,
    )
    service.create_note(session, actor=principal, data=data)
    return Response(status_code=303, headers={"Location": "/notes"})


@pages.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, session: DbSession, principal: Annotated[Principal, Depends(require("user:read"))]
) -> Response:
    """Organisations, users and sharing groups."""
    orgs, _ = service.list_orgs(session, actor=principal, limit=500)
    users, users_total = service.list_users(session, actor=principal, limit=500)
    groups, _ = service.list_groups(session, actor=principal, limit=500)
    return render(
        request,
        "sharing/admin.html",
        orgs=orgs,
        users=users,
        users_total=users_total,
        groups=groups,
        org_kinds=list(OrgKind),
        roles=list(Role),
    )


@pages.post("/admin/users", response_class=HTMLResponse)
def admin_create_user(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("user:manage"))],
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    org_id: Annotated[str, Form()],
    password: Annotated[str, Form()],
    roles: Annotated[list[str], Form()],
    email: Annotated[str, Form()] = "",
) -> Response:
    """Create a user from the admin page."""
    data = form_model(
        UserIn,
        username=username,
        display_name=display_name,
        org_id=org_id,
        password=password,
        roles=roles,
        email=email or None,
    )
    service.create_user(session, actor=principal, data=data)
    return Response(status_code=303, headers={"Location": "/admin"})


@pages.post("/admin/orgs", response_class=HTMLResponse)
def admin_create_org(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("org:manage"))],
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    country: Annotated[str, Form()],
    member: Annotated[bool, Form()] = False,
) -> Response:
    """Register an organisation from the admin page."""
    data = form_model(OrgIn, name=name, kind=kind, country=country, member=member)
    service.create_org(session, actor=principal, data=data)
    return Response(status_code=303, headers={"Location": "/admin"})


@pages.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Depends(require("audit:read"))],
    paging: Paging,
    action: str | None = None,
    object_type: str | None = None,
) -> Response:
    """The audit viewer: newest entries first, with filters, and a chain check for platform administrators."""
    action = action or None
    if action is not None and action not in AuditAction.__members__.values():
        raise InvalidInput(f"unknown audit action {action!r}", field="action")
    items, total = service.list_audit(
        session,
        actor=principal,
        action=action,
        object_type=object_type or None,
        limit=paging.limit,
        offset=paging.offset,
    )
    return render(
        request,
        "sharing/audit.html",
        entries=items,
        total=total,
        paging=paging,
        actions=list(AuditAction),
        action=action or "",
        object_type=object_type or "",
    )


@pages.get("/audit/verify", response_class=HTMLResponse)
def audit_verify_fragment(
    request: Request, session: DbSession, principal: Annotated[Principal, Depends(require("audit:verify"))]
) -> Response:
    """An htmx fragment with the result of a chain check."""
    return render(request, "sharing/_verify.html", result=audit.verify(session))
