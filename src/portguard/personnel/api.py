"""HTTP for personnel: the staff register, access-event logs, insider signals and screening; and their pages (the
register with vetting and signal counts, one employee, the screening results).

Thin over `service`. Every route needs a signed-in user; the service checks `employee:read` (the employer's
security officers and police analysts hold it), and `employee:write` and the employer for a change, after the
request was validated, so a malformed request is told what is wrong with it before who may send it (as the release
routes do). The pages need `employee:read` up front: a page is only ever asked for by a browser. Police state
their reason as `X-Justification` (the API) or the `justification` field (the pages, which carry it from page to
page); the service refuses them without one (428), and keeps it in the audit chain.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from portguard.core.clock import utcnow
from portguard.core.deps import CurrentPrincipal, DbSession, Justification, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput, JustificationRequired, PortGuardError
from portguard.core.pages import form_model, render
from portguard.core.policy import OrgKind, Principal
from portguard.personnel import service
from portguard.personnel import signals as insider
from portguard.personnel.models import (
    EXPIRING_DAYS,
    WEEKDAYS,
    Employee,
    EmployeeIn,
    EmployeePatch,
    EventBatchIn,
    ScreenIn,
    Screening,
    VettingStatus,
)
from portguard.sharing import service as sharing
from portguard.sharing.models import Page

router = APIRouter(prefix="/api/personnel", tags=["personnel"], responses=PROBLEM_RESPONSES)
pages = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require("employee:read"))]
MAX_UPLOAD = 20 << 20  # employee registers and a month of access logs fit well below this
VettingFilter = Literal["pending", "cleared", "refused", "expired", "expiring"]


# ---------------------------------------------------------------- shapes


class EmployeeOut(BaseModel):
    id: str
    name: str
    birth_date: date | None
    job_role: str
    badge_id: str
    vetting_status: VettingStatus = Field(description="as in effect today: a cleared vetting past its date is expired")
    vetting_recorded: VettingStatus = Field(description="as recorded")
    vetting_expires: date | None
    vetting_expiring: bool = Field(description=f"cleared, ending within {EXPIRING_DAYS} days")
    phone: str | None
    email: str | None
    street: str | None
    postcode: str | None
    city: str | None
    country: str
    shift_start: int
    shift_end: int
    shift_days: list[str]
    work_areas: list[str]
    active: bool
    owner_org_id: str
    handling: str
    sharing_group_id: str | None
    created_at: datetime
    updated_at: datetime


class AccessEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    employee_id: str
    at: datetime
    kind: str
    zone: str | None
    system: str | None
    action: str | None
    container_number: str | None
    source: str


class SignalOut(BaseModel):
    kind: Literal["outside_shift", "lookup_outside_area", "near_seized_container"]
    employee_id: str
    employee_name: str
    at: datetime
    reason: str
    evidence: dict[str, Any]


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    employee_id: str
    run_id: str
    run_at: datetime
    run_by: str | None
    run_by_org_id: str
    justification: str | None
    watchlist_hits: list[dict[str, Any]] = Field(description="watch-list entries matched, with reasons and weights")
    network_hits: list[dict[str, Any]] = Field(description="network entities sharing a phone, e-mail or address")
    signal_counts: dict[str, int]


class ImportOut(BaseModel):
    name: str
    rows: int
    created: int
    updated: int
    unchanged: int
    created_ids: list[str]
    updated_ids: list[str]


class EventReportOut(BaseModel):
    name: str
    rows: int
    accepted: int
    duplicates: int
    employees: int


def employee_out(employee: Employee) -> EmployeeOut:
    """The API shape of an employee, with the vetting in effect today."""
    today = utcnow().date()
    return EmployeeOut(
        id=employee.id,
        name=employee.name,
        birth_date=employee.birth_date,
        job_role=employee.job_role,
        badge_id=employee.badge_id,
        vetting_status=VettingStatus(employee.vetting_state(today)),
        vetting_recorded=VettingStatus(employee.vetting_status),
        vetting_expires=employee.vetting_expires,
        vetting_expiring=employee.vetting_expiring(today),
        phone=employee.phone,
        email=employee.email,
        street=employee.street,
        postcode=employee.postcode,
        city=employee.city,
        country=employee.country,
        shift_start=employee.shift_start,
        shift_end=employee.shift_end,
        shift_days=list(employee.shift_days or []),
        work_areas=list(employee.work_areas or []),
        active=employee.active,
        owner_org_id=employee.owner_org_id,
        handling=employee.handling,
        sharing_group_id=employee.sharing_group_id,
        created_at=employee.created_at,
        updated_at=employee.updated_at,
    )


def _signal_out(signal: insider.Signal) -> SignalOut:
    return SignalOut.model_validate(signal.as_dict())


def _text(upload: UploadFile) -> tuple[str, str]:
    """(file name, text) of an upload: UTF-8, at most MAX_UPLOAD bytes."""
    name = (upload.filename or "upload").rsplit("/", 1)[-1][:200] or "upload"
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"{name} is larger than {MAX_UPLOAD >> 20} MiB; load it with the CLI")
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name} is not UTF-8 text (byte {exc.start})") from None


# ---------------------------------------------------------------- JSON API


@router.get("/employees", response_model=Page[EmployeeOut], summary="List employees you may see")
def list_employees(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    justification: Justification,
    vetting: Annotated[VettingFilter | None, Query(description="vetting in effect today, or 'expiring'")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name or badge id")] = None,
    active: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    """Your organisation's staff, by name; police see what an employer shared with them, with `X-Justification`."""
    items, total = service.list_employees(
        session,
        actor=principal,
        justification=justification,
        vetting=vetting,
        q=q,
        active=active,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page([employee_out(e) for e in items], total)


@router.post("/employees", response_model=EmployeeOut, status_code=201, summary="Register an employee")
def register(session: DbSession, principal: CurrentPrincipal, data: EmployeeIn) -> Any:
    """The employer's security (`employee:write`) registers a member of staff; the badge id is unique within the
    organisation. AMBER+STRICT (the default) keeps the record to your organisation; AMBER shares it with a group."""
    return employee_out(service.register(session, actor=principal, data=data))


@router.post("/employees/import", response_model=ImportOut, summary="Import employees from CSV")
def import_employees(
    session: DbSession,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="CSV with a header naming EmployeeIn's fields")],
    handling: Annotated[Literal["AMBER+STRICT", "AMBER"], Form()] = "AMBER+STRICT",
    sharing_group_id: Annotated[str | None, Form(max_length=40)] = None,
) -> Any:
    """Register or update (by badge id) the employees of a CSV file: all rows or none, each error with its row and
    column in `errors`; the same file twice changes nothing."""
    name, text = _text(file)
    report = service.import_employees(
        session, actor=principal, text=text, name=name, handling=handling, sharing_group_id=sharing_group_id or None
    )
    return report.as_dict()


