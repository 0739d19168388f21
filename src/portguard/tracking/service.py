"""Container events in, timelines and port alerts out, under the access policy.

`record_events` is the one way in (HTTP batches, the MQTT listener, files, release steps): it validates each event
(a bad one is kept in `rejected_events` with its error, the rest go on), makes delivery idempotent on the
namespaced event id (a redelivery is counted, never stored twice; a later `eventUpdatedDateTime` replaces, a
retraction withdraws), then rebuilds the timeline of every container the batch touched from the store — all of its
events, whoever sent them, since a smuggling pattern shows across parties — and runs the detectors. The findings
are compared with the container's standing alerts: a new finding becomes a port alert, a finding that a late event
disproved withdraws its alert. Detection reads the store, so several listeners or API workers agree; the MQTT
listener's `TimelineCache` only spares it decoding and re-running what the store shows unchanged.

An alert belongs to the organisation whose event shows the pattern (the first event of the finding), with the
handling code and sharing group the sending organisation chose for its alerts (`AlertSharing`), so a terminal's
alerts reach customs and police through the port-community group. One audit entry records each batch; reads of
alerts and timelines are consultations like any other protected read.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import String, event, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from portguard.controls.models import ControlOrder
from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, utcnow
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Principal, can, require_permission, visible_filter
from portguard.declarations.models import Container
from portguard.tracking import dcsa22
from portguard.tracking.detectors import Finding, Timeline, Tracker
from portguard.tracking.models import (
    AlertSharing,
    AlertStatus,
    ContainerEvent,
    Ev,
    PortAlert,
    RejectedEvent,
    TrackEvent,
    epoch,
)

MAX_RAW = 20_000  # characters of a rejected event kept


@dataclass
class IngestResult:
    """What a batch did: events stored, redeliveries, rejections (with errors), alerts raised and withdrawn."""

    accepted: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    raised: list[PortAlert] = field(default_factory=list)
    withdrawn: list[PortAlert] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "accepted": len(self.accepted),
            "replaced": len(self.replaced),
            "retracted": len(self.retracted),
            "duplicates": len(self.duplicates),
            "rejected": len(self.rejected),
            "alerts_raised": len(self.raised),
            "alerts_withdrawn": len(self.withdrawn),
        }


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_events(items: Sequence[Any]) -> tuple[list[tuple[int, TrackEvent]], list[dict[str, Any]]]:
    """Validate raw event objects; the good ones with their index, and one error per bad one."""
    good: list[tuple[int, TrackEvent]] = []
    bad: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        event_id = item.get("eventID") if isinstance(item, dict) else None
        if not isinstance(item, dict):
            bad.append({"index": i, "eventID": None, "error": f"an event is a JSON object, not {type(item).__name__}"})
            continue
        try:
            good.append((i, TrackEvent.model_validate(dcsa22.normalise(item))))
        except ValidationError as exc:
            bad.append(
                {"index": i, "eventID": event_id if isinstance(event_id, str) else None, "error": _error_text(exc)}
            )
    return good, bad


def record_events(
    session: Session,
    *,
    actor: Principal | None,
    events: Sequence[Any],
    source: str = "http",
    owner_org_id: str | None = None,
    sharing: AlertSharing | None = None,
    params: dict[str, Any] | None = None,
    received_at: datetime | None = None,
    cache: TimelineCache | None = None,
) -> IngestResult:
    """Store a batch of DCSA events idempotently, rebuild the touched timelines and raise or withdraw alerts.

    A long-running recorder passes its `cache` (see `TimelineCache`; its detectors' thresholds are the cache's).
    Should the transaction roll back, the containers it touched are dropped from the cache."""
    require_permission(actor, "event:write")
    owner = owner_org_id or (actor.org_id if actor else None)
    if owner is None:
        raise InvalidInput("events need an owner organisation")
    if actor is not None and owner != actor.org_id:
        raise InvalidInput("you can only send events as your own organisation")
    sharing = sharing or AlertSharing()
    if actor is not None and sharing.sharing_group_id and sharing.sharing_group_id not in actor.group_ids:
        raise InvalidInput("alerts can only be shared with a group your organisation is in")
    now = received_at or utcnow()
    result = IngestResult()
    good, bad = parse_events(events)
    for err in bad:
        result.rejected.append(err)
        raw = events[err["index"]]
        session.add(
            RejectedEvent(
                id=new_id("rej"),
                owner_org_id=owner,
                source=source,
                event_id=err["eventID"],
                error=err["error"][:4000],
                raw=json.dumps(raw, default=str)[:MAX_RAW],
                received_at=now,
            )
        )

    keyed: dict[str, TrackEvent] = {}
    for _, ev in good:
        key = f"{owner}:{ev.eventID}"
        prior = keyed.get(key)
        if prior is not None and not _newer(ev, prior):
            result.duplicates.append(ev.eventID)
            continue
        keyed[key] = ev
    stored = {row.id: row for row in session.scalars(select(ContainerEvent).where(ContainerEvent.id.in_(list(keyed))))}
    touched: set[str] = set()
    new_rows: list[dict[str, Any]] = []
    fresh: Fresh = {}
    dirty: set[str] = set()  # containers whose stored events changed other than by insertion
    for key, ev in keyed.items():
        row = stored.get(key)
        if row is not None:
            if ev.isRetracted:
                if not row.retracted:
                    row.retracted = True
                    result.retracted.append(ev.eventID)
                    if row.container_number:
                        touched.add(row.container_number)
                        dirty.add(row.container_number)
                else:
                    result.duplicates.append(ev.eventID)
                continue
            if not _newer(ev, row):
                result.duplicates.append(ev.eventID)
                continue
            if row.container_number:
                dirty.add(row.container_number)  # the old version's container, should the number have changed
            _fill(row, ev, key=key, source=source, received_at=now)
            result.replaced.append(ev.eventID)
            if row.container_number:
                dirty.add(row.container_number)
        elif ev.isRetracted:
            result.duplicates.append(ev.eventID)  # a retraction of something never received: nothing to do
            continue
        else:
            values, flat = _columns(ev, key=key, source=source, received_at=now)
            if flat.container:
                fresh.setdefault(flat.container, []).append((key, flat))
            values.update(
                id=key,
                owner_org_id=owner,
                handling=sharing.handling.value,
                sharing_group_id=sharing.sharing_group_id,
                legal_regime=sharing.legal_regime.value,
            )
            new_rows.append(values)
            result.accepted.append(ev.eventID)
            if values["container_number"]:
                touched.add(values["container_number"])
            continue
        if row.container_number:
            touched.add(row.container_number)
    if cache is not None and touched:
        # Should this transaction roll back, the cache must not keep what the store will not have.
        event.listen(session, "after_rollback", lambda _s: cache.forget(touched), once=True)
    if new_rows:  # one executemany instead of an ORM object per event
        session.execute(insert(ContainerEvent), new_rows)
    session.flush()
    if touched:
        raised, withdrawn = _detect(
            session,
            containers=touched,
            sharing=sharing,
            params=params,
            received_at=now,
            cache=cache,
            fresh=fresh,
            dirty=dirty,
        )
        result.raised, result.withdrawn = raised, withdrawn
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="container_events",
        detail={
            "source": source,
            "owner_org_id": owner,
            **result.summary(),
            "alerts": [a.id for a in result.raised][:200],
        },
    )
    return result


def _newer(ev: TrackEvent, than: TrackEvent | ContainerEvent) -> bool:
    mine = ev.eventUpdatedDateTime
    theirs = than.eventUpdatedDateTime if isinstance(than, TrackEvent) else than.updated_time
    if mine is None or theirs is None:
        return False
    return mine > as_utc(theirs)


def _columns(ev: TrackEvent, *, key: str, source: str, received_at: datetime) -> tuple[dict[str, Any], Ev]:
    """The stored columns of an event (all but the ownership ones), and its detectors' view."""
    flat = ev.flat(key=key)
    return {
        "event_id": ev.eventID,
        "container_number": flat.container,
        "event_type": flat.kind,
        "code": flat.code,
        "classifier": flat.classifier,
        "event_time": ev.eventDateTime,
        "updated_time": ev.eventUpdatedDateTime,
        "place": flat.place,
        "facility": flat.facility,
        "retracted": False,
        "payload": ev.model_dump(mode="json", exclude_none=True),
        "flat": flat.as_dict(),
        "source": source,
        "received_at": received_at,
    }, flat


