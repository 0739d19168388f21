"""Personnel: the register, its access logs, insider-risk signals and screening — every read checked and audited.

Why an access rule on top of the policy: staff records are personal data of people who are not suspects. The
policy decides visibility as for any record (default AMBER+STRICT, the employer only; the employer may choose AMBER
with a sharing group that includes the police). On top of that, whoever is not the employer may read an employee
only as police (`OrgKind.POLICE`) and only with a stated justification, which the audit chain keeps: a terminal in
the same sharing group sees nothing of another terminal's staff, and customs see nothing at all (no role of theirs
grants `employee:read`). A non-police reader is told "not found" (as for any record it may not see); police without
a justification get 428 with the reason, so they can give one. Every list and read is a consultation in the audit
chain (`audit.consult_list` / `consult_one`), every change an `audit.append`.

Insider signals are computed, not stored: each reading recomputes them from the access logs and from what the
reader may see of the tracking events and control results at that moment, so they can never show a reader a fact
hidden from them (see `insider_signals`). Screening stores its hits per employee, owned by the screening
organisation (see `personnel.models`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from portguard.core import audit, bulk
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.db import paginate
from portguard.core.errors import Forbidden, InvalidInput, JustificationRequired, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Handling, LegalRegime, OrgKind, Principal, can, require_permission
from portguard.core.policy import visible_filter as policy_filter
from portguard.personnel import files
from portguard.personnel import signals as insider
from portguard.personnel.models import (
    EXPIRING_DAYS,
    AccessEvent,
    AccessEventIn,
    Employee,
    EmployeeIn,
    EmployeePatch,
    Screening,
    VettingStatus,
)
from portguard.personnel.signals import SEIZURE_WINDOW, SHIFT_TOLERANCE, SIGNAL_KINDS, Signal, signal_counts
from portguard.sharing.models import SharingGroup, SharingGroupMember

log = logging.getLogger(__name__)

SUBJECT_COLUMNS = ("record_id", "name", "street", "postcode", "city", "country", "phone", "email")
EMPLOYEE_COLUMNS = tuple(EmployeeIn.model_fields)
EVENT_COLUMNS = tuple(AccessEventIn.model_fields)
NEEDS_REASON = "reading another organisation's staff needs a justification (police only)"
_CHUNK = 500


@dataclass
class ImportReport:
    """What an employee import did: rows read, employees created, updated and left unchanged."""

    name: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (counts and the ids created and updated)."""
        return {
            "name": self.name,
            "rows": self.rows,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "created_ids": self.created,
            "updated_ids": self.updated,
        }


@dataclass
class EventReport:
    """What recording access events did: rows read, events stored, duplicates skipped."""

    name: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    employees: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


# ---------------------------------------------------------------- the access rule


def _reason(justification: str | None) -> str | None:
    return justification.strip() if justification and justification.strip() else None


def reader_filter(actor: Principal, *, justification: str | None = None) -> ColumnElement[bool]:
    """The SQL condition selecting the employees `actor` may list: the policy's (nothing without `employee:read`),
    and, for anyone but the employer, police with a justification (428 for police who may read staff, without one)."""
    allowed = policy_filter(actor, Employee)
    if actor.org_kind == OrgKind.POLICE and actor.has("employee:read"):
        if _reason(justification) is None:
            raise JustificationRequired(
                f"{NEEDS_REASON}: say why you consult the staff register",
                hint="send the reason in the X-Justification header or the justification field",
            )
        return allowed
    return and_(allowed, Employee.owner_org_id == actor.org_id)


def check_read(actor: Principal, employee: Employee, *, justification: str | None = None) -> None:
    """Raise unless `actor` may read `employee`: NotFound for whoever may not see it (as for any record), 428 for
    police without a reason (not audited: the read that follows is)."""
    decision = can(actor, Action.READ, employee, justification=justification)
    if not decision:
        raise NotFound(f"no employee {employee.id}")
    if employee.owner_org_id != actor.org_id:
        if actor.org_kind != OrgKind.POLICE:
            raise NotFound(f"no employee {employee.id}")
        if _reason(justification) is None:
            raise JustificationRequired(
                f"employee {employee.id} belongs to another organisation: {NEEDS_REASON}",
                hint="send the reason in the X-Justification header",
            )