@router.get("/employees/{employee_id}", response_model=EmployeeOut, summary="Read an employee")
def get_employee(
    session: DbSession, principal: CurrentPrincipal, employee_id: str, justification: Justification
) -> Any:
    """One employee; police need `X-Justification` for another organisation's staff."""
    return employee_out(service.get(session, actor=principal, employee_id=employee_id, justification=justification))


@router.patch("/employees/{employee_id}", response_model=EmployeeOut, summary="Change an employee")
def update_employee(session: DbSession, principal: CurrentPrincipal, employee_id: str, data: EmployeePatch) -> Any:
    """The employer (`employee:write`) changes the fields given; the result is validated as a whole."""
    return employee_out(service.update(session, actor=principal, employee_id=employee_id, data=data))


@router.get("/employees/{employee_id}/events", response_model=list[AccessEventOut], summary="An employee's access")
def employee_events(
    session: DbSession,
    principal: CurrentPrincipal,
    employee_id: str,
    justification: Justification,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    """Badge and system-access events of one employee, oldest first."""
    events = service.list_events(
        session,
        actor=principal,
        employee_id=employee_id,
        justification=justification,
        start=start,
        end=end,
        limit=limit,
    )
    return [AccessEventOut.model_validate(e) for e in events]


@router.get("/employees/{employee_id}/signals", response_model=list[SignalOut], summary="An employee's signals")
def employee_signals(
    session: DbSession, principal: CurrentPrincipal, employee_id: str, justification: Justification
) -> Any:
    """Insider-risk signals of one employee, each with the reason and the evidence, oldest first."""
    signals = service.insider_signals(session, actor=principal, employee_ids=[employee_id], justification=justification)
    return [_signal_out(s) for s in signals]


@router.get(
    "/employees/{employee_id}/screenings", response_model=list[ScreeningOut], summary="An employee's screenings"
)
def employee_screenings(
    session: DbSession, principal: CurrentPrincipal, employee_id: str, justification: Justification
) -> list[Screening]:
    """The screenings your organisation ran on one employee, newest first (another organisation's are not shown)."""
    return service.screenings_for(session, actor=principal, employee_id=employee_id, justification=justification)


@router.get("/signals", response_model=list[SignalOut], summary="Insider signals of the staff you may see")
def signals(
    session: DbSession,
    principal: CurrentPrincipal,
    justification: Justification,
    tolerance_minutes: Annotated[int, Query(ge=0, le=360, description="minutes either side of a shift")] = 15,
    window_hours: Annotated[int, Query(ge=1, le=720, description="hours before a seizure that count")] = 48,
) -> Any:
    """Access outside the shift, look-ups of containers outside the work areas, and presence near a container later
    seized (the latter only from seizures you may read), oldest first."""
    found = service.insider_signals(
        session,
        actor=principal,
        justification=justification,
        tolerance=timedelta(minutes=tolerance_minutes),
        window=timedelta(hours=window_hours),
    )
    return [_signal_out(s) for s in found]


@router.post("/events", response_model=EventReportOut, summary="Record access events")
def record_events(session: DbSession, principal: CurrentPrincipal, data: EventBatchIn) -> Any:
    """The employer (`employee:write`) sends badge and system-access events of its staff; all or none, the same
    event twice is stored once."""
    return service.record_events(session, actor=principal, events=data.events).as_dict()


@router.post("/events/import", response_model=EventReportOut, summary="Import access events from a file")
def import_events(
    session: DbSession,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="JSON Lines (one event a line) or CSV")],
    format: Annotated[Literal["jsonl", "csv"] | None, Form(description="default: from the file name")] = None,
) -> Any:
    """A badge-system or IT-system export: all rows or none, each error with its row; the same file twice stores
    nothing."""
    name, text = _text(file)
    return service.import_events(session, actor=principal, text=text, name=name, format=format).as_dict()


