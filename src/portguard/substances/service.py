"""Substances: the registry, incidents, drug alerts to subscribed authorities, and precursor screening of declarations.

Why the alert rules are what they are: an alert has to reach the authorities that asked for it and only those, and
the sender must be able to show who received it, who acknowledged it and what each decided. So sending an alert
(`send_alert`) freezes its recipients — every organisation with an active subscription that matches it, the
sender's own excepted — as `AlertRecipient` rows, with the reason each matched and the time by which it must
acknowledge; the deliveries (`Delivery`, one per channel of each matching subscription) are then worked by
`substances.delivery`, outside the sender's transaction, with retries. A subscription filter on a dimension
(substance group, CN code, port, country, alert type) matches when the alert concerns one of its values *or the
alert names none on that dimension*: an alert about a substance everywhere reaches a subscriber for Rotterdam.

Who reads an alert: whoever the policy lets read it (`drug_alert`, its handling code and sharing group), and every
recipient authority, whatever the handling code — it was sent to them. A recipient sees its own answer; the sender
(and those the policy lets read the alert) sees everyone's. Only a recipient's focal points (`drug_alert:ack`)
acknowledge and decide, once each (a decision can be changed, and the audit chain keeps each change).

Screening uses the substances its user may see: a hit can never point at a substance hidden from its reader, and
a hit is read through both its declaration and its substance (see `declaration_hits`). Re-screening a declaration
replaces the hits on the substances its screener can see and leaves the others alone.

Every list and read is a consultation in the audit chain, every change an `audit.append`.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import as_utc, utcnow
from portguard.core.db import paginate
from portguard.core.errors import Conflict, InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Handling, Principal, can, require_permission, visible_filter
from portguard.declarations.models import Declaration, GoodsItem
from portguard.sharing import service as sharing_service
from portguard.substances import registry, screening
from portguard.substances.chemistry import Structure, Target, Unmasker, draw_svg
from portguard.substances.models import (
    ACK_HOURS,
    AckIn,
    AlertIn,
    AlertRecipient,
    AlertStatus,
    AlertType,
    Channel,
    DecideIn,
    Delivery,
    DeliveryStatus,
    DrugAlert,
    Incident,
    IncidentIn,
    PrecursorHit,
    ScreenDeclarationsIn,
    ScreenTextIn,
    Sharing,
    Subscription,
    SubscriptionIn,
    Substance,
    SubstanceIn,
    SubstanceKind,
)

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
_CHUNK = 500


def _noop(_done: int) -> None:
    return None


def _check_group(actor: Principal, sharing: Sharing) -> None:
    if sharing.sharing_group_id is not None and sharing.sharing_group_id not in actor.group_ids:
        raise InvalidInput(
            f"your organisation is not a member of sharing group {sharing.sharing_group_id}", field="sharing_group_id"
        )
    if sharing.handling == Handling.RED:
        raise InvalidInput("RED needs named recipients; substances and alerts use AMBER or wider", field="handling")


def _owned(actor: Principal, sharing: Sharing, now: datetime) -> dict[str, Any]:
    """The columns every new protected record of the actor gets: owner, handling code, group, regime, creator."""
    return {
        "owner_org_id": actor.org_id,
        "handling": sharing.handling.value,
        "sharing_group_id": sharing.sharing_group_id,
        "legal_regime": sharing.legal_regime.value,
        "created_by": actor.user_id,
        "created_at": now,
    }


# ---------------------------------------------------------------- registry


def _statuses(record: registry.SubstanceRecord) -> list[dict[str, str]]:
    out = []
    if record.eu_category:
        act = record.added_by or "Regulation (EC) 273/2004"
        note = f" ({record.eu_category_note})" if record.eu_category_note else ""
        out.append({"jurisdiction": "EU", "status": f"category {record.eu_category}{note}", "act": act})
    if record.un_1988_table:
        out.append({"jurisdiction": "UN", "status": f"Table {record.un_1988_table}", "act": "1988 Convention"})
    return out


def _kind_of(record: registry.SubstanceRecord) -> str:
    if record.eu_category or record.un_1988_table:
        return SubstanceKind.SCHEDULED_PRECURSOR.value
    return SubstanceKind.CHEMICAL.value


def record_of(substance: Substance) -> registry.SubstanceRecord:
    """The file record of a stored substance (what the exports write and the screening reads)."""
    return registry.SubstanceRecord(
        name=substance.name,
        abbrev=substance.abbrev or "",
        synonyms=tuple(substance.synonyms or ()),
        cas=substance.cas,
        cn_code=substance.cn_code or "",
        eu_category=substance.eu_category,  # type: ignore[arg-type]
        eu_category_note=substance.eu_category_note or "",
        un_1988_table=substance.un_1988_table,  # type: ignore[arg-type]
        structure=Structure.from_smiles(substance.smiles) if substance.smiles else None,
        added_by=substance.added_by or "",
        sources=tuple(substance.sources or ()),
    )


def _visible_substances(session: Session, actor: Principal | None) -> list[Substance]:
    query = select(Substance).order_by(Substance.name)
    if actor is not None:
        query = query.where(visible_filter(actor, Substance, action=Action.READ))
    return list(session.scalars(query))


def _targets(substances: Iterable[Substance]) -> list[Target]:
    structures = ((s, Structure.from_smiles(s.smiles)) for s in substances if s.smiles)
    return [
        Target(key=s.id, structure=structure, label=s.label)
        for s, structure in structures
        if registry.is_unmasking_target(structure=structure, scheduled=s.scheduled, eu_category=s.eu_category)
    ]


def _find_parent(session: Session, actor: Principal, structure: Structure) -> tuple[Substance, str] | None:
    """The scheduled substance the actor may see that `structure` unmasks to, with the path in words."""
    visible = _visible_substances(session, actor)
    by_id = {s.id: s for s in visible}
    result = Unmasker(_targets(visible)).unmask(structure)
    for hit in result.hits:
        if hit.steps:
            parent = by_id[hit.target.key]
            steps = ", then ".join(hit.reaction_names)
            return parent, f"unmasks to {parent.name} ({parent.label}) by {steps} ({len(hit.steps)} steps)"
    return None


@dataclass(frozen=True)
class ImportReport:
    """What an import did: records created and updated, and the problems found in the file."""

    created: int
    updated: int
    problems: list[str] = field(default_factory=list)


def _upsert(
    session: Session, *, actor: Principal, records: Sequence[registry.SubstanceRecord], sharing: Sharing
) -> ImportReport:
    existing = {s.name: s for s in session.scalars(select(Substance).where(Substance.owner_org_id == actor.org_id))}
    now = utcnow()
    created = updated = 0
    shipped = screening.load_synonyms()  # the multilingual names PortGuard ships for the shared list's entries
    for record in records:
        values: dict[str, Any] = {
            "abbrev": record.abbrev or None,
            "synonyms": list(dict.fromkeys([*record.synonyms, *(x.text for x in shipped.get(record.name, ()))])),
            "kind": _kind_of(record),
            "group": registry.seed_group(record.name),
            "cas": record.cas,
            "cn_code": record.cn_code or None,
            "smiles": record.smiles,
            "inchikey": record.inchikey,
            "formula": record.formula,
            "eu_category": record.eu_category,
            "eu_category_note": record.eu_category_note or None,
            "un_1988_table": record.un_1988_table,
            "statuses": _statuses(record),
            "added_by": record.added_by or None,
            "sources": list(record.sources),
        }
        row = existing.get(record.name)
        if row is None:
            row = Substance(
                id=new_id("sub"),
                name=record.name,
                updated_at=now,
                **_owned(actor, sharing, now),
                **values,
            )
            session.add(row)
            existing[record.name] = row
            created += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            updated += 1
    session.flush()
    return ImportReport(created=created, updated=updated)


def import_records(
    session: Session,
    *,
    actor: Principal,
    parsed: registry.RegistryFile,
    source: str,
    sharing: Sharing | None = None,
) -> ImportReport:
    """Create or update the actor organisation's substances from a read file (by name); idempotent."""
    require_permission(actor, "substance:write")
    sharing = sharing or Sharing(handling=Handling.CLEAR)
    _check_group(actor, sharing)
    report = _upsert(session, actor=actor, records=parsed.records, sharing=sharing)
    problems = [str(problem) for problem in parsed.problems]
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="substance",
        object_id=source[:80],
        detail={"created": report.created, "updated": report.updated, "problems": len(problems)},
    )
    return ImportReport(created=report.created, updated=report.updated, problems=problems)


