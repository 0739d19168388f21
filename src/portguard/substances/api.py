"""HTTP for substances: the registry (import, export, structure drawings), incidents, precursor screening, drug
alerts with their subscriptions, acknowledgements and decisions; and their pages.

Thin over `service`. Every route needs a signed-in user; the service checks the permission (`substance:*`,
`substance_incident:*`, `drug_alert:*`, `subscription:manage`) after the request was validated, so a malformed
request is told what is wrong with it before who may send it, and a list a user may not read is empty. Sending an
alert commits its recipients and deliveries first and then works the deliveries in the background (the API's
background task run after the commit, `delivery.deliver_now`): a slow or dead webhook never holds the sender's
request, and a failed delivery is retried by the worker (`portguard substances deliver --loop`).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from portguard.core.clock import utcnow
from portguard.core.deps import CurrentPrincipal, DbSession, Justification, Paging, require
from portguard.core.errors import PROBLEM_RESPONSES, InvalidInput, NotFound, PortGuardError
from portguard.core.pages import form_model, render
from portguard.core.policy import Handling, Principal
from portguard.sharing import service as sharing
from portguard.sharing.models import Page
from portguard.substances import delivery, service
from portguard.substances.models import (
    SUBSTANCE_GROUPS,
    AckIn,
    AlertIn,
    AlertRecipient,
    AlertStatus,
    AlertType,
    DecideIn,
    Delivery,
    DrugAlert,
    Incident,
    IncidentIn,
    IncidentKind,
    PrecursorHit,
    RecipientDecision,
    ScreenDeclarationsIn,
    ScreenTextIn,
    Sharing,
    Subscription,
    SubscriptionIn,
    Substance,
    SubstanceIn,
    SubstanceKind,
)

router = APIRouter(prefix="/api", tags=["substances"], responses=PROBLEM_RESPONSES)
MAX_UPLOAD = 20 << 20  # a national substance list in SDF is a few MiB
ALERTS = ["drug alerts"]


# ---------------------------------------------------------------- shapes


class SubstanceOut(BaseModel):
    id: str
    name: str
    abbrev: str | None
    synonyms: list[str]
    kind: str
    group: str
    cas: str | None
    cn_code: str | None
    smiles: str | None = Field(description="canonical SMILES (RDKit)")
    inchikey: str | None = Field(description="standard InChIKey computed by RDKit")
    formula: str | None
    eu_category: str | None
    eu_category_note: str | None
    un_1988_table: str | None
    status_label: str
    statuses: list[dict[str, Any]]
    parent_id: str | None = Field(description="the scheduled substance this designer form unmasks to")
    parent_reason: str | None
    added_by: str | None
    sources: list[str]
    notes: str | None
    owner_org_id: str
    handling: str
    sharing_group_id: str | None
    created_at: datetime


def substance_out(substance: Substance) -> SubstanceOut:
    return SubstanceOut(
        **{name: getattr(substance, name) for name in SubstanceOut.model_fields if name != "status_label"},
        status_label=substance.label,
    )


class ImportOut(BaseModel):
    created: int
    updated: int
    problems: list[str] = Field(description="values of the file that disagree with what RDKit or the CAS rule compute")


class IncidentOut(BaseModel):
    id: str
    substance_id: str
    kind: str
    occurred_on: date
    quantity: float | None
    unit: str | None
    place: str
    port: str | None
    country: str
    route: list[str]
    modus_operandi: str | None
    declaration_id: str | None
    owner_org_id: str
    handling: str
    legal_regime: str
    created_at: datetime


def incident_out(incident: Incident) -> IncidentOut:
    values = {name: getattr(incident, name) for name in IncidentOut.model_fields}
    values["quantity"] = float(incident.quantity) if incident.quantity is not None else None
    return IncidentOut(**values)


class HitOut(BaseModel):
    substance_id: str
    substance_name: str
    method: str = Field(description="identifier, name, unmasking or similarity (in that order of strength)")
    strength: float
    matched: str
    reason: str


class StoredHitOut(HitOut):
    id: str
    declaration_id: str
    goods_seq: int
    screened_at: datetime


def stored_hit_out(hit: PrecursorHit, name: str) -> StoredHitOut:
    return StoredHitOut(
        id=hit.id,
        declaration_id=hit.declaration_id,
        goods_seq=hit.goods_seq,
        screened_at=hit.screened_at,
        substance_id=hit.substance_id,
        substance_name=name,
        method=hit.method,
        strength=hit.strength,
        matched=hit.matched,
        reason=hit.reason,
    )


class ScreeningOut(BaseModel):
    declarations: int
    lines: int
    hits: int
    flagged_declarations: int
    substances: int = Field(description="registry entries screened against")


class RecipientOut(BaseModel):
    org_id: str
    org_name: str
    matched: str
    due_at: datetime | None
    overdue: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    decision: str | None
    decision_note: str | None
    decided_at: datetime | None
    escalated_at: datetime | None


def recipient_out(recipient: AlertRecipient, names: dict[str, str]) -> RecipientOut:
    values = {n: getattr(recipient, n) for n in RecipientOut.model_fields if n not in ("org_name", "overdue")}
    return RecipientOut(
        **values, org_name=names.get(recipient.org_id, recipient.org_id), overdue=service.overdue(recipient)
    )


class DeliveryOut(BaseModel):
    id: str
    org_id: str
    channel: str
    target: str
    message_kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class AlertOut(BaseModel):
    id: str
    type: str
    title: str
    status: str
    substance_id: str | None
    incident_ids: list[str]
    risk_type: str
    risk_origin: str
    event_date: date | None
    event_place: str | None
    exposure: str | None
    analytical_data: str | None
    identification_methods: str | None
    risks: str | None
    measures_taken: str | None
    response_options: str | None
    cn_codes: list[str]
    ports: list[str]
    countries: list[str]
    ack_hours: int | None
    owner_org_id: str
    handling: str
    sharing_group_id: str | None
    created_at: datetime
    sent_at: datetime | None


def alert_out(alert: DrugAlert) -> AlertOut:
    return AlertOut(**{name: getattr(alert, name) for name in AlertOut.model_fields})


class AlertDetailOut(AlertOut):
    recipients: list[RecipientOut] = Field(description="every recipient for the sender; your own row for a recipient")
    deliveries: list[DeliveryOut] = Field(description="the sender's view of each message and its attempts")


def alert_detail_out(view: service.AlertView) -> AlertDetailOut:
    return AlertDetailOut(
        **alert_out(view.alert).model_dump(),
        recipients=[recipient_out(r, view.org_names) for r in view.recipients],
        deliveries=[delivery_out(d) for d in view.deliveries],
    )


def delivery_out(delivery: Delivery) -> DeliveryOut:
    values = {name: getattr(delivery, name) for name in DeliveryOut.model_fields}
    values["target"] = service.shown_target(delivery)
    return DeliveryOut(**values)


class SubscriptionOut(BaseModel):
    id: str
    name: str
    substance_groups: list[str]
    cn_prefixes: list[str]
    ports: list[str]
    countries: list[str]
    alert_types: list[str]
    webhook_url: str | None
    webhook_signed: bool = Field(description="a secret is kept to sign the webhook's messages (never shown)")
    nats_subject: str | None
    active: bool
    created_at: datetime


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    values = {n: getattr(subscription, n) for n in SubscriptionOut.model_fields if n != "webhook_signed"}
    return SubscriptionOut(**values, webhook_signed=bool(subscription.webhook_secret))


def _read_upload(upload: UploadFile) -> tuple[str, bytes]:
    name = upload.filename or "upload.csv"
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"{name} is larger than {MAX_UPLOAD >> 20} MiB", field="file")
    return name, data


def deliver_after_commit(request: Request, background: BackgroundTasks) -> None:
    """Work the due deliveries once the request's transaction has committed (a background task runs after it)."""
    background.add_task(delivery.deliver_now, db=request.app.state.db, settings=request.app.state.settings)