@router.post("/screenings", response_model=list[ScreeningOut], summary="Screen employees")
def screen(session: DbSession, principal: CurrentPrincipal, data: ScreenIn) -> list[Screening]:
    """Screen the employees you may read (or those named) against the watch lists and the network you may see; one
    screening per employee, kept for your organisation only, with the justification in the audit chain."""
    return service.screen(session, actor=principal, employee_ids=data.employee_ids, justification=data.justification)


# ---------------------------------------------------------------- pages


def _can_write(principal: Principal) -> bool:
    return principal.has("employee:write") and principal.org_kind != OrgKind.POLICE


def _needs_reason(principal: Principal, justification: str | None) -> bool:
    return principal.org_kind == OrgKind.POLICE and not (justification and justification.strip())


def _reason_page(request: Request, *, action: str, what: str, status_code: int = 200) -> Response:
    return render(request, "personnel/reason.html", status_code=status_code, action=action, what=what)


def _list_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    justification: str | None,
    vetting: str | None = None,
    q: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    if _needs_reason(principal, justification):
        return _reason_page(request, action="/personnel", what="the staff register")
    employees, total, counts = service.overview(
        session, actor=principal, justification=justification, vetting=vetting or None, q=q or None
    )
    groups = service.sharing_options(session, actor=principal) if _can_write(principal) else []
    names = sharing.directory_names(session, ids=[*(e.owner_org_id for e in employees), *principal.group_ids])
    today = utcnow().date()
    return render(
        request,
        "personnel/list.html",
        status_code=status_code,
        employees=employees,
        total=total,
        counts=counts,
        today=today,
        vetting=vetting or "",
        q=q or "",
        filters=["pending", "cleared", "refused", "expired", "expiring"],
        expiring_days=EXPIRING_DAYS,
        can_write=_can_write(principal),
        groups=groups,
        weekdays=WEEKDAYS,
        justification=justification or "",
        names=names,
        shift_text=insider.shift_text,
        **extra,
    )