def import_file(
    session: Session, *, actor: Principal, content: bytes, file_name: str, sharing: Sharing | None = None
) -> ImportReport:
    """Import a CSV or SD file of substances (by its extension); all or nothing, with line-precise errors."""
    require_permission(actor, "substance:write")
    suffix = Path(file_name).suffix.lower()
    if suffix == ".csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{file_name}: not UTF-8 text ({exc.reason} at byte {exc.start})", field="file"
            ) from None
        parsed = registry.read_csv(io.StringIO(text, newline=""), name=file_name)
    elif suffix in (".sdf", ".sd", ".mol"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(file_name).name
            path.write_bytes(content)
            parsed = registry.read_sdf(path)
    else:
        raise InvalidInput(f"{file_name}: a substance file is .csv or .sdf", field="file")
    return import_records(session, actor=actor, parsed=parsed, source=file_name, sharing=sharing)


def seed(session: Session, *, actor: Principal, data_dir: Path) -> ImportReport:
    """The shared list of scheduled precursors as CLEAR substances of the actor's organisation (idempotent)."""
    path = registry.precursor_file(data_dir)
    if not path.exists():
        raise NotFound(f"no precursor list at {path.name} in the shared data folder")
    return import_records(session, actor=actor, parsed=registry.read_csv(path), source=path.name)


def export(session: Session, *, actor: Principal, fmt: str) -> bytes:
    """The substances the actor may see as CSV or SDF bytes; the export is a disclosure in the audit chain."""
    require_permission(actor, "substance:read")
    substances = _visible_substances(session, actor)
    records = [record_of(s) for s in substances]
    if fmt == "csv":
        body = registry.csv_text(records).encode()
    elif fmt == "sdf":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "substances.sdf"
            registry.write_sdf(records, target=path)
            body = path.read_bytes()
    else:
        raise InvalidInput(f"{fmt!r} is not an export format (csv, sdf)", field="format")
    audit.append(
        session,
        actor=actor,
        action=AuditAction.DISCLOSE,
        object_type="substance",
        detail={"format": fmt, "ids": [s.id for s in substances]},
    )
    return body


def register(session: Session, *, actor: Principal, data: SubstanceIn) -> Substance:
    """Register a substance; a structure is made canonical, and an unscheduled one is unmasked for its parent."""
    require_permission(actor, "substance:write")
    _check_group(actor, data)
    structure = None
    if data.smiles:
        structure = Structure.from_smiles(data.smiles)
    taken = session.scalar(
        select(Substance.id).where(Substance.owner_org_id == actor.org_id, Substance.name == data.name)
    )
    if taken:
        raise Conflict(f"your organisation already registered {data.name!r} ({taken})")
    if structure is not None:
        same = session.scalars(
            select(Substance).where(
                Substance.inchikey == structure.inchikey, visible_filter(actor, Substance, action=Action.READ)
            )
        ).first()
        if same is not None:
            raise Conflict(f"{same.name} ({same.id}) has the same structure (InChIKey {structure.inchikey})")
    parent: tuple[Substance, str] | None = None
    scheduled = bool(data.eu_category or data.un_1988_table)
    if structure is not None and not scheduled:
        parent = _find_parent(session, actor, structure)
    kind = data.kind
    if parent is not None and kind == SubstanceKind.CHEMICAL:
        kind = SubstanceKind.DESIGNER_PRECURSOR
    now = utcnow()
    statuses = [s.model_dump() for s in data.statuses]
    substance = Substance(
        id=new_id("sub"),
        name=data.name,
        abbrev=data.abbrev,
        synonyms=list(dict.fromkeys(data.synonyms)),
        kind=kind.value,
        group=parent[0].group if parent is not None and data.group == "other" else data.group,
        cas=data.cas,
        cn_code=data.cn_code,
        smiles=structure.smiles if structure else None,
        inchikey=structure.inchikey if structure else None,
        formula=structure.formula if structure else None,
        eu_category=data.eu_category,
        un_1988_table=data.un_1988_table,
        statuses=statuses,
        parent_id=parent[0].id if parent else None,
        parent_reason=parent[1] if parent else None,
        notes=data.notes,
        updated_at=now,
        **_owned(actor, data, now),
    )
    session.add(substance)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="substance",
        object_id=substance.id,
        detail={"name": substance.name, "inchikey": substance.inchikey, "parent": substance.parent_id},
    )
    return substance


