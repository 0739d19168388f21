"""HTTP for release rights: issue, pass on, assign a driver, set the lights, revoke, check at the gate, read the chain;
and their pages (the rights you see with their lights; one right's chain with the next steps you may take).

Thin over `service`. Every route needs `release:read` (every role that takes part holds it); the step itself
checks the finer permission (`release:write`, `release:customs`) and the party (holder, issuer, terminal), after
the request was validated, so a malformed request is told what is wrong with it before who may send it. The
driver's identity token travels only in a request body or form, never in a URL, and is never echoed back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from portguard.core.clock import utcnow
from portguard.core.deps import DbSession, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput, NotFound, PortGuardError
from portguard.core.pages import form_model, render
from portguard.core.policy import OrgKind, Principal
from portguard.release import service
from portguard.release.models import (
    LIGHTS,
    AssignIn,
    DriverIn,
    GateCheckIn,
    LightIn,
    ReleaseRight,
    ReleaseRightIn,
    ReleaseStep,
    RevokeIn,
    RightStatus,
    TransferIn,
)
from portguard.sharing import service as sharing
from portguard.sharing.models import Page

router = APIRouter(prefix="/api/release", tags=["release"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require("release:read"))]


# ---------------------------------------------------------------- shapes


class LightOut(BaseModel):
    ok: bool
    by: str | None = Field(description="user id of who set it last")
    at: datetime | None


class ReleaseRightOut(BaseModel):
    id: str
    container_number: str
    transport_document: str
    consignee: str
    issuer_org_id: str
    holder_org_id: str
    terminal_org_id: str
    driver_id: str | None
    status: RightStatus = Field(description="as in effect now: an active right past its expiry reads as expired")
    expires_at: datetime
    lights: dict[str, LightOut] = Field(description="commercial, customs, terminal")
    used_at: datetime | None
    owner_org_id: str
    handling: str
    sharing_group_id: str | None
    created_at: datetime
    updated_at: datetime


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    seq: int
    action: str
    container_number: str
    from_org_id: str | None
    to_org_id: str | None
    driver_id: str | None
    light: str | None
    ok: bool | None
    by_user_id: str | None
    by_org_id: str | None
    at: datetime
    reason: str | None


class ReleaseRightDetail(ReleaseRightOut):
    chain: list[StepOut]


class DriverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    haulier_org_id: str
    name: str
    document_number: str
    active: bool
    created_at: datetime


class DriverCreated(DriverOut):
    token: str = Field(description="The driver's identity token; shown once, stored only as its SHA-256.")


class GateDecisionOut(BaseModel):
    allowed: bool
    reason: str
    right_id: str | None
    container_number: str
    step_id: str
    alert_ids: list[str]


def right_out(right: ReleaseRight) -> ReleaseRightOut:
    """The API shape of a right, with its status as in effect now."""
    return ReleaseRightOut(
        id=right.id,
        container_number=right.container_number,
        transport_document=right.transport_document,
        consignee=right.consignee,
        issuer_org_id=right.issuer_org_id,
        holder_org_id=right.holder_org_id,
        terminal_org_id=right.terminal_org_id,
        driver_id=right.driver_id,
        status=RightStatus(right.effective_status(utcnow())),
        expires_at=right.expires_at,
        lights={
            name: LightOut(
                ok=getattr(right, f"{name}_ok"), by=getattr(right, f"{name}_by"), at=getattr(right, f"{name}_at")
            )
            for name in LIGHTS
        },
        used_at=right.used_at,
        owner_org_id=right.owner_org_id,
        handling=right.handling,
        sharing_group_id=right.sharing_group_id,
        created_at=right.created_at,
        updated_at=right.updated_at,
    )


def _detail(right: ReleaseRight, steps: list[ReleaseStep]) -> ReleaseRightDetail:
    return ReleaseRightDetail(**right_out(right).model_dump(), chain=[StepOut.model_validate(s) for s in steps])


def _gate_out(decision: service.GateDecision) -> GateDecisionOut:
    return GateDecisionOut(
        allowed=decision.allowed,
        reason=decision.reason,
        right_id=decision.right_id,
        container_number=decision.container_number,
        step_id=decision.step_id,
        alert_ids=decision.alert_ids,
    )


# ---------------------------------------------------------------- JSON API


@router.post("/rights", response_model=ReleaseRightOut, status_code=201, summary="Issue a release right")
def issue(session: DbSession, principal: Reader, data: ReleaseRightIn) -> Any:
    """A shipping line (`release:write`) issues the right to pick up a container under a transport document, shared
    AMBER with a sharing group that contains the terminal; the line holds it, its commercial light is green."""
    return right_out(service.issue(session, actor=principal, data=data))


@router.get("/rights", response_model=Page[ReleaseRightOut], summary="List release rights you may see")
def list_rights(
    session: DbSession,
    principal: Reader,
    paging: Paging,
    container: Annotated[str | None, Query(max_length=20, description="container number")] = None,
    status: Annotated[RightStatus | None, Query(description="status as in effect now")] = None,
    held: Annotated[bool, Query(description="only rights your organisation holds")] = False,
) -> dict[str, Any]:
    """Rights shared with your organisation (or issued by it), newest first."""
    items, total = service.list_rights(
        session,
        actor=principal,
        container_number=container,
        status=status.value if status else None,
        held=held,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page([right_out(r) for r in items], total)


@router.get("/rights/{right_id}", response_model=ReleaseRightDetail, summary="Read a release right and its chain")
def get_right(session: DbSession, principal: Reader, right_id: str) -> Any:
    """One right with its lights and every step of its chain, oldest first."""
    right, steps = service.get_with_chain(session, actor=principal, right_id=right_id)
    return _detail(right, steps)


@router.post("/rights/{right_id}/transfer", response_model=ReleaseRightOut, summary="Pass a release right on")
def transfer(session: DbSession, principal: Reader, right_id: str, data: TransferIn) -> Any:
    """A user of the holding organisation (`release:write`) passes the right to a forwarder or haulier of the
    right's sharing group."""
    return right_out(service.transfer(session, actor=principal, right_id=right_id, to_org_id=data.to_org_id))