# ---------------------------------------------------------------- JSON API: registry


@router.get("/substances", response_model=Page[SubstanceOut], summary="List substances you may see")
def list_substances(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    q: Annotated[
        str | None, Query(max_length=200, description="part of a name or abbreviation; a CAS; an InChIKey")
    ] = None,
    group: Annotated[str | None, Query(max_length=24)] = None,
    scheduled: Annotated[bool | None, Query(description="only scheduled (true) or unscheduled (false)")] = None,
) -> dict[str, Any]:
    """The registry: scheduled precursors (EU categories, UN tables), designer precursors and new substances."""
    items, total = service.list_substances(
        session, actor=principal, q=q, group=group, scheduled=scheduled, limit=paging.limit, offset=paging.offset
    )
    return paging.page([substance_out(s) for s in items], total)


@router.post("/substances", response_model=SubstanceOut, status_code=201, summary="Register a substance")
def register(session: DbSession, principal: CurrentPrincipal, data: SubstanceIn) -> Any:
    """A new substance: its SMILES is made canonical and its InChIKey and formula computed by RDKit; an unscheduled
    structure is unmasked against the scheduled ones, and the parent it reaches is kept with the path."""
    return substance_out(service.register(session, actor=principal, data=data))


@router.post("/substances/import", response_model=ImportOut, summary="Import substances from CSV or SDF")
def import_substances(
    session: DbSession,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="CSV with the shared list's columns, or an SD file")],
    handling: Annotated[Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"], Form()] = "CLEAR",
    sharing_group_id: Annotated[str | None, Form(max_length=40)] = None,
) -> Any:
    """Create or update (by name) your organisation's substances from a file: every row or none, each error with its
    row and field; disagreements with RDKit's InChIKey or formula and failed CAS check digits come back as problems."""
    name, data = _read_upload(file)
    sharing = Sharing(handling=Handling(handling), sharing_group_id=sharing_group_id or None)
    report = service.import_file(session, actor=principal, content=data, file_name=name, sharing=sharing)
    return ImportOut(created=report.created, updated=report.updated, problems=report.problems)


@router.get(
    "/substances/export",
    summary="Export the substances you may see",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "chemical/x-mdl-sdfile": {}}}},
)
def export_substances(
    session: DbSession, principal: CurrentPrincipal, format: Literal["csv", "sdf"] = "csv"
) -> Response:
    """The registry as CSV (the shared list's columns plus synonyms) or as an SD file."""
    body = service.export(session, actor=principal, fmt=format)
    media = "text/csv" if format == "csv" else "chemical/x-mdl-sdfile"
    headers = {"Content-Disposition": f'attachment; filename="substances.{format}"'}
    return Response(body, media_type=media, headers=headers)