def _substance_filter(q: str | None, group: str | None, scheduled: bool | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if q:
        pattern = f"%{q.strip().lower()}%"
        conditions.append(
            or_(
                func.lower(Substance.name).like(pattern),
                func.lower(func.coalesce(Substance.abbrev, "")).like(pattern),
                Substance.cas == q.strip(),
                Substance.inchikey == q.strip().upper(),
            )
        )
    if group:
        conditions.append(Substance.group == group)
    if scheduled is True:
        conditions.append(or_(Substance.eu_category.is_not(None), Substance.un_1988_table.is_not(None)))
    elif scheduled is False:
        conditions.append(and_(Substance.eu_category.is_(None), Substance.un_1988_table.is_(None)))
    return conditions


def list_substances(
    session: Session,
    *,
    actor: Principal,
    q: str | None = None,
    group: str | None = None,
    scheduled: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Substance], int]:
    """The substances the actor may see, by name, filtered by text (name, abbreviation, CAS, InChIKey) and group."""
    query = select(Substance).where(visible_filter(actor, Substance)).order_by(Substance.name)
    for condition in _substance_filter(q, group, scheduled):
        query = query.where(condition)
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(session, actor=actor, object_type="substance", records=items, justification=None)
    return items, total


def get(session: Session, *, actor: Principal, substance_id: str) -> Substance:
    """One substance, if the actor may read it."""
    substance = session.get(Substance, substance_id)
    if substance is None:
        raise NotFound(f"no substance {substance_id}")
    audit.consult_one(session, actor=actor, record=substance, object_type="substance")
    return substance


def names(session: Session, *, ids: Iterable[str]) -> dict[str, str]:
    """Substance names by id (for labels of records the caller already may read)."""
    query = select(Substance.id, Substance.name).where(Substance.id.in_(sorted(set(ids))))
    return {substance_id: name for substance_id, name in session.execute(query)}


def structure_svg(substance: Substance, *, width: int = 320, height: int = 240) -> str | None:
    """The structure drawing (RDKit SVG), or None for a substance without a structure."""
    return draw_svg(substance.smiles, width=width, height=height) if substance.smiles else None


def children(session: Session, *, actor: Principal, substance_id: str) -> list[Substance]:
    """The visible substances registered as designer forms of this one."""
    query = select(Substance).where(
        Substance.parent_id == substance_id, visible_filter(actor, Substance, action=Action.READ)
    )
    return list(session.scalars(query.order_by(Substance.name)))


# ---------------------------------------------------------------- incidents


def record_incident(session: Session, *, actor: Principal, substance_id: str, data: IncidentIn) -> Incident:
    """Record a seizure, stopped shipment, illicit laboratory or first detection of a substance."""
    require_permission(actor, "substance_incident:write")
    _check_group(actor, data)
    substance = get(session, actor=actor, substance_id=substance_id)
    incident = Incident(
        id=new_id("inc"),
        substance_id=substance.id,
        kind=data.kind.value,
        occurred_on=data.occurred_on,
        quantity=data.quantity,
        unit=data.unit,
        place=data.place,
        port=data.port,
        country=data.country,
        route=list(data.route),
        modus_operandi=data.modus_operandi,
        declaration_id=data.declaration_id,
        **_owned(actor, data, utcnow()),
    )
    session.add(incident)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="substance_incident",
        object_id=incident.id,
        legal_regime=incident.legal_regime,
        detail={"substance": substance.id, "kind": incident.kind},
    )
    return incident