@router.post("/rights/{right_id}/assign", response_model=ReleaseRightOut, summary="Assign a driver")
def assign(session: DbSession, principal: Reader, right_id: str, data: AssignIn) -> Any:
    """The holding haulier (`release:write`) hands the right to one of its registered drivers."""
    return right_out(service.assign_driver(session, actor=principal, right_id=right_id, driver_id=data.driver_id))


@router.post("/rights/{right_id}/lights", response_model=ReleaseRightOut, summary="Set the customs or terminal light")
def set_light(session: DbSession, principal: Reader, right_id: str, data: LightIn) -> Any:
    """Customs (`release:customs`) set the customs light, the right's terminal (`release:write`) the terminal light;
    green or red."""
    return right_out(service.set_light(session, actor=principal, right_id=right_id, light=data.light, ok=data.ok))


@router.post("/rights/{right_id}/revoke", response_model=ReleaseRightOut, summary="Revoke a release right")
def revoke(session: DbSession, principal: Reader, right_id: str, data: RevokeIn) -> Any:
    """The issuing line (`release:write`) withdraws an active right, with the reason."""
    return right_out(service.revoke(session, actor=principal, right_id=right_id, reason=data.reason))


@router.post("/gate", response_model=GateDecisionOut, summary="Check a pick-up at the gate")
def gate(session: DbSession, principal: Reader, data: GateCheckIn) -> Any:
    """A terminal operator (`release:write`) presents the container and the driver's identity token: allowed only
    for an active right at this terminal, assigned to that driver, with all three lights green. The answer is a
    decision with the reason (200 either way); a denial raises a port alert."""
    decision = service.gate_check(
        session, actor=principal, container_number=data.container_number, driver_token=data.driver_token
    )
    return _gate_out(decision)


@router.post("/drivers", response_model=DriverCreated, status_code=201, summary="Register a driver")
def register_driver(session: DbSession, principal: Reader, data: DriverIn) -> Any:
    """A haulier (`release:write`) registers a driver; the identity token is in this answer only."""
    driver, token = service.register_driver(session, actor=principal, data=data)
    return DriverCreated(**DriverOut.model_validate(driver).model_dump(), token=token)


@router.get("/drivers", response_model=list[DriverOut], summary="List your organisation's drivers")
def list_drivers(session: DbSession, principal: Reader) -> Any:
    """The drivers a haulier registered (never their tokens)."""
    return service.list_drivers(session, actor=principal)