def get(session: Session, *, actor: Principal, employee_id: str, justification: str | None = None) -> Employee:
    """One employee, if the access rule lets the actor read it (consultation audited)."""
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"no employee {employee_id}")
    check_read(actor, employee, justification=justification)
    audit.consult_one(
        session, actor=actor, record=employee, object_type="employee", justification=_reason(justification)
    )
    return employee


def _vetting_condition(state: str, today: date) -> ColumnElement[bool]:
    cleared = Employee.vetting_status == VettingStatus.CLEARED.value
    if state == VettingStatus.EXPIRED.value:
        return or_(Employee.vetting_status == state, and_(cleared, Employee.vetting_expires < today))
    if state == VettingStatus.CLEARED.value:
        return and_(cleared, or_(Employee.vetting_expires.is_(None), Employee.vetting_expires >= today))
    if state == "expiring":
        return and_(
            cleared, Employee.vetting_expires >= today, Employee.vetting_expires <= today + timedelta(EXPIRING_DAYS)
        )
    if state in {s.value for s in VettingStatus}:
        return Employee.vetting_status == state
    raise InvalidInput(f"unknown vetting filter {state!r}: pending, cleared, refused, expired or expiring")


def list_employees(
    session: Session,
    *,
    actor: Principal,
    justification: str | None = None,
    vetting: str | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Employee], int]:
    """The employees the actor may see, by name (`vetting`: the status in effect today, or 'expiring'; `q`: part of
    the name or the badge id); the page shown is audited as one consultation."""
    query = select(Employee).where(reader_filter(actor, justification=justification))
    if vetting:
        query = query.where(_vetting_condition(vetting, utcnow().date()))
    if q and q.strip():
        needle = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Employee.name).like(needle), func.lower(Employee.badge_id).like(needle)))
    if active is not None:
        query = query.where(Employee.active.is_(active))
    query = query.order_by(Employee.name, Employee.id)
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(
        session, actor=actor, object_type="employee", records=items, justification=_reason(justification)
    )
    return items, total


def _visible(
    session: Session, *, actor: Principal, employee_ids: Sequence[str] | None, justification: str | None
) -> list[Employee]:
    """Employees the actor may read (all, or those of `employee_ids`; an unreadable id is NotFound), audited."""
    if employee_ids is None:
        employees = list(
            session.scalars(
                select(Employee)
                .where(reader_filter(actor, justification=justification))
                .order_by(Employee.name, Employee.id)
            )
        )
    else:
        wanted = list(dict.fromkeys(employee_ids))
        found = {e.id: e for e in _chunked_get(session, wanted)}
        employees = []
        for employee_id in wanted:
            employee = found.get(employee_id)
            if employee is None:
                raise NotFound(f"no employee {employee_id}")
            check_read(actor, employee, justification=justification)
            employees.append(employee)
    audit.consult_list(
        session, actor=actor, object_type="employee", records=employees, justification=_reason(justification)
    )
    return employees


def employee_names(session: Session, *, ids: Sequence[str]) -> dict[str, str]:
    """Names of the employees among `ids` (shown beside records the caller has already read)."""
    return {e.id: e.name for e in _chunked_get(session, sorted(set(ids)))}


def _chunked_get(session: Session, ids: Sequence[str]) -> list[Employee]:
    out: list[Employee] = []
    for i in range(0, len(ids), _CHUNK):
        out += session.scalars(select(Employee).where(Employee.id.in_(ids[i : i + _CHUNK])))
    return out


# ---------------------------------------------------------------- the register