def list_incidents(
    session: Session,
    *,
    actor: Principal,
    substance_id: str | None = None,
    justification: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    """The incidents the actor may see (of one substance, or all), newest first."""
    query = select(Incident).where(visible_filter(actor, Incident, justification=justification))
    query = query.where(Incident.substance_id.in_(select(Substance.id).where(visible_filter(actor, Substance))))
    if substance_id:
        query = query.where(Incident.substance_id == substance_id)
    items, total = paginate(
        session, query.order_by(Incident.occurred_on.desc(), Incident.id), limit=limit, offset=offset
    )
    audit.consult_list(
        session, actor=actor, object_type="substance_incident", records=items, justification=justification
    )
    return items, total


# ---------------------------------------------------------------- subscriptions


def subscribe(session: Session, *, actor: Principal, data: SubscriptionIn) -> Subscription:
    """Subscribe the actor's organisation to alerts; at least one channel (webhook with its secret, or NATS)."""
    require_permission(actor, "subscription:manage")
    if data.webhook_url is None and data.nats_subject is None:
        raise InvalidInput("a subscription needs a webhook URL or a NATS subject", field="webhook_url")
    if data.webhook_url is not None and not data.webhook_secret:
        raise InvalidInput(
            "a webhook needs a secret to sign its messages with (16 characters or more)", field="webhook_secret"
        )
    subscription = Subscription(
        id=new_id("sbs"),
        org_id=actor.org_id,
        name=data.name,
        substance_groups=list(data.substance_groups),
        cn_prefixes=sorted(set(data.cn_prefixes)),
        ports=sorted(set(data.ports)),
        countries=sorted(set(data.countries)),
        alert_types=sorted({t.value for t in data.alert_types}),
        webhook_url=str(data.webhook_url) if data.webhook_url else None,
        webhook_secret=data.webhook_secret if data.webhook_url else None,
        nats_subject=data.nats_subject,
        active=True,
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(subscription)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="alert_subscription",
        object_id=subscription.id,
        detail={
            "name": subscription.name,
            "webhook": bool(subscription.webhook_url),
            "nats": subscription.nats_subject,
        },
    )
    return subscription


def list_subscriptions(session: Session, *, actor: Principal) -> list[Subscription]:
    """The subscriptions of the actor's organisation (empty without `subscription:manage`)."""
    if not actor.has("subscription:manage"):
        return []
    query = select(Subscription).where(Subscription.org_id == actor.org_id).order_by(Subscription.created_at)
    return list(session.scalars(query))


def unsubscribe(session: Session, *, actor: Principal, subscription_id: str) -> Subscription:
    """End a subscription of the actor's organisation (kept, inactive, for the record of past deliveries)."""
    require_permission(actor, "subscription:manage")
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.org_id != actor.org_id:
        raise NotFound(f"no subscription {subscription_id}")
    subscription.active = False
    audit.append(
        session, actor=actor, action=AuditAction.ALTER, object_type="alert_subscription", object_id=subscription.id
    )
    return subscription


# ---------------------------------------------------------------- alerts


def _check_alert_links(session: Session, actor: Principal, data: AlertIn) -> None:
    if data.substance_id is not None:
        substance = session.get(Substance, data.substance_id)
        if substance is None or not can(actor, Action.READ, substance):
            raise InvalidInput(f"no substance {data.substance_id}", field="substance_id")
    for incident_id in data.incident_ids:
        incident = session.get(Incident, incident_id)
        if incident is None or not can(actor, Action.READ, incident):
            raise InvalidInput(f"no incident {incident_id}", field="incident_ids")


def draft_alert(session: Session, *, actor: Principal, data: AlertIn) -> DrugAlert:
    """Draft an alert (sent later by `send_alert`)."""
    require_permission(actor, "drug_alert:write")
    _check_group(actor, data)
    _check_alert_links(session, actor, data)
    values = data.model_dump(exclude={"handling", "sharing_group_id", "legal_regime", "type"})
    alert = DrugAlert(
        id=new_id("alr"),
        type=data.type.value,
        status=AlertStatus.DRAFT.value,
        **_owned(actor, data, utcnow()),
        **values,
    )
    if alert.ack_hours is None:
        alert.ack_hours = ACK_HOURS[data.type]
    session.add(alert)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="drug_alert",
        object_id=alert.id,
        detail={"type": alert.type, "substance": alert.substance_id},
    )
    return alert


@dataclass(frozen=True)
class Concern:
    """What an alert concerns, on each dimension a subscription can filter by (empty: not stated)."""

    groups: frozenset[str]
    cn_codes: frozenset[str]
    ports: frozenset[str]
    countries: frozenset[str]
    type: str


def concern(session: Session, *, alert: DrugAlert) -> Concern:
    """The groups, CN codes, ports and countries an alert concerns: its own, its substance's and its incidents'."""
    groups: set[str] = set()
    cn = set(alert.cn_codes or ())
    ports = set(alert.ports or ())
    countries = set(alert.countries or ())
    if alert.substance_id:
        substance = session.get(Substance, alert.substance_id)
        if substance is not None:
            groups.add(substance.group)
            cn |= {code.digits for code in registry.parse_cn_codes(substance.cn_code)}
    for incident in session.scalars(select(Incident).where(Incident.id.in_(alert.incident_ids or []))):
        if incident.port:
            ports.add(incident.port)
        countries |= {incident.country, *incident.route}
    return Concern(frozenset(groups), frozenset(cn), frozenset(ports), frozenset(countries), alert.type)