@router.post("/drivers/{driver_id}/deactivate", response_model=DriverOut, summary="Deactivate a driver")
def deactivate_driver(session: DbSession, principal: Reader, driver_id: str) -> Any:
    """The haulier (`release:write`) deactivates a driver whose token was lost or stolen: the gate refuses it."""
    return service.deactivate_driver(session, actor=principal, driver_id=driver_id)


# ---------------------------------------------------------------- pages


def _list_context(
    session: Session, principal: Principal, *, status: str | None, container: str | None
) -> dict[str, Any]:
    rights, total = service.list_rights(
        session, actor=principal, status=status or None, container_number=container or None, limit=200
    )
    ids: list[str | None] = []
    for r in rights:
        ids += [r.issuer_org_id, r.holder_org_id, r.terminal_org_id, r.sharing_group_id]
    context: dict[str, Any] = {
        "rights": rights,
        "total": total,
        "now": utcnow(),
        "statuses": [s.value for s in RightStatus],
        "status": status or "",
        "container": container or "",
        "can_issue": principal.has("release:write") and principal.org_kind == OrgKind.SHIPPING_LINE,
        "is_haulier": principal.has("release:write") and principal.org_kind == OrgKind.HAULIER,
        "is_terminal": principal.has("release:write") and principal.org_kind == OrgKind.TERMINAL_OPERATOR,
        "terminals": [],
        "groups": [],
        "drivers": [],
    }
    if context["can_issue"]:
        context["terminals"], context["groups"] = service.issue_options(session, actor=principal)
        ids += [t.id for t in context["terminals"]]
    if context["is_haulier"]:
        context["drivers"] = service.list_drivers(session, actor=principal)
    context["names"] = sharing.directory_names(session, ids=ids)
    return context


def _list_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    status: str | None = None,
    container: str | None = None,
    **extra: Any,
) -> Response:
    context = _list_context(session, principal, status=status, container=container)
    return render(request, "release/list.html", status_code=status_code, **context, **extra)


def _detail_page(
    request: Request, session: Session, principal: Principal, right_id: str, *, status_code: int = 200, **extra: Any
) -> Response:
    right, steps = service.get_with_chain(session, actor=principal, right_id=right_id)
    allowed = service.allowed_steps(session, actor=principal, right=right)
    targets = service.transfer_targets(session, right=right) if allowed["transfer"] else []
    drivers = [d for d in service.list_drivers(session, actor=principal) if d.active] if allowed["assign"] else []
    ids: list[str | None] = [right.issuer_org_id, right.holder_org_id, right.terminal_org_id, right.sharing_group_id]
    for s in steps:
        ids += [s.from_org_id, s.to_org_id, s.by_org_id]
    light_orgs = {"commercial": right.issuer_org_id}
    for s in steps:
        if s.light:
            light_orgs[s.light] = s.by_org_id or ""
    return render(
        request,
        "release/detail.html",
        status_code=status_code,
        right=right,
        status=right.effective_status(utcnow()),
        steps=steps,
        allowed=allowed,
        targets=targets,
        drivers=drivers,
        light_orgs=light_orgs,
        names=sharing.directory_names(session, ids=ids),
        driver_names=service.driver_names(session, ids=[right.driver_id, *(s.driver_id for s in steps)]),
        **extra,
    )


@pages.get("/release", response_class=HTMLResponse)
def release_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    status: Annotated[str, Query(max_length=12)] = "",
    container: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The release rights you may see, with their lights; the forms your organisation's part calls for."""
    if status and status not in {s.value for s in RightStatus}:
        raise InvalidInput(f"unknown status {status!r}", field="status")
    return _list_page(request, session, principal, status=status, container=container)


@pages.post("/release/issue", response_class=HTMLResponse)
def release_issue(
    request: Request,
    session: DbSession,
    principal: Reader,
    container_number: Annotated[str, Form(max_length=20)] = "",
    transport_document: Annotated[str, Form(max_length=40)] = "",
    consignee: Annotated[str, Form(max_length=200)] = "",
    terminal_org_id: Annotated[str, Form(max_length=40)] = "",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
    days: Annotated[int, Form(ge=1, le=90)] = 14,
) -> Response:
    """Issue a right from the list page; on to its chain."""
    try:
        data = form_model(
            ReleaseRightIn,
            container_number=container_number,
            transport_document=transport_document,
            consignee=consignee,
            terminal_org_id=terminal_org_id,
            sharing_group_id=sharing_group_id,
            expires_at=utcnow() + timedelta(days=days),
        )
        right = service.issue(session, actor=principal, data=data)
    except PortGuardError as exc:
        return _list_page(request, session, principal, status_code=exc.status, error=exc.detail)
    return Response(status_code=303, headers={"Location": f"/release/{right.id}"})


