"""Insider-risk signals: shifts, zones, where containers stood, seizures — and the three signals computed from them.

Why a module of its own: the signals are rules over three data sets that belong to three domains — the employer's
access logs, the tracking events (where a box stood, per `locationName`), the control results (which box was
seized) — and they must see the last two exactly as the reader may: every query here runs under the reader's own
`visible_filter`, so a signal never rests on a fact hidden from the person shown it. Computed on every reading, never
stored. `service` decides who may read which employees and passes them in; this module never reads an employee.

Time: shift hours are the port's wall-clock hours (`LOCAL_TZ`); an access is compared in local time, so a shift
keeps its hours across the change to summer time. A shift counts on the day it starts (22:00–06:00 on Friday takes
in Saturday 03:00).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlResult, Outcome
from portguard.core import audit
from portguard.core.clock import as_utc
from portguard.core.errors import InvalidInput
from portguard.core.policy import LegalRegime, Principal, visible_filter
from portguard.declarations.models import Container, Declaration
from portguard.personnel.models import WEEKDAYS, AccessEvent, AccessKind, Employee
from portguard.tracking.models import ContainerEvent

LOCAL_TZ = "Europe/Amsterdam"  # shift hours are wall-clock hours at the port
SHIFT_TOLERANCE = timedelta(minutes=15)  # early arrival, late log-out
SEIZURE_WINDOW = timedelta(hours=48)  # presence near a box this long before its seizure counts
MAX_TOLERANCE = timedelta(hours=6)
DEPARTURE_CODES = frozenset({"GTOT", "LOAD"})  # the box left the terminal: its place is unknown until it returns
SIGNAL_KINDS = ("outside_shift", "lookup_outside_area", "near_seized_container")
_CHUNK = 500


@dataclass(frozen=True)
class Signal:
    """One insider-risk signal: what, who, when, why (in words) and the evidence it rests on."""

    kind: str
    employee_id: str
    employee_name: str
    at: datetime
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "employee_id": self.employee_id,
            "employee_name": self.employee_name,
            "at": self.at.isoformat(),
            "reason": self.reason,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Placement:
    """Where a container stood from `start` to `end` (None: until its next event), per one tracking event."""

    zone: str
    spot: str
    start: datetime
    end: datetime | None
    event_id: str


@dataclass(frozen=True)
class _Ref:
    """What `audit.consult_list` reads of a record (its id and legal regime)."""

    id: str
    legal_regime: str


# ---------------------------------------------------------------- shifts


def port_zone(name: str = LOCAL_TZ) -> timezone | ZoneInfo:
    """The port's time zone (central European time if the system has no time-zone database)."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=1), "CET")


def local_time(at: datetime, tz: timezone | ZoneInfo) -> datetime:
    """The port's wall-clock time of `at`, as a naive datetime (what shift hours are written in)."""
    return as_utc(at).astimezone(tz).replace(tzinfo=None)


def shift_hours(start: int, end: int) -> int:
    """How long a shift from `start` to `end` o'clock lasts (over midnight when end < start; 24 when equal)."""
    return (end - start) % 24 or 24


def in_shift(
    when: datetime, *, start: int, end: int, days: Collection[str], tolerance: timedelta = SHIFT_TOLERANCE
) -> bool:
    """Whether wall-clock time `when` (naive, local) falls in a shift that starts at `start` o'clock on one of
    `days` and lasts until `end` o'clock (the next day if `end` <= `start`), widened by `tolerance` either side."""
    length = timedelta(hours=shift_hours(start, end))
    for offset in (-1, 0, 1):
        day = when.date() + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        begin = datetime.combine(day, time(start))
        if begin - tolerance <= when < begin + length + tolerance:
            return True
    return False