def match(subscription: Subscription, concern: Concern) -> str | None:
    """Why `subscription` matches an alert of this concern, in words; None if it does not."""
    reasons = []
    if subscription.alert_types:
        if concern.type not in subscription.alert_types:
            return None
        reasons.append(f"type {concern.type}")
    checks = (
        ("group", subscription.substance_groups, concern.groups, lambda want, got: want == got),
        ("CN", subscription.cn_prefixes, concern.cn_codes, lambda want, got: got.startswith(want)),
        ("port", subscription.ports, concern.ports, lambda want, got: want == got),
        ("country", subscription.countries, concern.countries, lambda want, got: want == got),
    )
    for label, wanted, stated, fits in checks:
        if not wanted:
            continue
        if not stated:
            reasons.append(f"{label}: the alert names none")
            continue
        hits = sorted({w for w in wanted for s in stated if fits(w, s)})
        if not hits:
            return None
        reasons.append(f"{label} {', '.join(hits)}")
    return f"{subscription.name}: " + ("; ".join(reasons) if reasons else "all alerts")


def send_alert(
    session: Session, *, actor: Principal, alert_id: str, now: datetime | None = None
) -> list[AlertRecipient]:
    """Send a draft alert: its recipients (every matching subscriber but the sender) and their deliveries."""
    require_permission(actor, "drug_alert:write")
    alert = session.get(DrugAlert, alert_id)
    if alert is None or not can(actor, Action.UPDATE, alert):
        raise NotFound(f"no alert {alert_id} of your organisation")
    if alert.status != AlertStatus.DRAFT:
        raise Conflict(f"alert {alert_id} was sent already ({alert.sent_at:%Y-%m-%d %H:%M} UTC)")
    now = as_utc(now) if now else utcnow()
    what = concern(session, alert=alert)
    subscriptions = session.scalars(
        select(Subscription)
        .where(Subscription.active.is_(True), Subscription.org_id != actor.org_id)
        .order_by(Subscription.org_id, Subscription.created_at)
    )
    recipients: dict[str, AlertRecipient] = {}
    due = now + timedelta(hours=alert.ack_hours) if alert.ack_hours else None
    for subscription in subscriptions:
        reason = match(subscription, what)
        if reason is None:
            continue
        recipient = recipients.get(subscription.org_id)
        if recipient is None:
            recipient = AlertRecipient(
                alert_id=alert.id, org_id=subscription.org_id, subscription_ids=[], matched=reason, due_at=due
            )
            recipients[subscription.org_id] = recipient
            session.add(recipient)
        else:
            recipient.matched = f"{recipient.matched} | {reason}"
        recipient.subscription_ids = [*recipient.subscription_ids, subscription.id]
        _queue(session, alert=alert, subscription=subscription, kind="alert", now=now)
    alert.status = AlertStatus.SENT.value
    alert.sent_at = now
    alert.sent_by = actor.user_id
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.DISCLOSE,
        object_type="drug_alert",
        object_id=alert.id,
        detail={"recipients": sorted(recipients), "type": alert.type},
    )
    return list(recipients.values())