def _check_sharing(session: Session, actor: Principal, handling: str, group_id: str | None) -> None:
    if handling not in (Handling.AMBER.value, Handling.AMBER_STRICT.value):
        raise InvalidInput("staff records are AMBER+STRICT or AMBER with a sharing group", field="handling")
    if group_id is None:
        return
    group = session.get(SharingGroup, group_id)
    if group is None:
        raise InvalidInput(f"no sharing group {group_id}", field="sharing_group_id")
    member = session.scalar(
        select(SharingGroupMember.org_id).where(
            SharingGroupMember.group_id == group_id, SharingGroupMember.org_id == actor.org_id
        )
    )
    if member is None:
        raise InvalidInput(
            f"your organisation is not in the sharing group {group.name}; share with a group you belong to",
            field="sharing_group_id",
        )


def sharing_options(session: Session, *, actor: Principal) -> list[SharingGroup]:
    """The sharing groups the actor's organisation belongs to (what an employee may be shared with), by name."""
    if not actor.group_ids:
        return []
    return list(
        session.scalars(
            select(SharingGroup).where(SharingGroup.id.in_(sorted(actor.group_ids))).order_by(SharingGroup.name)
        )
    )


def _require_writer(actor: Principal) -> None:
    require_permission(actor, "employee:write")
    if actor.org_kind == OrgKind.POLICE:  # cannot happen by the role table; said here so that it never does
        raise Forbidden("staff are registered by their employer")


def _values(data: EmployeeIn) -> dict[str, Any]:
    values = data.model_dump()
    values["vetting_status"] = data.vetting_status.value
    return values


def _badge_taken(session: Session, owner: str, badge_id: str, but: str | None = None) -> bool:
    query = select(Employee.id).where(Employee.owner_org_id == owner, Employee.badge_id == badge_id)
    if but is not None:
        query = query.where(Employee.id != but)
    return session.scalar(query) is not None


def register(session: Session, *, actor: Principal, data: EmployeeIn) -> Employee:
    """Register an employee of the actor's organisation (badge ids are unique per employer)."""
    _require_writer(actor)
    _check_sharing(session, actor, data.handling, data.sharing_group_id)
    if _badge_taken(session, actor.org_id, data.badge_id):
        raise InvalidInput(f"badge {data.badge_id} is already registered to an employee", field="badge_id")
    employee = _new_employee(actor, data, utcnow())
    session.add(employee)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="employee",
        object_id=employee.id,
        legal_regime=LegalRegime.GDPR,
        detail={"badge_id": employee.badge_id, "handling": employee.handling},
    )
    return employee


def _new_employee(actor: Principal, data: EmployeeIn, now: datetime) -> Employee:
    values = _values(data)
    return Employee(
        id=new_id("emp"),
        owner_org_id=actor.org_id,
        legal_regime=LegalRegime.GDPR.value,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        **values,
    )


def _as_input(employee: Employee) -> dict[str, Any]:
    return {name: getattr(employee, name) for name in EMPLOYEE_COLUMNS}


def _apply(employee: Employee, data: EmployeeIn, now: datetime) -> list[str]:
    """Set `employee`'s fields from `data`; the names of those that changed."""
    changed = []
    for name, value in _values(data).items():
        if getattr(employee, name) != value:
            setattr(employee, name, value)
            changed.append(name)
    if changed:
        employee.updated_at = now
    return changed