def shift_text(employee: Employee) -> str:
    """'07:00–15:00 mon–fri' or '22:00–06:00 (over midnight) mon, tue, …'."""
    days = employee.shift_days or []
    idx = [WEEKDAYS.index(d) for d in days if d in WEEKDAYS]
    if idx and idx == list(range(idx[0], idx[0] + len(idx))) and len(idx) > 2:
        day_text = f"{WEEKDAYS[idx[0]]}–{WEEKDAYS[idx[-1]]}"
    else:
        day_text = ", ".join(days) or "no days"
    night = " (over midnight)" if employee.shift_end <= employee.shift_start else ""
    if employee.shift_start == employee.shift_end:
        return f"round the clock, starting {employee.shift_start:02d}:00, {day_text}"
    return f"{employee.shift_start:02d}:00–{employee.shift_end:02d}:00{night} {day_text}"


# ---------------------------------------------------------------- zones and where containers stood


def zone_of(spot: str | None) -> str | None:
    """The zone of a tracking event's `locationName`: the yard block of a slot ('YARD B12-03-2' → 'YARD B12'),
    else the place itself, upper-cased ('QUAY 4', 'GATE OUT LANE 3')."""
    if not spot or not spot.strip():
        return None
    text = " ".join(spot.upper().split())
    if text.startswith("YARD "):
        block = text[5:].split("-", 1)[0]
        return f"YARD {block}"
    return text


def covers(area: str, zone: str) -> bool:
    """Whether a work area (or a badge reader's zone) takes in `zone`: the same name, or a prefix of it that ends
    at a word or at a letter followed by a digit ('YARD B' takes in 'YARD B12', 'GATE' takes in 'GATE OUT LANE 3';
    'YARD B1' does not take in 'YARD B12')."""
    area, zone = area.upper(), zone.upper()
    if zone == area:
        return True
    if not zone.startswith(area) or not area:
        return False
    nxt = zone[len(area)]
    return nxt == " " or (area[-1].isalpha() and nxt.isdigit())


def in_areas(areas: Iterable[str], zone: str) -> bool:
    """Whether one of `areas` takes in `zone`."""
    return any(covers(a, zone) for a in areas)


def container_locations(
    session: Session, *, actor: Principal, containers: Iterable[str], justification: str | None = None
) -> dict[str, list[Placement]]:
    """Where each container stood, per the tracking events the actor may see: from each actual event with a place
    until the next one, or until it left (gate-out, loading); not audited (the caller audits what it shows)."""
    numbers = sorted(set(containers))
    rows: list[Any] = []
    for i in range(0, len(numbers), _CHUNK):
        rows += session.execute(
            select(
                ContainerEvent.id,
                ContainerEvent.container_number,
                ContainerEvent.event_time,
                ContainerEvent.code,
                ContainerEvent.flat,
            ).where(
                ContainerEvent.container_number.in_(numbers[i : i + _CHUNK]),
                ContainerEvent.classifier == "ACT",
                ContainerEvent.retracted.is_(False),
                visible_filter(actor, ContainerEvent, justification=justification),
            )
        ).all()
    rows.sort(key=lambda r: (r.container_number, r.event_time, r.id))
    out: dict[str, list[Placement]] = defaultdict(list)
    current: dict[str, tuple[str, str, datetime, str] | None] = {}
    for r in rows:
        number = r.container_number
        now = current.get(number)
        spot = (r.flat or {}).get("spot")
        zone = zone_of(spot) if r.code not in DEPARTURE_CODES else None
        if r.code in DEPARTURE_CODES or (zone is not None and (now is None or now[0] != zone)):
            if now is not None:
                out[number].append(Placement(now[0], now[1], now[2], r.event_time, now[3]))
            current[number] = (zone, spot, r.event_time, r.id) if zone is not None else None
    for number, now in current.items():
        if now is not None:
            out[number].append(Placement(now[0], now[1], now[2], None, now[3]))
    return dict(out)


def location_at(placements: Sequence[Placement], at: datetime) -> Placement | None:
    """The placement in effect at `at` (placements sorted by start), or None when the box was not at a known place."""
    i = bisect_right([p.start for p in placements], at) - 1
    if i < 0:
        return None
    p = placements[i]
    return p if p.end is None or at < p.end else None