def _queue(session: Session, *, alert: DrugAlert, subscription: Subscription, kind: str, now: datetime) -> None:
    channels = []
    if subscription.webhook_url:
        channels.append((Channel.WEBHOOK, subscription.webhook_url))
    if subscription.nats_subject:
        channels.append((Channel.NATS, subscription.nats_subject))
    for channel, target in channels:
        session.add(
            Delivery(
                id=new_id("dlv"),
                alert_id=alert.id,
                org_id=subscription.org_id,
                subscription_id=subscription.id,
                channel=channel.value,
                target=target,
                message_kind=kind,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _alert_visibility(actor: Principal) -> ColumnElement[bool]:
    received = DrugAlert.id.in_(select(AlertRecipient.alert_id).where(AlertRecipient.org_id == actor.org_id))
    if not actor.has("drug_alert:read"):
        return visible_filter(actor, DrugAlert)
    return or_(visible_filter(actor, DrugAlert), received)


def list_alerts(
    session: Session,
    *,
    actor: Principal,
    box: str = "all",
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[DrugAlert], int]:
    """Alerts the actor may see: `inbox` (sent to its organisation), `sent` (by it), `drafts`, or `all`."""
    query = select(DrugAlert).where(_alert_visibility(actor))
    received = select(AlertRecipient.alert_id).where(AlertRecipient.org_id == actor.org_id)
    if box == "inbox":
        query = query.where(DrugAlert.id.in_(received))
    elif box == "sent":
        query = query.where(DrugAlert.owner_org_id == actor.org_id, DrugAlert.status != AlertStatus.DRAFT.value)
    elif box == "drafts":
        query = query.where(DrugAlert.owner_org_id == actor.org_id, DrugAlert.status == AlertStatus.DRAFT.value)
    elif box != "all":
        raise InvalidInput(f"{box!r} is not a box (inbox, sent, drafts, all)", field="box")
    else:
        query = query.where(or_(DrugAlert.status != AlertStatus.DRAFT.value, DrugAlert.owner_org_id == actor.org_id))
    query = query.order_by(func.coalesce(DrugAlert.sent_at, DrugAlert.created_at).desc(), DrugAlert.id)
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(session, actor=actor, object_type="drug_alert", records=items, justification=None)
    return items, total


@dataclass(frozen=True)
class AlertView:
    """An alert as one reader sees it: every recipient and delivery (the sender, or a reader by the policy), or only
    their own row (a recipient the policy alone would not let read it)."""

    alert: DrugAlert
    recipients: list[AlertRecipient]
    mine: AlertRecipient | None
    deliveries: list[Delivery]
    org_names: dict[str, str]
    substance: Substance | None
    full: bool

    @property
    def sender(self) -> bool:
        """Whether the reader sees every recipient's answer and every delivery."""
        return self.full


def get_alert(session: Session, *, actor: Principal, alert_id: str) -> AlertView:
    """An alert with what its reader may see of its recipients and deliveries; "not found" for anyone else."""
    alert = session.get(DrugAlert, alert_id)
    if alert is None or (alert.status == AlertStatus.DRAFT and alert.owner_org_id != actor.org_id):
        raise NotFound(f"no alert {alert_id}")
    mine = session.get(AlertRecipient, (alert_id, actor.org_id))
    full = bool(can(actor, Action.READ, alert))
    if full:
        audit.consult_one(session, actor=actor, record=alert, object_type="drug_alert")
        recipients = list(
            session.scalars(
                select(AlertRecipient).where(AlertRecipient.alert_id == alert.id).order_by(AlertRecipient.org_id)
            )
        )
        deliveries = list(
            session.scalars(
                select(Delivery).where(Delivery.alert_id == alert.id).order_by(Delivery.created_at, Delivery.id)
            )
        )
    elif mine is not None and actor.has("drug_alert:read"):
        recipients, deliveries = [mine], []
        audit.append(
            session,
            actor=actor,
            action=AuditAction.CONSULT,
            object_type="drug_alert",
            object_id=alert.id,
            legal_regime=alert.legal_regime,
            detail={"as": "recipient"},
        )
    else:
        raise NotFound(f"no alert {alert_id}")
    org_names = sharing_service.directory_names(session, ids=[*(r.org_id for r in recipients), alert.owner_org_id])
    substance = None
    if alert.substance_id:
        candidate = session.get(Substance, alert.substance_id)
        if candidate is not None and (can(actor, Action.READ, candidate) or mine is not None):
            substance = candidate
    return AlertView(alert, recipients, mine, deliveries, org_names, substance, full)


def recipients_of(
    session: Session, *, actor: Principal, alert_ids: Sequence[str], own: bool
) -> dict[str, list[AlertRecipient]]:
    """The recipient rows of alerts the actor was shown: its own organisation's row (`own`, its inbox) or, for the
    alerts its organisation sent, every row."""
    out: dict[str, list[AlertRecipient]] = {alert_id: [] for alert_id in alert_ids}
    if not alert_ids:
        return out
    query = select(AlertRecipient).where(AlertRecipient.alert_id.in_(list(alert_ids)))
    if own:
        query = query.where(AlertRecipient.org_id == actor.org_id)
    else:
        sent = select(DrugAlert.id).where(DrugAlert.owner_org_id == actor.org_id)
        query = query.where(AlertRecipient.alert_id.in_(sent))
    for row in session.scalars(query.order_by(AlertRecipient.alert_id, AlertRecipient.org_id)):
        out[row.alert_id].append(row)
    return out


def shown_target(delivery: Delivery) -> str:
    """Where a delivery goes, as shown to readers: a webhook's scheme and host only (its path or query may carry
    the receiver's own token), a NATS subject whole."""
    if delivery.channel != Channel.WEBHOOK:
        return delivery.target
    parts = urlsplit(delivery.target)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") or parts.query else delivery.target


def _recipient_for(session: Session, actor: Principal, alert_id: str) -> tuple[DrugAlert, AlertRecipient]:
    alert = session.get(DrugAlert, alert_id)
    recipient = session.get(AlertRecipient, (alert_id, actor.org_id)) if alert else None
    if alert is None or recipient is None:
        raise NotFound(f"no alert {alert_id} sent to your organisation")
    require_permission(actor, "drug_alert:ack")
    return alert, recipient


def acknowledge(
    session: Session, *, actor: Principal, alert_id: str, data: AckIn | None = None, now: datetime | None = None
) -> AlertRecipient:
    """Acknowledge an alert for the actor's authority (once; a second time changes nothing)."""
    alert, recipient = _recipient_for(session, actor, alert_id)
    if recipient.acknowledged_at is not None:
        return recipient
    recipient.acknowledged_at = as_utc(now) if now else utcnow()
    recipient.acknowledged_by = actor.user_id
    if data is not None and data.note:
        recipient.decision_note = data.note
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="drug_alert",
        object_id=alert.id,
        detail={"acknowledged": True, "late": bool(recipient.due_at and recipient.acknowledged_at > recipient.due_at)},
    )
    return recipient


def decide(
    session: Session, *, actor: Principal, alert_id: str, data: DecideIn, now: datetime | None = None
) -> AlertRecipient:
    """Record the actor's authority's decision on an alert (clear / object); acknowledges it if not yet."""
    alert, recipient = _recipient_for(session, actor, alert_id)
    moment = as_utc(now) if now else utcnow()
    if recipient.acknowledged_at is None:
        recipient.acknowledged_at = moment
        recipient.acknowledged_by = actor.user_id
    previous = recipient.decision
    recipient.decision = data.decision.value
    recipient.decision_note = data.note
    recipient.decided_at = moment
    recipient.decided_by = actor.user_id
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ALTER,
        object_type="drug_alert",
        object_id=alert.id,
        detail={"decision": recipient.decision, "previous": previous},
    )
    return recipient