@pages.get("/personnel", response_class=HTMLResponse)
def personnel_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    vetting: Annotated[str, Query(max_length=12)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    justification: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The staff register: vetting in effect (expiring and expired highlighted), each employee's insider signals;
    the employer's form to add an employee."""
    if vetting and vetting not in {"pending", "cleared", "refused", "expired", "expiring"}:
        raise InvalidInput(f"unknown vetting filter {vetting!r}", field="vetting")
    return _list_page(request, session, principal, justification=justification or None, vetting=vetting, q=q)


@pages.post("/personnel/employees", response_class=HTMLResponse)
def personnel_add(
    request: Request,
    session: DbSession,
    principal: Reader,
    name: Annotated[str, Form(max_length=200)] = "",
    job_role: Annotated[str, Form(max_length=80)] = "",
    badge_id: Annotated[str, Form(max_length=40)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    vetting_status: Annotated[str, Form(max_length=12)] = "pending",
    vetting_expires: Annotated[str, Form(max_length=10)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    street: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=20)] = "",
    city: Annotated[str, Form(max_length=100)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
    shift_start: Annotated[int, Form(ge=0, le=23)] = 7,
    shift_end: Annotated[int, Form(ge=0, le=23)] = 15,
    shift_days: Annotated[list[str] | None, Form()] = None,
    work_areas: Annotated[str, Form(max_length=1000)] = "",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Add an employee from the register page (shared AMBER with the group chosen, else AMBER+STRICT); on to the
    employee's page."""
    fields: dict[str, Any] = {
        "name": name,
        "job_role": job_role,
        "badge_id": badge_id,
        "birth_date": birth_date or None,
        "vetting_status": vetting_status,
        "vetting_expires": vetting_expires or None,
        "phone": phone or None,
        "email": email or None,
        "street": street or None,
        "postcode": postcode or None,
        "city": city or None,
        "country": country,
        "shift_start": shift_start,
        "shift_end": shift_end,
        "shift_days": shift_days or [],
        "work_areas": work_areas,
        "handling": "AMBER" if sharing_group_id else "AMBER+STRICT",
        "sharing_group_id": sharing_group_id or None,
    }
    try:
        employee = service.register(session, actor=principal, data=form_model(EmployeeIn, **fields))
    except PortGuardError as exc:
        return _list_page(request, session, principal, justification=None, status_code=exc.status, error=exc.detail)
    return Response(status_code=303, headers={"Location": f"/personnel/{employee.id}"})


def _screening_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    justification: str | None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    if _needs_reason(principal, justification):
        return _reason_page(request, action="/personnel/screening", what="the screening results")
    rows = service.screening_overview(session, actor=principal, justification=justification)
    runs = [s for _, s in rows if s is not None]
    latest_run = max(runs, key=lambda s: s.run_at) if runs else None
    return render(
        request,
        "personnel/screening.html",
        status_code=status_code,
        rows=rows,
        flagged=sum(1 for _, s in rows if s is not None and (s.watchlist_hits or s.network_hits)),
        latest_run=latest_run,
        justification=justification or "",
        today=utcnow().date(),
        **extra,
    )


@pages.get("/personnel/screening", response_class=HTMLResponse)
def screening_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    justification: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """Screening results of every employee you may see (your organisation's latest screening of each), with the
    hits and their reasons; a button to run the screening."""
    return _screening_page(request, session, principal, justification=justification or None)


@pages.post("/personnel/screening", response_class=HTMLResponse)
def screening_run(
    request: Request,
    session: DbSession,
    principal: Reader,
    justification: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Run the screening of every employee you may see; back to the results."""
    try:
        data = form_model(ScreenIn, justification=justification)
        done = service.screen(session, actor=principal, justification=data.justification)
    except PortGuardError as exc:
        if isinstance(exc, JustificationRequired) or _needs_reason(principal, justification):
            return _reason_page(
                request, action="/personnel/screening", what="the screening results", status_code=exc.status
            )
        return _screening_page(
            request,
            session,
            principal,
            justification=justification or None,
            status_code=exc.status,
            error=exc.detail,
        )
    query = {"ran": str(len(done))}
    if principal.org_kind == OrgKind.POLICE:
        query["justification"] = data.justification
    return Response(status_code=303, headers={"Location": f"/personnel/screening?{urlencode(query)}"})


@pages.get("/personnel/{employee_id}", response_class=HTMLResponse)
def employee_page(
    request: Request,
    session: DbSession,
    principal: Reader,
    employee_id: str,
    justification: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """One employee: identity, vetting, the latest screening's hits with their reasons, the insider signals and a
    chart of access and signals per hour of day."""
    if _needs_reason(principal, justification):
        return _reason_page(request, action=f"/personnel/{employee_id}", what="this employee's record")
    employee, events, found, latest = service.employee_view(
        session, actor=principal, employee_id=employee_id, justification=justification or None
    )
    profile = insider.hour_profile(events, found)
    counts = insider.signal_counts(found).get(employee.id, dict.fromkeys(insider.SIGNAL_KINDS, 0))
    return render(
        request,
        "personnel/detail.html",
        employee=employee,
        events=events[-200:],
        event_total=len(events),
        signals=found,
        counts=counts,
        screening=latest,
        today=utcnow().date(),
        shift=insider.shift_text(employee),
        chart=json.dumps(profile),
        justification=justification,
        names=sharing.directory_names(session, ids=[employee.owner_org_id, employee.sharing_group_id]),
    )