@router.get("/substances/hits", response_model=list[StoredHitOut], summary="List precursor hits")
def list_hits(
    session: DbSession,
    principal: CurrentPrincipal,
    declaration_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """The screening hits you may see (on declarations and substances you may read): of one declaration, or the
    newest."""
    if declaration_id:
        rows = service.declaration_hits(session, actor=principal, declaration_id=declaration_id)
    else:
        rows = service.recent_hits(session, actor=principal, limit=limit)
    return [stored_hit_out(hit, name) for hit, name in rows]


@router.get("/substances/{substance_id}", response_model=SubstanceOut, summary="Read a substance")
def get_substance(session: DbSession, principal: CurrentPrincipal, substance_id: str) -> Any:
    """One substance profile: names, identifiers, structure, legal statuses, and its parent if a designer form."""
    return substance_out(service.get(session, actor=principal, substance_id=substance_id))


@router.get(
    "/substances/{substance_id}/structure.svg",
    summary="A substance's structure drawing",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def structure(session: DbSession, principal: CurrentPrincipal, substance_id: str) -> Response:
    """The structure drawn by RDKit as SVG (404 for a substance without a structure, such as a medicinal product)."""
    substance = service.get(session, actor=principal, substance_id=substance_id)
    svg = service.structure_svg(substance)
    if svg is None:
        raise NotFound(f"{substance.name} has no structure to draw")
    return Response(svg, media_type="image/svg+xml")


# ---------------------------------------------------------------- incidents


@router.get(
    "/substances/{substance_id}/incidents", response_model=Page[IncidentOut], summary="List a substance's incidents"
)
def list_incidents(
    session: DbSession, principal: CurrentPrincipal, substance_id: str, paging: Paging, justification: Justification
) -> dict[str, Any]:
    """Seizures, stopped shipments, illicit laboratories and first detections of a substance, newest first."""
    items, total = service.list_incidents(
        session,
        actor=principal,
        substance_id=substance_id,
        justification=justification,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page([incident_out(i) for i in items], total)


@router.post(
    "/substances/{substance_id}/incidents",
    response_model=IncidentOut,
    status_code=201,
    summary="Record an incident",
)
def record_incident(session: DbSession, principal: CurrentPrincipal, substance_id: str, data: IncidentIn) -> Any:
    """A seizure, stopped shipment, illicit laboratory or first detection (quantity, place, route, modus operandi),
    in the manner of INCB's PICS and IONICS."""
    return incident_out(service.record_incident(session, actor=principal, substance_id=substance_id, data=data))


# ---------------------------------------------------------------- screening


@router.post("/substances/screen", response_model=list[HitOut], summary="Screen a goods line or a structure")
def screen(session: DbSession, principal: CurrentPrincipal, data: ScreenTextIn) -> Any:
    """Hits in order of strength, each with its reason: an exact identifier (CAS, InChIKey, CN code with a name),
    a name or synonym in the description (fuzzy, several languages), a structure that unmasks to a scheduled one,
    then similarity to the registry (a weaker signal)."""
    hits = service.screen_text(session, actor=principal, data=data)
    return [
        HitOut(
            substance_id=h.substance_id,
            substance_name=h.substance_name,
            method=h.method.value,
            strength=h.strength,
            matched=h.matched,
            reason=h.reason,
        )
        for h in hits
    ]


@router.post("/substances/screenings", response_model=ScreeningOut, summary="Screen declarations for precursors")
def screen_declarations(session: DbSession, principal: CurrentPrincipal, data: ScreenDeclarationsIn) -> Any:
    """Screen the goods lines of the declarations you may read (all, some, or those lodged in a window) against the
    registry you may see; the hits are kept and feed the rule column `precursor_hit`."""
    report = service.screen_declarations(session, actor=principal, data=data)
    return ScreeningOut(**report.__dict__)


@router.post(
    "/substances/hits/{hit_id}/alert", response_model=AlertOut, status_code=201, summary="Draft an alert from a hit"
)
def alert_from_hit(session: DbSession, principal: CurrentPrincipal, hit_id: str) -> Any:
    """A draft alert about the hit's substance, with the line's CN code and the declaration's ports and route."""
    return alert_out(service.draft_alert_from_hit(session, actor=principal, hit_id=hit_id))


# ---------------------------------------------------------------- alerts


@router.get("/alerts", response_model=Page[AlertOut], tags=ALERTS, summary="List drug alerts")
def list_alerts(
    session: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    box: Literal["inbox", "sent", "drafts", "all"] = "all",
) -> dict[str, Any]:
    """Alerts sent to your authority (`inbox`), sent by it (`sent`), its drafts, or all you may see."""
    items, total = service.list_alerts(session, actor=principal, box=box, limit=paging.limit, offset=paging.offset)
    return paging.page([alert_out(a) for a in items], total)


@router.post("/alerts", response_model=AlertOut, status_code=201, tags=ALERTS, summary="Draft a drug alert")
def draft_alert(session: DbSession, principal: CurrentPrincipal, data: AlertIn) -> Any:
    """A formal notification, alert, advisory or briefing with the fields of art. 13(2) of Regulation (EU) 2023/1322;
    sent with `POST /api/alerts/{id}/send`."""
    return alert_out(service.draft_alert(session, actor=principal, data=data))


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, tags=ALERTS, summary="Read a drug alert")
def get_alert(session: DbSession, principal: CurrentPrincipal, alert_id: str) -> Any:
    """The alert, who received it and why, who acknowledged, what each decided, and (for the sender) the deliveries."""
    return alert_detail_out(service.get_alert(session, actor=principal, alert_id=alert_id))


@router.post("/alerts/{alert_id}/send", response_model=AlertDetailOut, tags=ALERTS, summary="Send a drug alert")
def send_alert(
    request: Request, background: BackgroundTasks, session: DbSession, principal: CurrentPrincipal, alert_id: str
) -> Any:
    """Send a draft to every authority whose subscription matches it; the deliveries (signed webhook, NATS) follow
    in the background, after the recipients are committed, with retries."""
    service.send_alert(session, actor=principal, alert_id=alert_id)
    view = service.get_alert(session, actor=principal, alert_id=alert_id)
    deliver_after_commit(request, background)
    return alert_detail_out(view)


@router.post("/alerts/{alert_id}/ack", response_model=RecipientOut, tags=ALERTS, summary="Acknowledge a drug alert")
def acknowledge(session: DbSession, principal: CurrentPrincipal, alert_id: str, data: AckIn | None = None) -> Any:
    """Your authority has received the alert (a focal point's `drug_alert:ack`)."""
    recipient = service.acknowledge(session, actor=principal, alert_id=alert_id, data=data)
    return recipient_out(recipient, sharing.directory_names(session, ids=[recipient.org_id]))


@router.post("/alerts/{alert_id}/decision", response_model=RecipientOut, tags=ALERTS, summary="Decide on a drug alert")
def decide(session: DbSession, principal: CurrentPrincipal, alert_id: str, data: DecideIn) -> Any:
    """Your authority's answer, as in PEN Online: `clear` (no objection) or `object`, with a note."""
    recipient = service.decide(session, actor=principal, alert_id=alert_id, data=data)
    return recipient_out(recipient, sharing.directory_names(session, ids=[recipient.org_id]))


@router.get(
    "/alert-subscriptions", response_model=list[SubscriptionOut], tags=ALERTS, summary="List your subscriptions"
)
def list_subscriptions(session: DbSession, principal: CurrentPrincipal) -> Any:
    """Your authority's subscriptions (secrets are never shown)."""
    return [subscription_out(s) for s in service.list_subscriptions(session, actor=principal)]


@router.post(
    "/alert-subscriptions",
    response_model=SubscriptionOut,
    status_code=201,
    tags=ALERTS,
    summary="Subscribe to drug alerts",
)
def subscribe(session: DbSession, principal: CurrentPrincipal, data: SubscriptionIn) -> Any:
    """Alerts matching the filters (substance groups, CN code prefixes, ports, countries, types; empty = any) are
    delivered to the webhook (signed with HMAC-SHA256 over the secret) and/or the NATS subject."""
    return subscription_out(service.subscribe(session, actor=principal, data=data))


@router.delete(
    "/alert-subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    tags=ALERTS,
    summary="End a subscription",
)
def unsubscribe(session: DbSession, principal: CurrentPrincipal, subscription_id: str) -> Any:
    """No further alerts are delivered for it; past deliveries stay on record."""
    return subscription_out(service.unsubscribe(session, actor=principal, subscription_id=subscription_id))


# ---------------------------------------------------------------- pages

pages = APIRouter(include_in_schema=False)
SubstanceReader = Annotated[Principal, Depends(require("substance:read"))]
AlertReader = Annotated[Principal, Depends(require("drug_alert:read"))]
SubscriptionManager = Annotated[Principal, Depends(require("subscription:manage"))]
HANDLINGS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT")
BOXES = ("inbox", "sent", "drafts")
# a recipient's state on an alert page's chart, in the chart's order
RECIPIENT_STATES = ("acknowledged", "pending", "overdue", "decided clear", "decided object")
ALERT_TEXTS = (
    ("risk_type", "Type of the risk", True),
    ("risk_origin", "Origin of the risk", True),
    ("exposure", "Means of exposure or dissemination", False),
    ("analytical_data", "Analytical data", False),
    ("identification_methods", "Identification methods", False),
    ("risks", "Risks", False),
    ("measures_taken", "Measures taken", False),
    ("response_options", "Response options", False),
)


def _items(text: str) -> list[str]:
    """The values of a list field typed as text: separated by `;`, `,` or new lines, blanks dropped."""
    return [part.strip() for part in re.split(r"[;,\n]", text or "") if part.strip()]


def _upper_items(text: str) -> list[str]:
    return [item.upper() for item in _items(text)]


def _see_other(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location})


def _recipient_state(recipient: AlertRecipient) -> str:
    """One of `RECIPIENT_STATES`: the decision if any, else acknowledged, else overdue or pending."""
    if recipient.decision:
        return f"decided {recipient.decision}"
    if recipient.acknowledged_at is not None:
        return "acknowledged"
    return "overdue" if service.overdue(recipient) else "pending"


# ---------------------------------------------------------------- pages: the registry


def _registry_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    group: str = "",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    substances, total = service.list_substances(session, actor=principal, q=q or None, group=group or None, limit=500)
    extra.setdefault("values", {})
    return render(
        request,
        "substances/list.html",
        status_code=status_code,
        substances=substances,
        total=total,
        q=q,
        group=group,
        groups=SUBSTANCE_GROUPS,
        kinds=[k.value for k in SubstanceKind],
        handlings=HANDLINGS,
        sharing_groups=sharing.group_choices(session, actor=principal),
        can_write=principal.has("substance:write"),
        **extra,
    )


@pages.get("/substances", response_class=HTMLResponse)
def registry_page(
    request: Request,
    session: DbSession,
    principal: SubstanceReader,
    q: Annotated[str, Query(max_length=200)] = "",
    group: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    """The registry: search by name, abbreviation, CAS or InChIKey and filter by group; register a substance, import
    a file, export, and screen a goods line or a structure."""
    if group and group not in SUBSTANCE_GROUPS:
        raise InvalidInput(f"{group!r} is not a substance group ({', '.join(SUBSTANCE_GROUPS)})", field="group")
    return _registry_page(request, session, principal, q=q.strip(), group=group)


@pages.post("/substances", response_class=HTMLResponse)
def registry_add(
    request: Request,
    session: DbSession,
    principal: SubstanceReader,
    name: Annotated[str, Form(max_length=200)] = "",
    abbrev: Annotated[str, Form(max_length=40)] = "",
    synonyms: Annotated[str, Form(max_length=5000)] = "",
    smiles: Annotated[str, Form(max_length=2000)] = "",
    cas: Annotated[str, Form(max_length=16)] = "",
    cn_code: Annotated[str, Form(max_length=200)] = "",
    group: Annotated[str, Form(max_length=24)] = "other",
    kind: Annotated[str, Form(max_length=24)] = "chemical",
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Register a substance from the registry page; on to its page (with the parent unmasking found), or back to the
    form with the reason it was refused."""
    values = {
        "name": name,
        "abbrev": abbrev.strip() or None,
        "synonyms": [s for s in (part.strip() for part in synonyms.split(";")) if s],
        "smiles": smiles.strip() or None,
        "cas": cas.strip() or None,
        "cn_code": cn_code.strip() or None,
        "group": group,
        "kind": kind,
        "handling": handling,
        "sharing_group_id": sharing_group_id or None,
        "notes": notes.strip() or None,
    }
    try:
        with session.begin_nested():
            substance = service.register(session, actor=principal, data=form_model(SubstanceIn, **values))
    except PortGuardError as exc:
        shown = {**values, "synonyms": synonyms}
        return _registry_page(
            request, session, principal, status_code=exc.status, register_error=exc.detail, values=shown
        )
    return _see_other(f"/substances/{substance.id}")


@pages.post("/substances/import", response_class=HTMLResponse)
def registry_import(
    request: Request,
    session: DbSession,
    principal: SubstanceReader,
    file: Annotated[UploadFile | None, File()] = None,
    handling: Annotated[str, Form(max_length=20)] = "CLEAR",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Import a CSV or SD file from the registry page: what was created and updated and the file's problems, or
    the error naming the row and field (nothing is imported then)."""
    try:
        if file is None or not file.filename:
            raise InvalidInput("choose a CSV or SD file to import", field="file")
        name, data = _read_upload(file)
        sharing_choice = form_model(Sharing, handling=handling, sharing_group_id=sharing_group_id or None)
        with session.begin_nested():
            report = service.import_file(session, actor=principal, content=data, file_name=name, sharing=sharing_choice)
    except PortGuardError as exc:
        return _registry_page(request, session, principal, status_code=exc.status, import_error=exc.detail)
    return _registry_page(request, session, principal, import_report=report, import_name=name)


@pages.post("/substances/screen", response_class=HTMLResponse)
def registry_screen(
    request: Request,
    session: DbSession,
    principal: SubstanceReader,
    description: Annotated[str, Form(max_length=5000)] = "",
    hs_code: Annotated[str, Form(max_length=10)] = "",
    smiles: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Screen one goods line and/or a structure against the registry you may see: the hits with method, strength
    and reason, on the registry page (nothing is kept)."""
    screened = {"description": description, "hs_code": hs_code, "smiles": smiles}
    try:
        data = form_model(
            ScreenTextIn,
            description=description.strip() or None,
            hs_code=hs_code.replace(" ", "") or None,
            smiles=smiles.strip() or None,
        )
        hits = service.screen_text(session, actor=principal, data=data)
    except PortGuardError as exc:
        return _registry_page(
            request, session, principal, status_code=exc.status, screen_error=exc.detail, screened=screened
        )
    return _registry_page(request, session, principal, screen_hits=hits, screened=screened)


# ---------------------------------------------------------------- pages: precursor hits on a declaration


@pages.get("/substances/hits/declaration/{declaration_id}", response_class=HTMLResponse)
def declaration_hits_part(
    request: Request, session: DbSession, principal: SubstanceReader, declaration_id: str
) -> Response:
    """The precursor screening section of a declaration's page (an HTML fragment, loaded by htmx)."""
    rows = service.declaration_hits(session, actor=principal, declaration_id=declaration_id)
    return render(
        request,
        "substances/_hits.html",
        rows=rows,
        declaration_id=declaration_id,
        can_alert=principal.has("drug_alert:write"),
    )


@pages.post("/substances/hits/{hit_id}/alert", response_class=HTMLResponse)
def hit_alert(request: Request, session: DbSession, principal: SubstanceReader, hit_id: str) -> Response:
    """Draft an alert from a screening hit; on to the new draft (a refusal is shown on the error page)."""
    with session.begin_nested():
        alert = service.draft_alert_from_hit(session, actor=principal, hit_id=hit_id)
    return _see_other(f"/alerts/{alert.id}")


# ---------------------------------------------------------------- pages: one substance


def _substance_page(
    request: Request, session: Session, principal: Principal, substance_id: str, *, status_code: int = 200, **extra: Any
) -> Response:
    substance = service.get(session, actor=principal, substance_id=substance_id)
    parent = None
    if substance.parent_id:
        try:
            parent = service.get(session, actor=principal, substance_id=substance.parent_id)
        except NotFound:
            parent = None  # registered against a parent this reader may not see: the reason still says which
    incidents, incident_total = service.list_incidents(session, actor=principal, substance_id=substance.id)
    names = sharing.directory_names(
        session,
        ids=[substance.owner_org_id, substance.sharing_group_id, *(i.owner_org_id for i in incidents)],
    )
    extra.setdefault("values", {})
    return render(
        request,
        "substances/detail.html",
        status_code=status_code,
        s=substance,
        # RDKit draws this SVG from the stored canonical SMILES with every atom property cleared, and `draw_svg`
        # refuses a drawing with any tag outside its SVG whitelist, an event attribute, a link or "javascript:".
        # So nothing user-written can reach it and it is inlined (`|safe`): the page is one request, prints with
        # its structure, and the drawing scales with the page's CSS. The JSON API serves the same drawing as
        # image/svg+xml for other clients (`/api/substances/{id}/structure.svg`).
        svg=service.structure_svg(substance),
        parent=parent,
        children=service.children(session, actor=principal, substance_id=substance.id),
        incidents=incidents,
        incident_total=incident_total,
        names=names,
        incident_kinds=[k.value for k in IncidentKind],
        handlings=HANDLINGS,
        sharing_groups=sharing.group_choices(session, actor=principal),
        can_record=principal.has("substance_incident:write"),
        can_alert=principal.has("drug_alert:write"),
        today=utcnow().date(),
        **extra,
    )


@pages.get("/substances/{substance_id}", response_class=HTMLResponse)
def substance_page(request: Request, session: DbSession, principal: SubstanceReader, substance_id: str) -> Response:
    """One substance: its structure, identifiers, legal statuses, parent and designer forms, and incidents."""
    return _substance_page(request, session, principal, substance_id)


@pages.post("/substances/{substance_id}/incidents", response_class=HTMLResponse)
def incident_add(
    request: Request,
    session: DbSession,
    principal: SubstanceReader,
    substance_id: str,
    kind: Annotated[str, Form(max_length=20)] = "",
    occurred_on: Annotated[str, Form(max_length=10)] = "",
    quantity: Annotated[str, Form(max_length=20)] = "",
    unit: Annotated[str, Form(max_length=8)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    port: Annotated[str, Form(max_length=5)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
    route: Annotated[str, Form(max_length=200)] = "",
    modus_operandi: Annotated[str, Form(max_length=10000)] = "",
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Record an incident from the substance page; back to it, with the incident listed or the reason refused."""
    values = {
        "kind": kind,
        "occurred_on": occurred_on or None,
        "quantity": quantity.strip() or None,
        "unit": unit or None,
        "place": place,
        "port": port.strip().upper() or None,
        "country": country.strip().upper(),
        "route": _upper_items(route),
        "modus_operandi": modus_operandi.strip() or None,
        "handling": handling,
        "sharing_group_id": sharing_group_id or None,
    }
    try:
        with session.begin_nested():
            service.record_incident(
                session, actor=principal, substance_id=substance_id, data=form_model(IncidentIn, **values)
            )
    except PortGuardError as exc:
        if isinstance(exc, NotFound):
            raise
        shown = {**values, "route": route}
        return _substance_page(
            request, session, principal, substance_id, status_code=exc.status, incident_error=exc.detail, values=shown
        )
    return _see_other(f"/substances/{substance_id}#incidents")


# ---------------------------------------------------------------- pages: drug alerts


def _alerts_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    box: str,
    substance_id: str = "",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    alerts, total = service.list_alerts(session, actor=principal, box=box, limit=200)
    ids = [a.id for a in alerts]
    if box == "inbox":
        rows = service.recipients_of(session, actor=principal, alert_ids=ids, own=True)
    elif box == "sent":
        rows = service.recipients_of(session, actor=principal, alert_ids=ids, own=False)
    else:
        rows = {}
    can_write = principal.has("drug_alert:write")
    options: list[Substance] = []
    if can_write:
        options, _ = service.list_substances(session, actor=principal, limit=500)
    extra.setdefault("values", {"substance_id": substance_id})
    return render(
        request,
        "substances/alerts.html",
        status_code=status_code,
        alerts=alerts,
        total=total,
        box=box,
        boxes=BOXES,
        rows=rows,
        state=_recipient_state,
        substance_names=service.names(session, ids=[a.substance_id for a in alerts if a.substance_id]),
        can_write=can_write,
        can_subscribe=principal.has("subscription:manage"),
        substance_options=options,
        alert_types=[t.value for t in AlertType],
        alert_texts=ALERT_TEXTS,
        handlings=HANDLINGS,
        sharing_groups=sharing.group_choices(session, actor=principal),
        **extra,
    )


@pages.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: DbSession,
    principal: AlertReader,
    box: Annotated[str, Query(max_length=12)] = "inbox",
    substance_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The alert boxes: the inbox with your authority's state on each (due, overdue, acknowledged, decision), the
    alerts sent with their acknowledgements and decisions, the drafts; the form for a new alert."""
    if box not in BOXES:
        raise InvalidInput(f"{box!r} is not a box ({', '.join(BOXES)})", field="box")
    return _alerts_page(request, session, principal, box=box, substance_id=substance_id)


@pages.post("/alerts", response_class=HTMLResponse)
def alert_add(
    request: Request,
    session: DbSession,
    principal: AlertReader,
    type: Annotated[str, Form(max_length=24)] = "alert",
    title: Annotated[str, Form(max_length=200)] = "",
    substance_id: Annotated[str, Form(max_length=40)] = "",
    risk_type: Annotated[str, Form(max_length=10000)] = "",
    risk_origin: Annotated[str, Form(max_length=10000)] = "",
    event_date: Annotated[str, Form(max_length=10)] = "",
    event_place: Annotated[str, Form(max_length=200)] = "",
    exposure: Annotated[str, Form(max_length=10000)] = "",
    analytical_data: Annotated[str, Form(max_length=10000)] = "",
    identification_methods: Annotated[str, Form(max_length=10000)] = "",
    risks: Annotated[str, Form(max_length=10000)] = "",
    measures_taken: Annotated[str, Form(max_length=10000)] = "",
    response_options: Annotated[str, Form(max_length=10000)] = "",
    cn_codes: Annotated[str, Form(max_length=1000)] = "",
    ports: Annotated[str, Form(max_length=1000)] = "",
    countries: Annotated[str, Form(max_length=1000)] = "",
    handling: Annotated[str, Form(max_length=20)] = "AMBER",
    sharing_group_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Draft an alert from the alerts page (art. 13(2) fields); on to the draft, from where it is sent."""
    texts = {
        "risk_type": risk_type,
        "risk_origin": risk_origin,
        "exposure": exposure,
        "analytical_data": analytical_data,
        "identification_methods": identification_methods,
        "risks": risks,
        "measures_taken": measures_taken,
        "response_options": response_options,
    }
    values: dict[str, Any] = {
        "type": type,
        "title": title,
        "substance_id": substance_id or None,
        "event_date": event_date or None,
        "event_place": event_place.strip() or None,
        **{key: (value.strip() or None) for key, value in texts.items()},
        "cn_codes": _items(cn_codes),
        "ports": _upper_items(ports),
        "countries": _upper_items(countries),
        "handling": handling,
        "sharing_group_id": sharing_group_id or None,
    }
    values["risk_type"] = values["risk_type"] or ""
    values["risk_origin"] = values["risk_origin"] or ""
    try:
        with session.begin_nested():
            alert = service.draft_alert(session, actor=principal, data=form_model(AlertIn, **values))
    except PortGuardError as exc:
        shown = {**values, "cn_codes": cn_codes, "ports": ports, "countries": countries}
        return _alerts_page(
            request, session, principal, box="drafts", status_code=exc.status, alert_error=exc.detail, values=shown
        )
    return _see_other(f"/alerts/{alert.id}")


def _subscriptions_page(request: Request, session: Session, principal: Principal, **extra: Any) -> Response:
    status_code = extra.pop("status_code", 200)
    extra.setdefault("values", {})
    return render(
        request,
        "substances/subscriptions.html",
        status_code=status_code,
        subscriptions=service.list_subscriptions(session, actor=principal),
        org_name=sharing.directory_names(session, ids=[principal.org_id]).get(principal.org_id, principal.org_id),
        groups=SUBSTANCE_GROUPS,
        alert_types=[t.value for t in AlertType],
        **extra,
    )


@pages.get("/alerts/subscriptions", response_class=HTMLResponse)
def subscriptions_page(
    request: Request,
    session: DbSession,
    principal: SubscriptionManager,
    added: Annotated[str, Query(max_length=40)] = "",
    ended: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Your authority's subscriptions (filters and channels; a webhook's secret is never shown) and the form to add
    one."""
    return _subscriptions_page(request, session, principal, added=bool(added), ended=bool(ended))


@pages.post("/alerts/subscriptions", response_class=HTMLResponse)
def subscription_add(
    request: Request,
    session: DbSession,
    principal: SubscriptionManager,
    name: Annotated[str, Form(max_length=200)] = "",
    substance_groups: Annotated[list[str] | None, Form()] = None,
    cn_prefixes: Annotated[str, Form(max_length=1000)] = "",
    ports: Annotated[str, Form(max_length=1000)] = "",
    countries: Annotated[str, Form(max_length=1000)] = "",
    alert_types: Annotated[list[str] | None, Form()] = None,
    webhook_url: Annotated[str, Form(max_length=500)] = "",
    webhook_secret: Annotated[str, Form(max_length=200)] = "",
    nats_subject: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Subscribe your authority from the page; back to the list (the secret is kept to sign, never shown again)."""
    values: dict[str, Any] = {
        "name": name,
        "substance_groups": substance_groups or [],
        "cn_prefixes": _items(cn_prefixes),
        "ports": _upper_items(ports),
        "countries": _upper_items(countries),
        "alert_types": alert_types or [],
        "webhook_url": webhook_url.strip() or None,
        "webhook_secret": webhook_secret or None,
        "nats_subject": nats_subject.strip() or None,
    }
    try:
        with session.begin_nested():
            subscription = service.subscribe(session, actor=principal, data=form_model(SubscriptionIn, **values))
    except PortGuardError as exc:
        # the form comes back filled in, but for the secret: it is never written into a page
        shown = {**values, "cn_prefixes": cn_prefixes, "ports": ports, "countries": countries, "webhook_secret": None}
        return _subscriptions_page(request, session, principal, status_code=exc.status, error=exc.detail, values=shown)
    return _see_other(f"/alerts/subscriptions?added={subscription.id}")


@pages.post("/alerts/subscriptions/{subscription_id}/end", response_class=HTMLResponse)
def subscription_end(
    request: Request, session: DbSession, principal: SubscriptionManager, subscription_id: str
) -> Response:
    """End a subscription of your authority (kept, inactive, for the record of its deliveries)."""
    try:
        with session.begin_nested():
            service.unsubscribe(session, actor=principal, subscription_id=subscription_id)
    except PortGuardError as exc:
        return _subscriptions_page(request, session, principal, status_code=exc.status, error=exc.detail)
    return _see_other(f"/alerts/subscriptions?ended={subscription_id}")


def _alert_page(
    request: Request, session: Session, principal: Principal, alert_id: str, *, status_code: int = 200, **extra: Any
) -> Response:
    view = service.get_alert(session, actor=principal, alert_id=alert_id)
    alert = view.alert
    states = {(r.alert_id, r.org_id): _recipient_state(r) for r in view.recipients}
    chart = [{"state": s, "recipients": sum(1 for v in states.values() if v == s)} for s in RECIPIENT_STATES]
    own = alert.owner_org_id == principal.org_id
    names = dict(view.org_names)
    names.update(sharing.directory_names(session, ids=[alert.sharing_group_id]))
    return render(
        request,
        "substances/alert.html",
        status_code=status_code,
        view=view,
        a=alert,
        states=states,
        chart=json.dumps(chart),
        show_chart=bool(view.recipients) and view.sender,
        names=names,
        alert_texts=ALERT_TEXTS,
        can_send=own and alert.status == AlertStatus.DRAFT.value and principal.has("drug_alert:write"),
        can_answer=view.mine is not None and principal.has("drug_alert:ack"),
        decisions=[d.value for d in RecipientDecision],
        **extra,
    )


@pages.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, session: DbSession, principal: AlertReader, alert_id: str) -> Response:
    """One alert: its art. 13(2) fields; for the sender the recipients (why matched, due, acknowledged, decision)
    with a chart of their states and the deliveries; for a recipient's focal point, acknowledge and decide."""
    return _alert_page(request, session, principal, alert_id)


@pages.post("/alerts/{alert_id}/send", response_class=HTMLResponse)
def alert_send(
    request: Request, background: BackgroundTasks, session: DbSession, principal: AlertReader, alert_id: str
) -> Response:
    """Send a draft to the matching subscribers; the deliveries are worked in the background after the commit."""
    try:
        with session.begin_nested():
            service.send_alert(session, actor=principal, alert_id=alert_id)
    except PortGuardError as exc:
        if isinstance(exc, NotFound):
            raise
        return _alert_page(request, session, principal, alert_id, status_code=exc.status, error=exc.detail)
    deliver_after_commit(request, background)
    return _see_other(f"/alerts/{alert_id}")


@pages.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def alert_ack(
    request: Request,
    session: DbSession,
    principal: AlertReader,
    alert_id: str,
    note: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Acknowledge an alert for your authority (a focal point); back to the alert."""
    try:
        data = form_model(AckIn, note=note.strip() or None)
        with session.begin_nested():
            service.acknowledge(session, actor=principal, alert_id=alert_id, data=data)
    except PortGuardError as exc:
        if isinstance(exc, NotFound):
            raise
        return _alert_page(request, session, principal, alert_id, status_code=exc.status, error=exc.detail)
    return _see_other(f"/alerts/{alert_id}")


@pages.post("/alerts/{alert_id}/decision", response_class=HTMLResponse)
def alert_decide(
    request: Request,
    session: DbSession,
    principal: AlertReader,
    alert_id: str,
    decision: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Record your authority's decision (clear / object) with a note; back to the alert."""
    try:
        data = form_model(DecideIn, decision=decision, note=note.strip() or None)
        with session.begin_nested():
            service.decide(session, actor=principal, alert_id=alert_id, data=data)
    except PortGuardError as exc:
        if isinstance(exc, NotFound):
            raise
        return _alert_page(request, session, principal, alert_id, status_code=exc.status, error=exc.detail)
    return _see_other(f"/alerts/{alert_id}")