def escalate_overdue(session: Session, *, now: datetime | None = None) -> list[AlertRecipient]:
    """Escalate every recipient past its acknowledgement time: marked, and re-sent as an escalation, once."""
    now = as_utc(now) if now else utcnow()
    overdue = list(
        session.scalars(
            select(AlertRecipient).where(
                AlertRecipient.acknowledged_at.is_(None),
                AlertRecipient.escalated_at.is_(None),
                AlertRecipient.due_at.is_not(None),
                AlertRecipient.due_at < now,
            )
        )
    )
    for recipient in overdue:
        recipient.escalated_at = now
        alert = session.get(DrugAlert, recipient.alert_id)
        assert alert is not None  # a recipient row belongs to its alert (FK, cascade)
        for subscription in session.scalars(
            select(Subscription).where(Subscription.id.in_(recipient.subscription_ids), Subscription.active.is_(True))
        ):
            _queue(session, alert=alert, subscription=subscription, kind="escalation", now=now)
        audit.append(
            session,
            actor=None,
            action=AuditAction.ALTER,
            object_type="drug_alert",
            object_id=alert.id,
            detail={
                "escalated": recipient.org_id,
                "due_at": recipient.due_at.isoformat() if recipient.due_at else None,
            },
        )
    session.flush()
    return overdue


def overdue(recipient: AlertRecipient, *, now: datetime | None = None) -> bool:
    """Whether a recipient has not acknowledged by its due time."""
    now = as_utc(now) if now else utcnow()
    return recipient.acknowledged_at is None and recipient.due_at is not None and recipient.due_at < now


# ---------------------------------------------------------------- screening


def _screen_substance(substance: Substance, by_id: dict[str, Substance]) -> screening.ScreenSubstance:
    codes = registry.parse_cn_codes(substance.cn_code)
    parent = by_id.get(substance.parent_id or "")
    return screening.ScreenSubstance(
        id=substance.id,
        name=substance.name,
        abbrev=substance.abbrev or "",
        synonyms=tuple(substance.synonyms or ()),
        cas=substance.cas,
        inchikey=substance.inchikey,
        cn_codes=tuple(code.digits for code in codes),
        ex_cn_codes=tuple(code.digits for code in codes if code.ex),
        structure=Structure.from_smiles(substance.smiles) if substance.smiles else None,
        scheduled=substance.scheduled,
        label=substance.label,
        eu_category=substance.eu_category,
        parent_id=parent.id if parent else None,
        parent_name=parent.name if parent else None,
    )


def _screener(substances: Sequence[Substance]) -> screening.Screener:
    by_id = {s.id: s for s in substances}
    return screening.Screener([_screen_substance(s, by_id) for s in substances])


def screener_for(session: Session, *, actor: Principal | None) -> screening.Screener:
    """A screener over the substances the actor may see."""
    return _screener(_visible_substances(session, actor))


def screen_text(session: Session, *, actor: Principal, data: ScreenTextIn) -> list[screening.Hit]:
    """Screen one goods line and/or one structure against the registry the actor may see."""
    require_permission(actor, "substance:read")
    if not data.description and not data.smiles:
        raise InvalidInput("give a goods description, a structure (SMILES), or both", field="description")
    screener = screener_for(session, actor=actor)
    hits: list[screening.Hit] = []
    if data.description:
        hits += screener.screen_line(description=data.description, hs_code=data.hs_code)
    if data.smiles:
        hits += screener.screen_structure(smiles=data.smiles)
    return hits


@dataclass(frozen=True)
class ScreeningReport:
    """What a screening of declarations did."""

    declarations: int
    lines: int
    hits: int
    flagged_declarations: int
    substances: int


def _declaration_ids(session: Session, actor: Principal, data: ScreenDeclarationsIn) -> list[str]:
    query = select(Declaration.id).where(visible_filter(actor, Declaration, action=Action.READ))
    if data.declaration_ids:
        query = query.where(Declaration.id.in_(data.declaration_ids))
    if data.lodged_from:
        query = query.where(Declaration.lodged_at >= data.lodged_from)
    if data.lodged_to:
        query = query.where(Declaration.lodged_at < data.lodged_to)
    if data.office:
        query = query.where(Declaration.office == data.office)
    return list(session.scalars(query.order_by(Declaration.id)))


def screen_declarations(
    session: Session, *, actor: Principal, data: ScreenDeclarationsIn, on_progress: Progress = _noop
) -> ScreeningReport:
    """Screen the goods lines of the declarations the actor may read and keep the hits (replacing earlier ones)."""
    require_permission(actor, "substance:read")
    require_permission(actor, "declaration:read")
    visible = _visible_substances(session, actor)
    screener = _screener(visible)
    visible_ids = [s.id for s in visible]
    ids = _declaration_ids(session, actor, data)
    now = utcnow()
    lines = hits = 0
    flagged: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        session.execute(
            delete(PrecursorHit).where(
                PrecursorHit.declaration_id.in_(chunk), PrecursorHit.substance_id.in_(visible_ids)
            )
        )
        rows = session.execute(
            select(GoodsItem.declaration_id, GoodsItem.seq, GoodsItem.description, GoodsItem.hs_code).where(
                GoodsItem.declaration_id.in_(chunk)
            )
        ).all()
        lines += len(rows)
        batch = (((r.declaration_id, r.seq), r.description, r.hs_code) for r in rows)
        new = []
        for (declaration_id, seq), found in screener.screen_lines(lines=batch):
            for hit in found:
                new.append(
                    {
                        "id": new_id("phit"),
                        "declaration_id": declaration_id,
                        "goods_seq": seq,
                        "substance_id": hit.substance_id,
                        "method": hit.method.value,
                        "strength": hit.strength,
                        "matched": hit.matched[:300],
                        "reason": hit.reason,
                        "screened_at": now,
                        "screened_by_org_id": actor.org_id,
                    }
                )
                flagged.add(declaration_id)
        if new:
            session.execute(PrecursorHit.__table__.insert(), new)
        hits += len(new)
        on_progress(min(start + _CHUNK, len(ids)))
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COMBINE,
        object_type="declaration",
        detail={"screened": len(ids), "lines": lines, "hits": hits, "flagged": sorted(flagged)[:1000]},
    )
    return ScreeningReport(len(ids), lines, hits, len(flagged), len(visible_ids))