def _seizures(
    session: Session, *, actor: Principal, justification: str | None
) -> list[tuple[str, datetime, ControlResult]]:
    """(container, seized at, result) for every seizure the actor may see: results naming a container, and those
    of a declaration the actor may see, for each of its containers."""
    if not actor.has("control:read"):
        return []
    visible = visible_filter(actor, ControlResult, justification=justification)
    direct = session.scalars(
        select(ControlResult).where(
            ControlResult.outcome == Outcome.SEIZURE.value, ControlResult.container_number.is_not(None), visible
        )
    ).all()
    out = [(r.container_number or "", r.recorded_at, r) for r in direct]
    if actor.has("declaration:read"):
        via = session.execute(
            select(Container.number, ControlResult)
            .join(Declaration, Declaration.id == ControlResult.declaration_id)
            .join(Container, Container.declaration_id == Declaration.id)
            .where(
                ControlResult.outcome == Outcome.SEIZURE.value,
                ControlResult.container_number.is_(None),
                visible,
                visible_filter(actor, Declaration, justification=justification),
            )
        ).all()
        out += [(number, r.recorded_at, r) for number, r in via]
    return out


# ---------------------------------------------------------------- the signals


def compute(
    session: Session,
    *,
    actor: Principal,
    employees: Sequence[Employee],
    events: Sequence[AccessEvent],
    justification: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    tolerance: timedelta = SHIFT_TOLERANCE,
    window: timedelta = SEIZURE_WINDOW,
    tz: str = LOCAL_TZ,
) -> list[Signal]:
    """The signals of `employees` in their access `events` (already read by the caller), oldest first; the tracking
    events and control results they cite are audited as one consultation each. See `service.insider_signals`."""
    if not timedelta(0) <= tolerance <= MAX_TOLERANCE:
        raise InvalidInput(f"the shift tolerance must be within 0–{MAX_TOLERANCE}", field="tolerance")
    if not timedelta(0) < window <= timedelta(days=30):
        raise InvalidInput("the seizure window must be within 0–30 days", field="window")
    if not employees:
        return []
    zone = port_zone(tz)
    by_id = {e.id: e for e in employees}
    events = [e for e in events if e.employee_id in by_id]
    signals: list[Signal] = []
    for ev in events:
        employee = by_id[ev.employee_id]
        local = local_time(ev.at, zone)
        if not in_shift(
            local, start=employee.shift_start, end=employee.shift_end, days=employee.shift_days, tolerance=tolerance
        ):
            where = f"at {ev.zone}" if ev.kind == AccessKind.BADGE.value else f"in {ev.system}"
            what = "badge" if ev.kind == AccessKind.BADGE.value else (ev.action or "access")
            signals.append(
                Signal(
                    kind="outside_shift",
                    employee_id=employee.id,
                    employee_name=employee.name,
                    at=ev.at,
                    reason=(
                        f"{what} {where} on {local:%a %Y-%m-%d %H:%M} (local), outside the shift "
                        f"{shift_text(employee)} ({int(tolerance.total_seconds() // 60)} min tolerance)"
                    ),
                    evidence={
                        "access_event_id": ev.id,
                        "access_kind": ev.kind,
                        "zone": ev.zone,
                        "system": ev.system,
                        "local_time": local.strftime("%Y-%m-%d %H:%M"),
                        "shift": shift_text(employee),
                    },
                )
            )
    seizures = [
        s
        for s in _seizures(session, actor=actor, justification=justification)
        if (start is None or s[1] >= start) and (end is None or s[1] - window < end)
    ]
    lookups = [e for e in events if e.kind == AccessKind.SYSTEM.value and e.container_number]
    numbers = {e.container_number for e in lookups if e.container_number} | {c for c, _, _ in seizures}
    places = container_locations(session, actor=actor, containers=numbers, justification=justification)
    cited_events: set[str] = set()
    cited_results: dict[str, ControlResult] = {}
    for ev in lookups:
        employee = by_id[ev.employee_id]
        if not employee.work_areas:
            continue
        placed = location_at(places.get(ev.container_number or "", []), ev.at)
        if placed is None or in_areas(employee.work_areas, placed.zone):
            continue
        cited_events.add(placed.event_id)
        local = local_time(ev.at, zone)
        signals.append(
            Signal(
                kind="lookup_outside_area",
                employee_id=employee.id,
                employee_name=employee.name,
                at=ev.at,
                reason=(
                    f"looked up {ev.container_number} in {ev.system} on {local:%a %Y-%m-%d %H:%M} (local): the box "
                    f"stood at {placed.spot} ({placed.zone}), outside the work areas "
                    f"{', '.join(employee.work_areas)}"
                ),
                evidence={
                    "access_event_id": ev.id,
                    "system": ev.system,
                    "action": ev.action,
                    "container_number": ev.container_number,
                    "container_zone": placed.zone,
                    "spot": placed.spot,
                    "container_event_id": placed.event_id,
                    "work_areas": list(employee.work_areas),
                },
            )
        )
    badges = [e for e in events if e.kind == AccessKind.BADGE.value and e.zone]
    badge_times = [e.at for e in badges]
    for number, seized_at, result in seizures:
        lo = bisect_left(badge_times, seized_at - window)
        hi = bisect_left(badge_times, seized_at)
        for ev in badges[lo:hi]:
            placed = location_at(places.get(number, []), ev.at)
            if placed is None or not covers(ev.zone or "", placed.zone):
                continue
            employee = by_id[ev.employee_id]
            hours = (seized_at - ev.at).total_seconds() / 3600
            local = local_time(ev.at, zone)
            cited_events.add(placed.event_id)
            cited_results[result.id] = result
            signals.append(
                Signal(
                    kind="near_seized_container",
                    employee_id=employee.id,
                    employee_name=employee.name,
                    at=ev.at,
                    reason=(
                        f"badged at {ev.zone} on {local:%a %Y-%m-%d %H:%M} (local) while {number} stood there "
                        f"({placed.spot}); the box was seized {hours:.1f} h later"
                    ),
                    evidence={
                        "access_event_id": ev.id,
                        "zone": ev.zone,
                        "container_number": number,
                        "container_zone": placed.zone,
                        "spot": placed.spot,
                        "container_event_id": placed.event_id,
                        "control_result_id": result.id,
                        "seized_at": as_utc(seized_at).isoformat(),
                        "hours_before": round(hours, 1),
                    },
                )
            )
    _audit_cited(session, actor, cited_events, cited_results, justification)
    signals.sort(key=lambda s: (s.at, s.employee_id, s.kind))
    return signals