def _fill(row: ContainerEvent, ev: TrackEvent, *, key: str, source: str, received_at: datetime) -> None:
    for name, value in _columns(ev, key=key, source=source, received_at=received_at)[0].items():
        setattr(row, name, value)


class TimelineCache:
    """Timelines with their standing findings, kept between batches by a long-running recorder (the MQTT listener).

    The store stays the truth. On every batch the recorder asks it which events (id and version) each touched
    container has. A container whose stored events are exactly those the cache holds plus those this batch added is
    advanced in memory — the new events placed, the detectors they trigger re-run — and its alerts are read only if
    its findings changed. Any other difference (another writer's events, a replacement, a retraction, a container
    not cached) rebuilds that timeline from the store and compares all its findings with the alerts, as without a
    cache. Bounded: the least recently used containers are dropped past `max_containers`."""

    def __init__(self, params: dict[str, Any] | None = None, *, max_containers: int = 50_000) -> None:
        self.tracker = Tracker(params)
        self.versions: OrderedDict[str, dict[str, Any]] = OrderedDict()  # container → event id → stored version
        self.max_containers = max_containers
        self.advanced = 0  # container updates done in memory
        self.rebuilt = 0  # container updates that read the store

    def forget(self, numbers: Iterable[str]) -> None:
        """Drop these containers (their next batch rebuilds them from the store)."""
        for number in list(numbers):
            self.versions.pop(number, None)
            self.tracker.timelines.pop(number, None)

    def keep(self, number: str, versions: dict[str, Any]) -> None:
        self.versions[number] = versions
        self.versions.move_to_end(number)
        while len(self.versions) > self.max_containers:
            old, _ = self.versions.popitem(last=False)
            self.tracker.timelines.pop(old, None)