def _hits_query(actor: Principal) -> Any:
    return (
        select(PrecursorHit, Substance.name)
        .join(Substance, Substance.id == PrecursorHit.substance_id)
        .join(Declaration, Declaration.id == PrecursorHit.declaration_id)
        .where(visible_filter(actor, Substance), visible_filter(actor, Declaration))
    )


def _read_hits(
    session: Session, *, actor: Principal, query: Any, object_id: str | None = None
) -> list[tuple[PrecursorHit, str]]:
    """The (hit, substance name) rows of `query` (built on `_hits_query`), recorded as a consultation if any."""
    if not (actor.has("substance:read") and actor.has("declaration:read")):
        return []
    rows = [(hit, name) for hit, name in session.execute(query)]
    if rows:
        audit.append(
            session,
            actor=actor,
            action=AuditAction.CONSULT,
            object_type="declaration" if object_id else "precursor_hit",
            object_id=object_id,
            detail={"precursor_hits": [hit.id for hit, _ in rows]},
        )
    return rows


def declaration_hits(session: Session, *, actor: Principal, declaration_id: str) -> list[tuple[PrecursorHit, str]]:
    """The screening hits on one declaration that the actor may see (declaration and substance), strongest first."""
    query = _hits_query(actor).where(PrecursorHit.declaration_id == declaration_id)
    query = query.order_by(PrecursorHit.goods_seq, PrecursorHit.strength.desc())
    return _read_hits(session, actor=actor, query=query, object_id=declaration_id)


def recent_hits(session: Session, *, actor: Principal, limit: int = 50) -> list[tuple[PrecursorHit, str]]:
    """The newest screening hits the actor may see, strongest first within a declaration."""
    query = _hits_query(actor).order_by(PrecursorHit.screened_at.desc(), PrecursorHit.strength.desc(), PrecursorHit.id)
    return _read_hits(session, actor=actor, query=query.limit(limit))


@dataclass(frozen=True)
class Strength:
    """What the rule columns read of a declaration's screening hits: the strongest hit, the most controlled category."""

    hit: float  # `precursor_hit`
    category: str | None  # `precursor_category`: "1" < "2A" < "2B" < "3" < "4" (text order is control order)


def declaration_strength(
    session: Session, *, actor: Principal | None, declaration_ids: Sequence[str]
) -> dict[str, Strength]:
    """The strongest screening hit and the most controlled EU category hit, per declaration that has a hit."""
    out: dict[str, Strength] = {}
    for start in range(0, len(declaration_ids), _CHUNK):
        chunk = list(declaration_ids[start : start + _CHUNK])
        query = (
            select(PrecursorHit.declaration_id, func.max(PrecursorHit.strength), func.min(Substance.eu_category))
            .join(Substance, Substance.id == PrecursorHit.substance_id)
            .where(PrecursorHit.declaration_id.in_(chunk))
        )
        if actor is not None:
            query = query.where(visible_filter(actor, Substance))
        for declaration_id, hit, category in session.execute(query.group_by(PrecursorHit.declaration_id)):
            out[declaration_id] = Strength(float(hit), category)
    return out


def draft_alert_from_hit(session: Session, *, actor: Principal, hit_id: str) -> DrugAlert:
    """Draft an alert from a screening hit: its substance, the line's CN code, the declaration's ports and route."""
    require_permission(actor, "drug_alert:write")
    row = session.execute(_hits_query(actor).where(PrecursorHit.id == hit_id)).first()
    if row is None:
        raise NotFound(f"no screening hit {hit_id}")
    hit, substance_name = row
    declaration = session.get(Declaration, hit.declaration_id)
    goods = session.get(GoodsItem, (hit.declaration_id, hit.goods_seq))
    assert declaration is not None and goods is not None  # the join above found them
    ports = [p for p in (declaration.port_of_loading, declaration.port_of_discharge) if p]
    countries = sorted(
        {c for c in (declaration.country_of_departure, goods.country_of_origin, *declaration.route_countries) if c}
    )
    data = AlertIn(
        type=AlertType.ALERT,
        title=f"{substance_name} declared as '{goods.description[:120]}'",
        substance_id=hit.substance_id,
        risk_type=f"suspected diversion of {substance_name} ({hit.method} hit)",
        risk_origin=f"declaration {declaration.ref} lodged at {declaration.office} on {declaration.lodged_at:%Y-%m-%d}",
        event_date=declaration.lodged_at.date(),
        event_place=declaration.port_of_discharge or declaration.office,
        identification_methods=hit.reason,
        cn_codes=[goods.hs_code[:8]] if len(goods.hs_code) >= 6 else [],
        ports=ports,
        countries=countries,
        handling=Handling.AMBER,
    )
    return draft_alert(session, actor=actor, data=data)