def _audit_cited(
    session: Session,
    actor: Principal,
    events: set[str],
    results: dict[str, ControlResult],
    justification: str | None,
) -> None:
    reason = justification.strip() if justification and justification.strip() else None
    if events:
        regimes = dict(
            session.execute(
                select(ContainerEvent.id, ContainerEvent.legal_regime).where(ContainerEvent.id.in_(sorted(events)))
            ).all()
        )
        refs = [_Ref(i, regimes.get(i, LegalRegime.GDPR.value)) for i in sorted(events)]
        audit.consult_list(session, actor=actor, object_type="container_event", records=refs, justification=reason)
    if results:
        refs = [_Ref(r.id, r.legal_regime) for r in results.values()]
        audit.consult_list(session, actor=actor, object_type="control_result", records=refs, justification=reason)


def signal_counts(signals: Iterable[Signal]) -> dict[str, dict[str, int]]:
    """Per employee id, the number of signals of each kind (every kind present, zeros included)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for s in signals:
        counts[s.employee_id][s.kind] += 1
    return {e: {k: c.get(k, 0) for k in SIGNAL_KINDS} for e, c in counts.items()}


def hour_profile(
    events: Iterable[AccessEvent], signals: Iterable[Signal], *, tz: str = LOCAL_TZ
) -> list[dict[str, Any]]:
    """Access events and signals per local hour of day (0-23), as rows for a chart."""
    zone = port_zone(tz)
    access = Counter(local_time(e.at, zone).hour for e in events)
    flagged = Counter(local_time(s.at, zone).hour for s in signals)
    return [
        {"hour": h, "what": what, "n": counter.get(h, 0)}
        for h in range(24)
        for what, counter in (("access events", access), ("signals", flagged))
    ]
