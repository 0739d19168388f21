"""Stored substances: the registry, incidents, drug alerts with their recipients and deliveries, subscriptions, and
precursor hits on declarations.

Why these shapes: the EU Drug Alert System (Regulation (EU) 2023/1322, art. 13) and the precursor regime share one
registry. A `Substance` is a protected record (`substance`): the scheduled precursors seeded from the shared file are
CLEAR (public law), a substance an authority registers from a fresh seizure may start AMBER. Structures are stored
as RDKit's canonical SMILES with the InChIKey and formula computed from it (never trusted from input). Legal status
is a list of statuses per jurisdiction (`EU` precursor category, `UN` 1988 table or 1971 schedule, a member state's
own schedule), because one substance is listed differently in different places.

An `Incident` is a fact about a substance in the manner of INCB's PICS (precursor incidents) and IONICS (NPS
incidents): a seizure, a stopped shipment, an illicit laboratory, or a first detection, with quantity, place, route
and modus operandi.

A `DrugAlert` is a typed risk communication (formal notification, alert, advisory, briefing) with the fields of
art. 13(2). When sent, the subscriptions that match it decide its recipients: one `AlertRecipient` row per
authority, which that authority's focal point acknowledges and answers with a decision (clear / object, as in
PEN Online), due by `due_at`; an overdue acknowledgement escalates. Each channel of each matching subscription gets
a `Delivery` row (signed webhook or NATS), retried with back-off until delivered or given up. Recipients read the
alert because they are recipients, whatever its handling code (see `substances.service`).

A `PrecursorHit` is one finding of the screening on one goods line of a declaration, with its method (identifier,
name, unmasking, similarity), its strength (0–1) and the reason in words. Hits are read through their declaration
and their substance: a reader sees a hit only if they may see both.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
)
from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, LegalRegime, ProtectedMixin
from portguard.declarations.models import Country, Locode
from portguard.substances.chemistry import valid_cas
from portguard.substances.registry import status_label


class SubstanceKind(StrEnum):
    SCHEDULED_PRECURSOR = "scheduled_precursor"  # EU category 1-4 / UN 1988 Table I-II
    DESIGNER_PRECURSOR = "designer_precursor"  # unscheduled, one or a few steps from a scheduled precursor
    DRUG = "drug"  # scheduled under the 1961 / 1971 conventions
    NPS = "nps"  # new psychoactive substance
    CHEMICAL = "chemical"  # anything else worth knowing (a cutting agent, a look-alike)


class IncidentKind(StrEnum):
    SEIZURE = "seizure"
    STOPPED_SHIPMENT = "stopped_shipment"
    ILLICIT_LAB = "illicit_lab"
    FIRST_DETECTION = "first_detection"


class AlertType(StrEnum):
    FORMAL_NOTIFICATION = "formal_notification"
    ALERT = "alert"
    ADVISORY = "advisory"
    BRIEFING = "briefing"


# hours a recipient has to acknowledge each type of alert before it escalates (a briefing needs no acknowledgement)
ACK_HOURS: dict[AlertType, int | None] = {
    AlertType.FORMAL_NOTIFICATION: 24,
    AlertType.ALERT: 24,
    AlertType.ADVISORY: 72,
    AlertType.BRIEFING: None,
}


class AlertStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CLOSED = "closed"


class RecipientDecision(StrEnum):
    CLEAR = "clear"  # nothing against it here / the shipment may proceed
    OBJECT = "object"  # this authority objects: the shipment is stopped, the risk is confirmed here


class Channel(StrEnum):
    WEBHOOK = "webhook"
    NATS = "nats"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after `MAX_ATTEMPTS`


class HitMethod(StrEnum):
    IDENTIFIER = "identifier"  # CAS number, InChIKey, or CN code together with a name
    NAME = "name"  # a name or synonym in the goods description (fuzzy, several languages)
    UNMASKING = "unmasking"  # a structure that one to four generic reactions turn into a scheduled one
    SIMILARITY = "similarity"  # Morgan-fingerprint similarity to a registry structure (a weaker signal)


SUBSTANCE_GROUPS = (
    "amphetamine",  # BMK / P-2-P and its pre-precursors (APAA, MAPA, glycidates, ...)
    "methamphetamine",  # ephedrine, pseudoephedrine and their chloro derivatives
    "mdma",  # PMK / 3,4-MDP-2-P, safrole, isosafrole, piperonal and their glycidates
    "cocaine",  # potassium permanganate and the solvents and acids of cocaine processing
    "heroin",  # acetic anhydride
    "fentanyl",  # NPP, ANPP, 4-AP, norfentanyl and their protected forms
    "ghb",  # GBL, 1,4-butanediol
    "lsd",  # ergometrine, ergotamine, lysergic acid
    "cathinone",  # synthetic cathinones and their precursors (2-bromo-4-methylpropiophenone, ...)
    "other",
)


# ---------------------------------------------------------------- tables


class Substance(ProtectedMixin, Base):
    """A substance profile: names, identifiers, structure, legal statuses, and its scheduled parent if designer."""

    __tablename__ = "substances"
    __record_type__ = "substance"
    __table_args__ = (UniqueConstraint("owner_org_id", "name", name="uq_substances_owner_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    abbrev: Mapped[str | None] = mapped_column(String(40), nullable=True)
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(24), default=SubstanceKind.SCHEDULED_PRECURSOR.value)
    group: Mapped[str] = mapped_column(String(24), default="other", index=True)
    cas: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    cn_code: Mapped[str | None] = mapped_column(String(200), nullable=True)  # as printed: "ex 2918 30 00; ..."
    smiles: Mapped[str | None] = mapped_column(Text, nullable=True)  # RDKit canonical
    inchikey: Mapped[str | None] = mapped_column(String(27), nullable=True, index=True)
    formula: Mapped[str | None] = mapped_column(String(80), nullable=True)
    eu_category: Mapped[str | None] = mapped_column(String(2), nullable=True)
    eu_category_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    un_1988_table: Mapped[str | None] = mapped_column(String(2), nullable=True)
    statuses: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("substances.id"), nullable=True)
    parent_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    added_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def scheduled(self) -> bool:
        """Whether an EU category or a UN table lists it."""
        return bool(self.eu_category or self.un_1988_table)

    @property
    def label(self) -> str:
        """The precursor status in a few words: `EU cat. 1, UN Table I`, or `not scheduled`."""
        return status_label(self.eu_category, self.un_1988_table) or "not scheduled"


class Incident(ProtectedMixin, Base):
    """A seizure, stopped shipment, illicit laboratory or first detection of a substance."""

    __tablename__ = "substance_incidents"
    __record_type__ = "substance_incident"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    substance_id: Mapped[str] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(16, 3), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(8), nullable=True)
    place: Mapped[str] = mapped_column(String(200))
    port: Mapped[str | None] = mapped_column(String(5), nullable=True)
    country: Mapped[str] = mapped_column(String(2))
    route: Mapped[list[str]] = mapped_column(JSON, default=list)  # countries, origin first
    modus_operandi: Mapped[str | None] = mapped_column(Text, nullable=True)
    declaration_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DrugAlert(ProtectedMixin, Base):
    """A risk communication about a substance, with the fields of art. 13(2) of Regulation (EU) 2023/1322."""

    __tablename__ = "drug_alerts"
    __record_type__ = "drug_alert"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), default=AlertStatus.DRAFT.value, index=True)
    substance_id: Mapped[str | None] = mapped_column(ForeignKey("substances.id"), nullable=True, index=True)
    incident_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # art. 13(2)
    risk_type: Mapped[str] = mapped_column(Text)
    risk_origin: Mapped[str] = mapped_column(Text)
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    event_place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    exposure: Mapped[str | None] = mapped_column(Text, nullable=True)  # means of exposure or dissemination
    analytical_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    identification_methods: Mapped[str | None] = mapped_column(Text, nullable=True)
    risks: Mapped[str | None] = mapped_column(Text, nullable=True)
    measures_taken: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_options: Mapped[str | None] = mapped_column(Text, nullable=True)
    # what subscriptions are matched against (besides the substance's group and CN codes)
    cn_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ports: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    ack_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    sent_by: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Subscription(Base):
    """What an authority wants to be alerted about, and where: filters (empty = any) and delivery channels."""

    __tablename__ = "alert_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    substance_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    cn_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ports: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    alert_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)  # HMAC key; never shown again
    nats_subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertRecipient(Base):
    """One authority an alert was sent to: why, by when it must acknowledge, and what it answered."""

    __tablename__ = "alert_recipients"

    alert_id: Mapped[str] = mapped_column(ForeignKey("drug_alerts.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    subscription_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    matched: Mapped[str] = mapped_column(Text)  # why this authority received it, in words
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(8), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Delivery(Base):
    """One message of an alert (or its escalation) to one channel of one subscription, and its attempts."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("drug_alerts.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("alert_subscriptions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(500))  # the webhook URL or the NATS subject
    message_kind: Mapped[str] = mapped_column(String(12), default="alert")  # alert | escalation
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PrecursorHit(Base):
    """One screening finding on one goods line: which substance, how it was found, how strong, and why."""

    __tablename__ = "precursor_hits"
    __table_args__ = (UniqueConstraint("declaration_id", "goods_seq", "substance_id", "method"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), index=True)
    goods_seq: Mapped[int] = mapped_column(Integer)
    substance_id: Mapped[str] = mapped_column(ForeignKey("substances.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(12))
    strength: Mapped[float] = mapped_column(Float)
    matched: Mapped[str] = mapped_column(String(300))  # the text or structure that matched
    reason: Mapped[str] = mapped_column(Text)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    screened_by_org_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


# ---------------------------------------------------------------- input schemas


def _cas(value: str) -> str:
    found = valid_cas(value)
    if found is None:
        raise ValueError(f"{value!r} is not a CAS registry number with a valid check digit")
    return found


def _cn(value: str) -> str:
    value = " ".join(value.split())
    if not re.fullmatch(r"(ex )?\d{4}( ?\d{2}){0,3}(; ?(ex )?\d{4}( ?\d{2}){0,3})*", value, flags=re.IGNORECASE):
        raise ValueError(f"{value!r} is not a CN code list such as '2914 31 00' or 'ex 2918 30 00; 2939 41 00'")
    return value


def _cn_prefix(value: str) -> str:
    digits = value.replace(" ", "")
    if not re.fullmatch(r"\d{2,8}", digits):
        raise ValueError(f"{value!r} is not a CN code prefix (2 to 8 digits)")
    return digits


def _line(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be blank")
    return value


def _written_date(value: object) -> object:
    """Dates and times come as ISO text (or as Python dates): a number is refused, not read as a Unix time."""
    if isinstance(value, int | float):
        raise ValueError("a date is written as ISO 8601 text, such as 2026-12-04 or 2026-12-04T09:30:00Z")
    return value


Cas = Annotated[str, AfterValidator(_cas)]
Day = Annotated[date, BeforeValidator(_written_date)]
Moment = Annotated[AwareDatetime, BeforeValidator(_written_date)]
CnCodes = Annotated[str, AfterValidator(_cn)]
CnPrefix = Annotated[str, AfterValidator(_cn_prefix)]
Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_line)]
LongText = Annotated[str, Field(max_length=10000)]


class Sharing(BaseModel):
    """The handling code, sharing group and legal regime a new record gets."""

    handling: Handling = Handling.AMBER
    sharing_group_id: str | None = None
    legal_regime: LegalRegime = LegalRegime.GDPR


class Status(BaseModel):
    """One legal status in one jurisdiction."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction: str = Field(..., pattern=r"^(EU|UN|[A-Z]{2})$", description="EU, UN, or an ISO country code")
    status: Line = Field(..., description="e.g. 'category 1', 'Table I', 'Schedule II', 'controlled NPS'")
    act: str | None = Field(None, max_length=200, description="the act that lists it")


class SubstanceIn(Sharing):
    """Register a substance. A structure (SMILES) is checked and made canonical by RDKit."""

    model_config = ConfigDict(extra="forbid")

    name: Line
    abbrev: str | None = Field(None, max_length=40)
    synonyms: list[Line] = Field(default_factory=list, max_length=100)
    kind: SubstanceKind = SubstanceKind.CHEMICAL
    group: str = Field("other", description="one of " + ", ".join(SUBSTANCE_GROUPS))
    cas: Cas | None = None
    cn_code: CnCodes | None = None
    smiles: str | None = Field(None, min_length=1, max_length=2000)
    eu_category: str | None = Field(None, pattern=r"^(1|2A|2B|3|4)$")
    un_1988_table: str | None = Field(None, pattern=r"^(I|II)$")
    statuses: list[Status] = Field(default_factory=list, max_length=50)
    notes: LongText | None = None

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUBSTANCE_GROUPS:
            raise ValueError(f"{value!r} is not a substance group ({', '.join(SUBSTANCE_GROUPS)})")
        return value


class IncidentIn(Sharing):
    """Record an incident with a substance."""

    model_config = ConfigDict(extra="forbid")

    kind: IncidentKind
    occurred_on: Day
    quantity: Decimal | None = Field(None, ge=0, le=Decimal("1e12"), max_digits=16, decimal_places=3)
    unit: str | None = Field(None, pattern=r"^(kg|g|l|ml|units)$")
    place: Line
    port: Locode | None = None
    country: Country
    route: list[Country] = Field(default_factory=list, max_length=20)
    modus_operandi: LongText | None = None
    declaration_id: str | None = Field(None, max_length=100)


class AlertIn(Sharing):
    """Draft a risk communication; the art. 13(2) fields it must carry are required by type."""

    model_config = ConfigDict(extra="forbid")

    type: AlertType
    title: Line
    substance_id: str | None = Field(None, max_length=40)
    incident_ids: list[str] = Field(default_factory=list, max_length=100)
    risk_type: LongText = Field(..., min_length=3, description="type of the risk (art. 13(2)(a))")
    risk_origin: LongText = Field(..., min_length=3, description="origin of the risk (art. 13(2)(a))")
    event_date: Day | None = None
    event_place: Line | None = None
    exposure: LongText | None = Field(None, description="means of exposure or dissemination")
    analytical_data: LongText | None = None
    identification_methods: LongText | None = None
    risks: LongText | None = None
    measures_taken: LongText | None = None
    response_options: LongText | None = None
    cn_codes: list[CnPrefix] = Field(default_factory=list, max_length=50)
    ports: list[Locode] = Field(default_factory=list, max_length=50)
    countries: list[Country] = Field(default_factory=list, max_length=50)
    ack_hours: int | None = Field(None, ge=1, le=24 * 60, strict=True, description="default by type: 24, 24, 72, none")


class SubscriptionIn(BaseModel):
    """Subscribe your organisation to alerts; each filter left empty matches everything."""

    model_config = ConfigDict(extra="forbid")

    name: Line
    substance_groups: list[str] = Field(default_factory=list, max_length=len(SUBSTANCE_GROUPS))
    cn_prefixes: list[CnPrefix] = Field(default_factory=list, max_length=50)
    ports: list[Locode] = Field(default_factory=list, max_length=50)
    countries: list[Country] = Field(default_factory=list, max_length=50)
    alert_types: list[AlertType] = Field(default_factory=list, max_length=4)
    webhook_url: HttpUrl | None = None
    webhook_secret: str | None = Field(None, min_length=16, max_length=200, description="HMAC-SHA256 key")
    nats_subject: str | None = Field(
        None,
        pattern=r"^portguard\.alerts(\.[A-Za-z0-9_-]+)+$",
        max_length=200,
        description="a subject under portguard.alerts (the JetStream stream PORTGUARD_ALERTS keeps them)",
    )

    @field_validator("substance_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower() for v in value]
        unknown = [v for v in out if v not in SUBSTANCE_GROUPS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a substance group ({', '.join(SUBSTANCE_GROUPS)})")
        return sorted(set(out))


class AckIn(BaseModel):
    """Acknowledge an alert for your authority."""

    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None


class DecideIn(BaseModel):
    """Record your authority's decision on an alert (acknowledges it too, if not yet)."""

    model_config = ConfigDict(extra="forbid")

    decision: RecipientDecision
    note: LongText | None = None


class ScreenTextIn(BaseModel):
    """Screen one goods line, or a structure, against the registry."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=5000)
    hs_code: str | None = Field(None, pattern=r"^[0-9]{4,10}$")
    smiles: str | None = Field(None, min_length=1, max_length=2000)


class ScreenDeclarationsIn(BaseModel):
    """Screen the declarations you may read (all, or those lodged in a window) and keep the hits."""

    model_config = ConfigDict(extra="forbid")

    lodged_from: Moment | None = None
    lodged_to: Moment | None = None
    office: str | None = Field(None, min_length=1, max_length=12, description="customs office of lodgement")
    declaration_ids: list[str] = Field(default_factory=list, max_length=10000)