Fresh = dict[str, list[tuple[str, Ev]]]  # per container: the events this batch inserted, by key
_GONE = object()


def load_timelines(session: Session, *, containers: Iterable[str]) -> dict[str, Timeline]:
    """The timelines of `containers` from every stored, unretracted event (the platform's view, for detection)."""
    timelines: dict[str, Timeline] = {}
    wanted = sorted(set(containers))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(ContainerEvent.container_number, ContainerEvent.flat)
            .where(ContainerEvent.container_number.in_(chunk), ContainerEvent.retracted.is_(False))
            .order_by(ContainerEvent.container_number, ContainerEvent.event_time, ContainerEvent.id)
        )
        for number, flat in rows:
            tl = timelines.get(number)
            if tl is None:
                tl = timelines[number] = Timeline(number)
            ev = Ev(**flat)
            tl.events.append(ev)
            tl.keys.add(ev.key)
    for number in wanted:
        timelines.setdefault(number, Timeline(number))
    return timelines


def _stored_versions(session: Session, *, containers: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per container, the ids of its stored, unretracted events with their version as the database holds it
    (compared for equality only, so not decoded: text on SQLite, a timestamp on PostgreSQL)."""
    found: dict[str, dict[str, Any]] = {number: {} for number in containers}
    raw_updated = type_coerce(ContainerEvent.updated_time, String())
    for start in range(0, len(containers), 500):
        rows = session.execute(
            select(ContainerEvent.container_number, ContainerEvent.id, raw_updated).where(
                ContainerEvent.container_number.in_(containers[start : start + 500]),
                ContainerEvent.retracted.is_(False),
            )
        )
        for number, key, updated in rows:
            found[number][key] = updated
    return found


def _advance(
    session: Session, *, cache: TimelineCache, containers: Sequence[str], fresh: Fresh, dirty: set[str], lanes: dict
) -> dict[str, list[Finding]]:
    """Bring the cached timelines of `containers` up to the store; the findings of those whose findings changed."""
    stored = _stored_versions(session, containers=containers)
    tracker = cache.tracker
    compare: dict[str, list[Finding]] = {}
    rebuild: list[str] = []
    for number in containers:
        known, tl = cache.versions.get(number), tracker.timelines.get(number)
        new, now = fresh.get(number, []), stored[number]
        # Unchanged but for this batch's insertions: the events known before, each at the version known, plus the
        # new ones (which no other writer can have touched inside this transaction).
        if (
            known is None
            or tl is None
            or number in dirty
            or len(now) != len(known) + len(new)
            or any(now.get(k, _GONE) != v for k, v in known.items())
            or any(k not in now for k, _ in new)
        ):
            rebuild.append(number)
            continue
        before = set(tl.findings)
        lane_changed = tl.context.get("lane") != lanes.get(number)
        tl.context["lane"] = lanes.get(number)
        for _, ev in new:
            tracker.add(ev)  # placed by event time; the detectors it triggers re-run
        if lane_changed:
            tracker.evaluate(tl)
        cache.keep(number, stored[number])
        cache.advanced += 1
        if set(tl.findings) != before:
            compare[number] = list(tl.findings.values())
    if not rebuild:
        return compare
    have: dict[str, Ev] = {}  # events whose stored version is the one cached, and this batch's
    for number in rebuild:
        tl, known = tracker.timelines.get(number), cache.versions.get(number, {})
        if tl is not None:
            have.update((e.key, e) for e in tl.events if e.key in known and known[e.key] == stored[number].get(e.key))
        have.update(fresh.get(number, []))
    missing = [k for n in rebuild for k in stored[n] if k not in have]
    for start in range(0, len(missing), 500):
        for key, flat in session.execute(
            select(ContainerEvent.id, ContainerEvent.flat).where(ContainerEvent.id.in_(missing[start : start + 500]))
        ):
            have[key] = Ev(**flat)
    for number in rebuild:
        tl = Timeline(number)
        tl.events = sorted((have[k] for k in stored[number]), key=lambda e: (e.t, e.key))
        tl.keys = set(stored[number])
        tl.context["lane"] = lanes.get(number)
        tracker.timelines[number] = tl
        tracker.evaluate(tl)
        cache.keep(number, stored[number])
        cache.rebuilt += 1
        compare[number] = list(tl.findings.values())
    return compare


def _selected(session: Session, *, containers: Sequence[str]) -> dict[str, str]:
    """Containers customs selected (an open scan or physical control order on the container or its declaration)."""
    lanes: dict[str, str] = {}
    for start in range(0, len(containers), 500):
        chunk = list(containers[start : start + 500])
        direct = select(ControlOrder.container_number).where(
            ControlOrder.container_number.in_(chunk), ControlOrder.kind.in_(("scan", "physical"))
        )
        via = (
            select(Container.number)
            .join(ControlOrder, ControlOrder.declaration_id == Container.declaration_id)
            .where(Container.number.in_(chunk), ControlOrder.kind.in_(("scan", "physical")))
        )
        for (number,) in session.execute(direct.union(via)):
            lanes[number] = "red"
    return lanes


def _detect(
    session: Session,
    *,
    containers: set[str],
    sharing: AlertSharing,
    params: dict[str, Any] | None,
    received_at: datetime,
    cache: TimelineCache | None = None,
    fresh: Fresh | None = None,
    dirty: set[str] | None = None,
) -> tuple[list[PortAlert], list[PortAlert]]:
    numbers = sorted(containers)
    lanes = _selected(session, containers=numbers)
    if cache is not None:
        tracker = cache.tracker
        findings = _advance(
            session, cache=cache, containers=numbers, fresh=fresh or {}, dirty=dirty or set(), lanes=lanes
        )
    else:
        tracker = Tracker(params)
        findings = {}
        for number, tl in load_timelines(session, containers=numbers).items():
            tl.context["lane"] = lanes.get(number)
            tracker.timelines[number] = tl
            tracker.evaluate(tl)
            findings[number] = list(tl.findings.values())
    return _compare(session, findings=findings, names=tracker_names(tracker), sharing=sharing, received_at=received_at)


def _compare(
    session: Session,
    *,
    findings: dict[str, list[Finding]],
    names: list[str],
    sharing: AlertSharing,
    received_at: datetime,
) -> tuple[list[PortAlert], list[PortAlert]]:
    """Raise an alert for each new finding, withdraw the open alerts of these containers no finding holds up."""
    if not findings:
        return [], []
    standing: dict[tuple[str, str, str], PortAlert] = {}
    numbers = sorted(findings)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        for alert in session.scalars(
            select(PortAlert).where(PortAlert.container_number.in_(chunk), PortAlert.detector.in_(names))
        ):
            standing[(alert.container_number, alert.detector, alert.finding_key)] = alert
    raised: list[PortAlert] = []
    withdrawn: list[PortAlert] = []
    now = utcnow()
    current: set[tuple[str, str, str]] = set()
    for number, found in findings.items():
        for f in found:
            k = (number, f.detector, f.key)
            current.add(k)
            alert = standing.get(k)
            if alert is None:
                alert = _new_alert(f, sharing=sharing, raised_at=now, received_at=received_at)
                session.add(alert)
                standing[k] = alert
                raised.append(alert)
            elif alert.status == AlertStatus.WITHDRAWN.value:
                alert.status = AlertStatus.OPEN.value
                alert.reason = f.reason
                raised.append(alert)
    for k, alert in standing.items():
        if k not in current and alert.status == AlertStatus.OPEN.value:
            alert.status = AlertStatus.WITHDRAWN.value
            alert.note = "withdrawn: a later or late event showed the pattern does not hold"
            withdrawn.append(alert)
    session.flush()
    return raised, withdrawn


def tracker_names(tracker: Tracker) -> list[str]:
    return [m.NAME for m in tracker.mods]


def _alert(
    *,
    owner_org_id: str | None,
    container_number: str,
    detector: str,
    key: str,
    reason: str,
    event_ids: Sequence[str],
    event_time: datetime,
    severity: str,
    sharing: AlertSharing,
    raised_at: datetime,
    latency_ms: float | None = None,
) -> PortAlert:
    """The one way a port alert is made, by the detectors or from outside them."""
    return PortAlert(
        id=new_id("alr"),
        container_number=container_number,
        detector=detector,
        finding_key=key[:200],
        severity=severity,
        reason=reason,
        event_ids=list(event_ids),
        event_time=event_time,
        raised_at=raised_at,
        status=AlertStatus.OPEN.value,
        latency_ms=latency_ms,
        owner_org_id=owner_org_id,
        handling=sharing.handling.value,
        sharing_group_id=sharing.sharing_group_id,
        legal_regime=sharing.legal_regime.value,
    )


def _new_alert(f: Finding, *, sharing: AlertSharing, raised_at: datetime, received_at: datetime) -> PortAlert:
    return _alert(
        owner_org_id=f.event_keys[0].split(":", 1)[0] if f.event_keys else None,
        container_number=f.container,
        detector=f.detector,
        key=f.key,
        reason=f.reason,
        event_ids=f.event_keys,
        event_time=epoch(f.t),
        severity=f.severity,
        sharing=sharing,
        raised_at=raised_at,
        latency_ms=max(0.0, (raised_at - received_at).total_seconds() * 1000),
    )


def raise_alert(
    session: Session,
    *,
    owner_org_id: str,
    container_number: str,
    detector: str,
    key: str,
    reason: str,
    event_time: datetime,
    event_ids: Sequence[str] = (),
    severity: str = "high",
    sharing: AlertSharing | None = None,
) -> PortAlert | None:
    """Raise an alert from outside the detectors (the release domain's gate); None if that key was raised."""
    existing = session.scalar(
        select(PortAlert).where(
            PortAlert.owner_org_id == owner_org_id,
            PortAlert.container_number == container_number,
            PortAlert.detector == detector,
            PortAlert.finding_key == key[:200],
        )
    )
    if existing is not None:
        return None
    alert = _alert(
        owner_org_id=owner_org_id,
        container_number=container_number,
        detector=detector,
        key=key,
        reason=reason,
        event_ids=event_ids,
        event_time=event_time,
        severity=severity,
        sharing=sharing or AlertSharing(),
        raised_at=utcnow(),
    )
    session.add(alert)
    session.flush()
    audit.append(
        session,
        actor=None,
        action=AuditAction.COLLECT,
        object_type="port_alert",
        object_id=alert.id,
        detail={"detector": detector, "container": container_number},
    )
    return alert


def list_alerts(
    session: Session,
    *,
    actor: Principal,
    status: str | None = None,
    detector: str | None = None,
    container: str | None = None,
    limit: int = 50,
    offset: int = 0,
    justification: str | None = None,
) -> tuple[list[PortAlert], int]:
    """Port alerts you may see, newest first, with the total."""
    require_permission(actor, "port_alert:read")
    where = [visible_filter(actor, PortAlert, justification=justification)]
    if status:
        where.append(PortAlert.status == status)
    if detector:
        where.append(PortAlert.detector == detector)
    if container:
        where.append(PortAlert.container_number == container.replace(" ", "").upper())
    total = session.scalar(select(func.count()).select_from(PortAlert).where(*where)) or 0
    rows = list(
        session.scalars(
            select(PortAlert)
            .where(*where)
            .order_by(PortAlert.raised_at.desc(), PortAlert.id)
            .limit(limit)
            .offset(offset)
        )
    )
    audit.consult_list(session, actor=actor, object_type="port_alert", records=rows, justification=justification)
    return rows, total


def alert_counts(session: Session, *, actor: Principal) -> dict[str, dict[str, int]]:
    """Visible alerts counted by detector and status (the inbox's chart)."""
    require_permission(actor, "port_alert:read")
    rows = session.execute(
        select(PortAlert.detector, PortAlert.status, func.count())
        .where(visible_filter(actor, PortAlert))
        .group_by(PortAlert.detector, PortAlert.status)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for det, status, n in rows:
        counts[det][status] = n
    return dict(counts)


def get_alert(session: Session, *, actor: Principal, alert_id: str, justification: str | None = None) -> PortAlert:
    """One alert, if you may see it (consultation audited)."""
    require_permission(actor, "port_alert:read")
    alert = session.get(PortAlert, alert_id)
    if alert is None:
        raise NotFound(f"no port alert {alert_id}")
    audit.consult_one(session, actor=actor, record=alert, object_type="port_alert", justification=justification)
    return alert


def acknowledge(
    session: Session, *, actor: Principal, alert_id: str, note: str | None = None, justification: str | None = None
) -> PortAlert:
    """Acknowledge an alert you can see: who and when are kept, with an optional note."""
    require_permission(actor, "port_alert:ack")
    alert = session.get(PortAlert, alert_id)
    if alert is None or not can(actor, Action.READ, alert, justification=justification):
        raise NotFound(f"no port alert {alert_id}")
    if alert.status == AlertStatus.WITHDRAWN.value:
        raise InvalidInput(f"port alert {alert_id} was withdrawn; there is nothing to acknowledge")
    if alert.status == AlertStatus.OPEN.value:
        alert.status = AlertStatus.ACKNOWLEDGED.value
        alert.acknowledged_by = actor.user_id
        alert.acknowledged_at = utcnow()
        alert.note = (note or "").strip()[:2000] or None
        session.flush()
        audit.append(
            session,
            actor=actor,
            action=AuditAction.ALTER,
            object_type="port_alert",
            object_id=alert.id,
            legal_regime=alert.legal_regime,
            detail={"status": alert.status, "note": alert.note},
        )
    return alert


def timeline(
    session: Session, *, actor: Principal, container: str, justification: str | None = None
) -> tuple[list[ContainerEvent], list[PortAlert]]:
    """A container's events and alerts that you may see, in event-time order (consultation audited)."""
    require_permission(actor, "event:read")
    number = container.replace(" ", "").upper()
    events = list(
        session.scalars(
            select(ContainerEvent)
            .where(
                ContainerEvent.container_number == number,
                visible_filter(actor, ContainerEvent, justification=justification),
            )
            .order_by(ContainerEvent.event_time, ContainerEvent.id)
            .limit(5000)
        )
    )
    alerts: list[PortAlert] = []
    if actor.has("port_alert:read"):
        alerts = list(
            session.scalars(
                select(PortAlert)
                .where(
                    PortAlert.container_number == number, visible_filter(actor, PortAlert, justification=justification)
                )
                .order_by(PortAlert.event_time)
            )
        )
        audit.consult_list(session, actor=actor, object_type="port_alert", records=alerts, justification=justification)
    audit.consult_list(session, actor=actor, object_type="container_event", records=events, justification=justification)
    return events, alerts


def state(events: Sequence[ContainerEvent]) -> dict[str, Any]:
    """Where a container is and what it is doing, from its actual equipment and IoT events."""
    last: dict[str, Any] = {"status": "unknown", "place": None, "spot": None, "seals": None, "since": None}
    status = {
        "DISC": "discharged",
        "GTIN": "gated in",
        "GTOT": "gated out",
        "LOAD": "loaded",
        "STRP": "stripped",
        "STUF": "stuffed",
        "INSP": "inspected",
        "CUSS": "selected for scan",
        "CUSI": "selected for inspection",
        "CUSR": "released by customs",
        "RSEA": "resealed",
        "PICK": "picked up",
        "DROP": "dropped off",
    }
    for e in events:
        if e.classifier != "ACT" or e.retracted:
            continue
        if e.code in status:
            last["status"] = status[e.code]
            last["since"] = e.event_time
        if e.place:
            last["place"] = e.place
        spot = (e.flat or {}).get("spot")
        if spot and e.code == "LOC":
            last["spot"] = spot
        seals = (e.flat or {}).get("seals")
        if seals:
            last["seals"] = seals
    return last


def recent_containers(session: Session, *, actor: Principal, limit: int = 20) -> list[tuple[str, datetime]]:
    """Containers with the latest visible events (for the timeline search page)."""
    require_permission(actor, "event:read")
    rows = session.execute(
        select(ContainerEvent.container_number, func.max(ContainerEvent.event_time))
        .where(ContainerEvent.container_number.is_not(None), visible_filter(actor, ContainerEvent))
        .group_by(ContainerEvent.container_number)
        .order_by(func.max(ContainerEvent.event_time).desc())
        .limit(limit)
    )
    return [(n, t) for n, t in rows]


def reject_raw(session: Session, *, owner_org_id: str | None, source: str, error: str, raw: bytes | str) -> None:
    """Keep a message that is not even JSON, with why, in `rejected_events`."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    session.add(
        RejectedEvent(
            id=new_id("rej"),
            owner_org_id=owner_org_id,
            source=source,
            event_id=None,
            error=error[:4000],
            raw=text[:MAX_RAW],
            received_at=utcnow(),
        )
    )
    session.flush()