def _validated(model: type[Any], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{where}: {reason}" if where else reason, field=where or None) from None


def update(session: Session, *, actor: Principal, employee_id: str, data: EmployeePatch) -> Employee:
    """Change an employee of the actor's organisation (only the fields given; the result validated as a whole)."""
    employee = session.get(Employee, employee_id, with_for_update=True)
    if employee is None:
        raise NotFound(f"no employee {employee_id}")
    _require_writer(actor)
    if not can(actor, Action.READ, employee) or employee.owner_org_id != actor.org_id:
        raise NotFound(f"no employee {employee_id} of your organisation")
    if not can(actor, Action.UPDATE, employee):
        raise Forbidden("only the employer changes an employee")
    merged = _as_input(employee) | data.model_dump(exclude_unset=True)
    if data.handling == Handling.AMBER_STRICT.value and "sharing_group_id" not in data.model_fields_set:
        merged["sharing_group_id"] = None  # AMBER+STRICT is the employer alone: the group goes with AMBER
    checked: EmployeeIn = _validated(EmployeeIn, merged)
    _check_sharing(session, actor, checked.handling, checked.sharing_group_id)
    if checked.badge_id != employee.badge_id and _badge_taken(session, actor.org_id, checked.badge_id, employee.id):
        raise InvalidInput(f"badge {checked.badge_id} is already registered to an employee", field="badge_id")
    changed = _apply(employee, checked, utcnow())
    if changed:
        audit.append(
            session,
            actor=actor,
            action=AuditAction.ALTER,
            object_type="employee",
            object_id=employee.id,
            legal_regime=LegalRegime.GDPR,
            detail={"changed": changed},
        )
    return employee


def import_employees(
    session: Session,
    *,
    actor: Principal,
    text: str,
    name: str = "employees.csv",
    handling: str = Handling.AMBER_STRICT.value,
    sharing_group_id: str | None = None,
    max_errors: int = 100,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Register or update the employees of a CSV file (by badge id): all rows or none, each error with its row and
    column; importing the same file twice changes nothing the second time. The file is checked before the
    actor's permission, so a malformed file is told what is wrong with it before who may send it."""
    rows = files.csv_rows(text, name=name, known=EMPLOYEE_COLUMNS, required=("name", "job_role", "badge_id", "country"))
    if not rows:
        raise InvalidInput(f"{name}: no rows under the header")
    errors: list[dict[str, Any]] = []
    checked: list[tuple[int, EmployeeIn]] = []
    seen: dict[str, int] = {}
    for n, (line, row) in enumerate(rows, start=1):
        if "__extra__" in row:
            errors.append(files.error(line, None, "more cells than the header has columns"))
        else:
            values = {"handling": handling, "sharing_group_id": sharing_group_id} | files.cells(row)
            try:
                data = EmployeeIn.model_validate(values)
            except ValidationError as exc:
                errors += files.row_errors(line, exc, EMPLOYEE_COLUMNS)
            else:
                if data.badge_id in seen:
                    again = f"badge {data.badge_id} is also on row {seen[data.badge_id]}"
                    errors.append(files.error(line, "badge_id", again))
                else:
                    seen[data.badge_id] = line
                    checked.append((line, data))
        if len(errors) >= max_errors:
            break
        if on_progress is not None and n % 200 == 0:
            on_progress(n)
    if errors:
        raise files.rejected(name, errors[:max_errors], len(rows))
    _require_writer(actor)
    first_of = {}  # each distinct choice of sharing is checked once, on the first row that makes it
    for line, data in checked:
        first_of.setdefault((data.handling, data.sharing_group_id), (line, data))
    for line, data in first_of.values():
        try:
            _check_sharing(session, actor, data.handling, data.sharing_group_id)
        except InvalidInput as exc:
            raise files.rejected(name, [files.error(line, exc.extra.get("field"), exc.detail)], len(rows)) from None
    report = ImportReport(name=name, rows=len(rows))
    existing = {
        e.badge_id: e
        for e in session.scalars(
            select(Employee).where(Employee.owner_org_id == actor.org_id, Employee.badge_id.in_(list(seen)))
        )
    }
    now = utcnow()
    for data in (d for _, d in checked):
        employee = existing.get(data.badge_id)
        if employee is None:
            employee = _new_employee(actor, data, now)
            session.add(employee)
            report.created.append(employee.id)
        elif _apply(employee, data, now):
            report.updated.append(employee.id)
        else:
            report.unchanged += 1
    session.flush()
    if on_progress is not None:
        on_progress(len(rows))
    if report.created or report.updated:
        audit.append(
            session,
            actor=actor,
            action=AuditAction.COLLECT if report.created else AuditAction.ALTER,
            object_type="employee",
            legal_regime=LegalRegime.GDPR,
            detail={"import": name, "rows": report.rows, "created": report.created, "updated": report.updated},
        )
    return report


# ---------------------------------------------------------------- access events


def record_events(
    session: Session, *, actor: Principal, events: Sequence[AccessEventIn], source: str = "api", name: str = "request"
) -> EventReport:
    """Store badge and system-access events of the actor's own employees; the same event twice is stored once.
    The events' employees are looked up among the actor's organisation's first (an unknown badge is bad input)."""
    report = EventReport(name=name, rows=len(events))
    resolved = _resolve(session, actor, [(i + 1, e) for i, e in enumerate(events)], name=name)
    _require_writer(actor)
    _store(session, actor, resolved, source=source, report=report)
    return report


def _resolve(
    session: Session, actor: Principal, events: Sequence[tuple[int, AccessEventIn]], *, name: str
) -> list[tuple[str, AccessEventIn]]:
    """(employee id, event) for each event, the employee found by badge or id among the actor's organisation's."""
    badges = sorted({e.badge_id for _, e in events if e.badge_id})
    ids = sorted({e.employee_id for _, e in events if e.employee_id})
    by_badge: dict[str, str] = {}
    for i in range(0, len(badges), _CHUNK):
        rows = session.execute(
            select(Employee.badge_id, Employee.id).where(
                Employee.owner_org_id == actor.org_id, Employee.badge_id.in_(badges[i : i + _CHUNK])
            )
        )
        by_badge.update({b: e for b, e in rows})
    own_ids: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        own_ids |= set(
            session.scalars(
                select(Employee.id).where(Employee.owner_org_id == actor.org_id, Employee.id.in_(ids[i : i + _CHUNK]))
            )
        )
    out, errors = [], []
    for row, ev in events:
        if ev.badge_id is not None:
            employee_id = by_badge.get(ev.badge_id)
            if employee_id is None:
                errors.append(files.error(row, "badge_id", f"no employee of yours holds badge {ev.badge_id}"))
                continue
        else:
            employee_id = ev.employee_id or ""
            if employee_id not in own_ids:
                errors.append(files.error(row, "employee_id", f"no employee {employee_id} of yours"))
                continue
        out.append((employee_id, ev))
    if errors:
        raise files.rejected(name, errors[:100], len(events))
    return out


def _store(
    session: Session, actor: Principal, events: Sequence[tuple[str, AccessEventIn]], *, source: str, report: EventReport
) -> None:
    keyed: dict[str, tuple[str, AccessEventIn]] = {}
    for employee_id, ev in events:
        keyed.setdefault(ev.content_key(employee_id), (employee_id, ev))
    keys = list(keyed)
    stored: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        stored |= set(session.scalars(select(AccessEvent.key).where(AccessEvent.key.in_(keys[i : i + _CHUNK]))))
    fresh = [(k, v) for k, v in keyed.items() if k not in stored]
    report.duplicates = len(events) - len(fresh)
    report.accepted = len(fresh)
    report.employees = len({employee_id for _, (employee_id, _) in fresh})
    if fresh:
        now = utcnow()
        columns: dict[str, list[Any]] = {
            "id": [new_id("acc") for _ in fresh],
            "key": [k for k, _ in fresh],
            "employee_id": [e for _, (e, _) in fresh],
            "at": [ev.at for _, (_, ev) in fresh],
            "kind": [ev.kind.value for _, (_, ev) in fresh],
            "zone": [ev.zone for _, (_, ev) in fresh],
            "system": [ev.system for _, (_, ev) in fresh],
            "action": [ev.action for _, (_, ev) in fresh],
            "container_number": [ev.container_number for _, (_, ev) in fresh],
            "source": [source[:40]] * len(fresh),
            "received_at": [now] * len(fresh),
        }
        session.flush()
        bulk.insert_columns(session, AccessEvent.__table__, columns)  # type: ignore[arg-type]
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="personnel_access_events",
        legal_regime=LegalRegime.GDPR,
        detail={"source": source, "name": report.name, "accepted": report.accepted, "duplicates": report.duplicates},
    )


def import_events(
    session: Session,
    *,
    actor: Principal,
    text: str,
    name: str = "events.jsonl",
    format: str | None = None,
    source: str = "file",
    max_errors: int = 100,
    on_progress: Callable[[int], None] | None = None,
) -> EventReport:
    """Store a file of access events (JSON Lines, one event a line, or CSV with the event's fields as columns):
    all or nothing, each error with its row; the same file twice stores nothing the second time. The file is
    checked before the actor's permission, as the employee import's is."""
    kind = (format or ("csv" if name.lower().endswith(".csv") else "jsonl")).lower()
    if kind not in ("csv", "jsonl"):
        raise InvalidInput(f"unknown format {format!r}: csv or jsonl", field="format")
    raw: list[tuple[int, Any]] = []
    if kind == "csv":
        table = files.csv_rows(text, name=name, known=EVENT_COLUMNS, required=("at", "kind"))
        extra = ValueError("more cells than the header has columns")
        raw = [(line, extra if "__extra__" in row else files.event_cells(row)) for line, row in table]
    else:
        for line, content in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
            if not content.strip():
                continue
            try:
                raw.append((line, json.loads(content)))
            except json.JSONDecodeError as exc:
                raw.append((line, ValueError(f"not JSON: {exc.msg} at column {exc.colno}")))
    if not raw:
        raise InvalidInput(f"{name}: no events")
    errors: list[dict[str, Any]] = []
    good: list[tuple[int, AccessEventIn]] = []
    for n, (line, item) in enumerate(raw, start=1):
        if isinstance(item, ValueError):
            errors.append(files.error(line, None, str(item)))
        elif not isinstance(item, dict):
            errors.append(files.error(line, None, "an event is a JSON object"))
        else:
            try:
                good.append((line, AccessEventIn.model_validate(item)))
            except ValidationError as exc:
                errors += files.row_errors(line, exc, EVENT_COLUMNS)
        if len(errors) >= max_errors:
            break
        if on_progress is not None and n % 1000 == 0:
            on_progress(n)
    if errors:
        raise files.rejected(name, errors[:max_errors], len(raw))
    report = EventReport(name=name, rows=len(raw))
    resolved = _resolve(session, actor, good, name=name)
    _require_writer(actor)
    _store(session, actor, resolved, source=source, report=report)
    if on_progress is not None:
        on_progress(len(raw))
    return report


def list_events(
    session: Session,
    *,
    actor: Principal,
    employee_id: str,
    justification: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[AccessEvent]:
    """An employee's access events, oldest first, read as a consultation of the employee."""
    employee = get(session, actor=actor, employee_id=employee_id, justification=justification)
    return _events(session, [employee.id], start=start, end=end, limit=limit)


def _events(
    session: Session,
    employee_ids: Sequence[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> list[AccessEvent]:
    out: list[AccessEvent] = []
    for i in range(0, len(employee_ids), _CHUNK):
        query = select(AccessEvent).where(AccessEvent.employee_id.in_(list(employee_ids[i : i + _CHUNK])))
        if start is not None:
            query = query.where(AccessEvent.at >= start)
        if end is not None:
            query = query.where(AccessEvent.at < end)
        query = query.order_by(AccessEvent.at, AccessEvent.id)
        if limit is not None:
            query = query.limit(limit)
        out += session.scalars(query)
    out.sort(key=lambda e: (e.at, e.id))
    return out if limit is None else out[:limit]


def address_text(employee: Employee) -> str:
    """'Maasboulevard 12, 3011 TX Rotterdam, NL' (the parts that are known)."""
    town = f"{employee.postcode or ''} {employee.city or ''}".strip()
    return ", ".join(x for x in (employee.street, town, employee.country) if x)


# ---------------------------------------------------------------- insider signals


def insider_signals(
    session: Session,
    *,
    actor: Principal,
    employee_ids: Sequence[str] | None = None,
    justification: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    tolerance: timedelta = SHIFT_TOLERANCE,
    window: timedelta = SEIZURE_WINDOW,
    tz: str = insider.LOCAL_TZ,
) -> list[Signal]:
    """Insider-risk signals of the employees the actor may read (all, or `employee_ids`), oldest first.

    * `outside_shift`: a badge or system access outside the shift (`tolerance` either side; a shift may run over
      midnight and counts on the day it starts);
    * `lookup_outside_area`: a system look-up of a container that stood, at that moment, in a zone outside the
      employee's work areas (where it stood comes from the tracking events the actor may see; a look-up of a box
      whose place is unknown then, or by someone with no work areas on record, raises nothing);
    * `near_seized_container`: a badge event in the zone where a container stood, within `window` before that
      container was seized. The seizure is a control result read under the actor's own visibility (and needs
      `control:read`): a terminal's security officer, who may not read customs' control results, does not get
      this signal at all, while police who may read the seizure do.

    The employees are audited as one consultation, and the tracking events and control results that the signals
    cite as another each."""
    return _signals(
        session,
        actor=actor,
        employees=_visible(session, actor=actor, employee_ids=employee_ids, justification=justification),
        justification=justification,
        start=start,
        end=end,
        tolerance=tolerance,
        window=window,
        tz=tz,
    )


def _signals(
    session: Session,
    *,
    actor: Principal,
    employees: Sequence[Employee],
    justification: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    **params: Any,
) -> list[Signal]:
    """The signals of employees already read, from their access events between `start` and `end`."""
    if not employees:
        return []
    events = _events(session, [e.id for e in employees], start=start, end=end)
    return insider.compute(
        session,
        actor=actor,
        employees=employees,
        events=events,
        justification=justification,
        start=start,
        end=end,
        **params,
    )


def overview(
    session: Session,
    *,
    actor: Principal,
    justification: str | None = None,
    vetting: str | None = None,
    q: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[Employee], int, dict[str, dict[str, int]]]:
    """A page of the register with each employee's signal counts (one consultation of the employees shown)."""
    employees, total = list_employees(
        session, actor=actor, justification=justification, vetting=vetting, q=q, limit=limit, offset=offset
    )
    signals = _signals(session, actor=actor, employees=employees, justification=justification)
    return employees, total, signal_counts(signals)


def employee_view(
    session: Session, *, actor: Principal, employee_id: str, justification: str | None = None
) -> tuple[Employee, list[AccessEvent], list[Signal], Screening | None]:
    """One employee with their access events, insider signals and the latest screening the actor's organisation
    ran on them (one consultation)."""
    employee = get(session, actor=actor, employee_id=employee_id, justification=justification)
    events = _events(session, [employee.id])
    signals = insider.compute(session, actor=actor, employees=[employee], events=events, justification=justification)
    latest = latest_screenings(session, actor=actor, employee_ids=[employee.id]).get(employee.id)
    return employee, events, signals, latest


# ---------------------------------------------------------------- screening


def _hit_dict(hit: Any) -> dict[str, Any]:
    data = asdict(hit) if is_dataclass(hit) and not isinstance(hit, type) else dict(vars(hit))
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "record_id":
            continue
        if key == "reasons":
            value = [[str(text), float(weight)] for text, weight in value]
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "item"):  # numpy scalars from a data frame
            value = value.item()
        out[key] = value
    return out


def subjects_frame(employees: Sequence[Employee]) -> Any:
    """The employees as the screening functions want them: a pandas frame of `SUBJECT_COLUMNS`."""
    import pandas as pd  # only screening needs pandas

    return pd.DataFrame([e.subject() for e in employees], columns=list(SUBJECT_COLUMNS))


def screen(
    session: Session, *, actor: Principal, employee_ids: Sequence[str] | None = None, justification: str
) -> list[Screening]:
    """Screen employees (all the actor may read, or `employee_ids`) against the watch lists and the network the
    actor may see, with their insider-signal counts; one `Screening` per employee, owned by the actor's
    organisation, and the run audited."""
    reason = _reason(justification)
    if reason is None:
        raise JustificationRequired(
            "screening consults the watch lists and the network in your name: say why",
            hint="e.g. 'periodic staff screening' or a case number",
        )
    from portguard.network import service as network  # the network's resolution stack loads only when screening

    employees = _visible(session, actor=actor, employee_ids=employee_ids, justification=reason)
    run_id = new_id("scr")
    if not employees:
        return []
    subjects = subjects_frame(employees)
    hits = network.screen_against_watchlists(session, actor=actor, subjects=subjects, justification=reason)
    links = network.identifier_links(session, actor=actor, subjects=subjects, justification=reason)
    counts = signal_counts(_signals(session, actor=actor, employees=employees, justification=reason))
    by_employee: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {e.id: ([], []) for e in employees}
    for hit in hits:
        if str(hit.record_id) in by_employee:
            by_employee[str(hit.record_id)][0].append(_hit_dict(hit))
    for link in links:
        if str(link.record_id) in by_employee:
            by_employee[str(link.record_id)][1].append(_hit_dict(link))
    now = utcnow()
    rows = []
    for employee in employees:
        watch, net = by_employee[employee.id]
        watch.sort(key=lambda h: -float(h.get("probability") or 0))
        net.sort(key=lambda h: -float(h.get("risk") or 0))
        rows.append(
            Screening(
                id=new_id("scn"),
                employee_id=employee.id,
                run_id=run_id,
                run_at=now,
                run_by=actor.user_id,
                run_by_org_id=actor.org_id,
                justification=reason,
                watchlist_hits=watch,
                network_hits=net,
                signal_counts=counts.get(employee.id, dict.fromkeys(SIGNAL_KINDS, 0)),
            )
        )
    session.add_all(rows)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COMBINE,
        object_type="personnel_screening",
        object_id=run_id,
        legal_regime=LegalRegime.GDPR,
        justification=reason,
        detail={
            "employees": len(rows),
            "watchlist_hits": sum(len(r.watchlist_hits) for r in rows),
            "network_hits": sum(len(r.network_hits) for r in rows),
            "flagged": [r.employee_id for r in rows if r.watchlist_hits or r.network_hits][:500],
        },
    )
    return rows


def latest_screenings(session: Session, *, actor: Principal, employee_ids: Sequence[str]) -> dict[str, Screening]:
    """The newest screening the actor's organisation ran on each of `employee_ids` (already read by the caller)."""
    out: dict[str, Screening] = {}
    ids = list(employee_ids)
    for i in range(0, len(ids), _CHUNK):
        rows = session.scalars(
            select(Screening)
            .where(Screening.employee_id.in_(ids[i : i + _CHUNK]), Screening.run_by_org_id == actor.org_id)
            .order_by(Screening.run_at, Screening.id)
        )
        for row in rows:
            out[row.employee_id] = row  # the newest wins
    return out


def screenings_for(
    session: Session, *, actor: Principal, employee_id: str, justification: str | None = None, limit: int = 20
) -> list[Screening]:
    """The screenings the actor's organisation ran on one employee, newest first (a consultation of it)."""
    employee = get(session, actor=actor, employee_id=employee_id, justification=justification)
    return list(
        session.scalars(
            select(Screening)
            .where(Screening.employee_id == employee.id, Screening.run_by_org_id == actor.org_id)
            .order_by(Screening.run_at.desc(), Screening.id)
            .limit(limit)
        )
    )


def screening_overview(
    session: Session, *, actor: Principal, justification: str | None = None
) -> list[tuple[Employee, Screening | None]]:
    """Every employee the actor may read with the latest screening its organisation ran on them: those with hits
    first (by their strongest hit), then the rest by name; one consultation."""
    employees = _visible(session, actor=actor, employee_ids=None, justification=justification)
    latest = latest_screenings(session, actor=actor, employee_ids=[e.id for e in employees])

    def strength(e: Employee) -> float:
        s = latest.get(e.id)
        if s is None:
            return 0.0
        scores = [float(h.get("probability") or 0) for h in s.watchlist_hits]
        scores += [float(h.get("risk") or 0) + (1.0 if h.get("seized") else 0.0) for h in s.network_hits]
        return max(scores, default=0.0) + (0.001 if scores else 0.0)

    ordered = sorted(employees, key=lambda e: (-strength(e), e.name, e.id))
    return [(e, latest.get(e.id)) for e in ordered]