@pages.post("/release/drivers", response_class=HTMLResponse)
def release_register_driver(
    request: Request,
    session: DbSession,
    principal: Reader,
    name: Annotated[str, Form(max_length=200)] = "",
    document_number: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Register a driver from the list page; the page shows the identity token this once."""
    try:
        driver, token = service.register_driver(
            session, actor=principal, data=form_model(DriverIn, name=name, document_number=document_number)
        )
    except PortGuardError as exc:
        return _list_page(request, session, principal, status_code=exc.status, error=exc.detail)
    return _list_page(request, session, principal, status_code=201, new_driver=driver, new_token=token)


@pages.post("/release/gate", response_class=HTMLResponse)
def release_gate(
    request: Request,
    session: DbSession,
    principal: Reader,
    container_number: Annotated[str, Form(max_length=20)] = "",
    driver_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check a pick-up from a page: the decision on the right's chain (or on the list when there is no right)."""
    try:
        data = form_model(GateCheckIn, container_number=container_number, driver_token=driver_token)
        decision = service.gate_check(
            session, actor=principal, container_number=data.container_number, driver_token=data.driver_token
        )
    except PortGuardError as exc:
        return _list_page(request, session, principal, status_code=exc.status, error=exc.detail)
    if decision.right_id is not None:
        try:
            return _detail_page(request, session, principal, decision.right_id, decision=decision)
        except NotFound:
            pass
    return _list_page(request, session, principal, decision=decision, container=decision.container_number)


@pages.get("/release/{right_id}", response_class=HTMLResponse)
def release_detail(request: Request, session: DbSession, principal: Reader, right_id: str) -> Response:
    """One right: its lights, its chain of steps, and the next steps you may take."""
    return _detail_page(request, session, principal, right_id)


def _step_page(request: Request, session: Session, principal: Principal, right_id: str, step: Any) -> Response:
    """Run one step from the chain page: back to the chain, or the chain with the reason it was refused."""
    try:
        step()
    except PortGuardError as exc:
        return _detail_page(request, session, principal, right_id, status_code=exc.status, error=exc.detail)
    return Response(status_code=303, headers={"Location": f"/release/{right_id}"})


@pages.post("/release/{right_id}/transfer", response_class=HTMLResponse)
def release_transfer(
    request: Request,
    session: DbSession,
    principal: Reader,
    right_id: str,
    to_org_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Pass the right on from its chain page."""

    def step() -> None:
        data = form_model(TransferIn, to_org_id=to_org_id)
        service.transfer(session, actor=principal, right_id=right_id, to_org_id=data.to_org_id)

    return _step_page(request, session, principal, right_id, step)


@pages.post("/release/{right_id}/assign", response_class=HTMLResponse)
def release_assign(
    request: Request,
    session: DbSession,
    principal: Reader,
    right_id: str,
    driver_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Assign a driver from the chain page."""

    def step() -> None:
        data = form_model(AssignIn, driver_id=driver_id)
        service.assign_driver(session, actor=principal, right_id=right_id, driver_id=data.driver_id)

    return _step_page(request, session, principal, right_id, step)


@pages.post("/release/{right_id}/light", response_class=HTMLResponse)
def release_light(
    request: Request,
    session: DbSession,
    principal: Reader,
    right_id: str,
    light: Annotated[str, Form(max_length=12)] = "",
    ok: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Set the customs or terminal light from the chain page."""

    def step() -> None:
        data = form_model(LightIn, light=light, ok=ok)
        service.set_light(session, actor=principal, right_id=right_id, light=data.light, ok=data.ok)

    return _step_page(request, session, principal, right_id, step)


@pages.post("/release/{right_id}/revoke", response_class=HTMLResponse)
def release_revoke(
    request: Request,
    session: DbSession,
    principal: Reader,
    right_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Revoke the right from its chain page."""

    def step() -> None:
        data = form_model(RevokeIn, reason=reason)
        service.revoke(session, actor=principal, right_id=right_id, reason=data.reason)

    return _step_page(request, session, principal, right_id, step)
