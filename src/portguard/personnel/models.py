"""The employee register of a port organisation, its staff's badge and system-access logs, and screening runs.

Why a register in PortGuard at all: cocaine leaves European ports through people inside them — a crane driver who
moves a box to a blind spot, a planner who looks up where it stands, a gate clerk who lets a truck through. The
employer's security officers need to know who holds which badge, whether that person's vetting is still valid,
and which staff behave like an insider (access outside their shift, look-ups of containers outside their work,
presence near a container that is later seized); the police need the same facts, in an investigation, with a
reason. So an employee is a protected record (`employee`) owned by the employer: by default AMBER+STRICT (the
employer only); the employer may choose AMBER with a sharing group that includes the police. The service adds
the one rule the policy cannot express: whoever reads an employee of another organisation must be police and must
say why (see `personnel.service`).

Access events and screenings have no handling code of their own: they are read through their employee. A
screening additionally belongs to the organisation that ran it (`run_by_org_id`): its hits are what *that*
organisation could see in the watch lists and the network, so they are shown to it alone — a police screening
must never show the employer what the police know.

Shift hours are local wall-clock hours (0-23) at the port; a shift whose end hour is before its start hour runs
over midnight, and start == end means round the clock. `shift_days` are the days a shift *starts* on.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import as_utc, utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, ProtectedMixin
from portguard.declarations.models import ContainerNumber, Country


class VettingStatus(StrEnum):
    PENDING = "pending"  # background check requested, not concluded
    CLEARED = "cleared"  # cleared until `vetting_expires`
    REFUSED = "refused"  # the check found a reason not to grant access
    EXPIRED = "expired"  # recorded as expired (a cleared vetting past its date also reads as expired)


class AccessKind(StrEnum):
    BADGE = "badge"  # a badge reader at a gate or zone
    SYSTEM = "system"  # a log-in, search or change in an IT system (terminal operating system, port community)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EXPIRING_DAYS = 30  # a vetting that ends within this many days is flagged on the register
SHARING_HANDLINGS = (Handling.AMBER_STRICT, Handling.AMBER)


# ---------------------------------------------------------------- field validators


def parse_days(value: Any) -> Any:
    """'mon-fri', 'mon,wed,sat' or a list of day names as a sorted list of distinct day names."""
    if isinstance(value, str):
        parts = [p.strip().lower() for p in re.split(r"[,;\s]+", value) if p.strip()]
        out: list[str] = []
        for part in parts:
            if "-" in part:
                first, _, last = part.partition("-")
                if first not in WEEKDAYS or last not in WEEKDAYS:
                    raise ValueError(f"{part!r} is not a range of days such as 'mon-fri'")
                i, j = WEEKDAYS.index(first), WEEKDAYS.index(last)
                out += [WEEKDAYS[(i + k) % 7] for k in range((j - i) % 7 + 1)]
            else:
                out.append(part)
        value = out
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = [v.strip().lower() for v in value]
        unknown = [v for v in value if v not in WEEKDAYS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
        return sorted(set(value), key=WEEKDAYS.index)
    return value


def _zone(value: str) -> str:
    value = " ".join(value.upper().split())
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9 ./-]{0,39}", value):
        raise ValueError(f"{value!r} is not a zone name (letters, digits, spaces, '.', '/', '-'; up to 40)")
    return value


def _areas(value: Any) -> Any:
    """'YARD A; YARD B' or a list as a list of zone names (the upper-cased names, in order, without repeats)."""
    if isinstance(value, str):
        value = [p for p in re.split(r"[;,|]", value) if p.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(_zone(v) for v in value))
    return value


def _badge(value: str) -> str:
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{2,31}", value):
        raise ValueError(f"{value!r} is not a badge id (3-32 letters, digits or '-', starting with a letter or digit)")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


def _name(value: str) -> str:
    value = " ".join(value.split())
    if sum(ch.isalpha() for ch in value) < 2:
        raise ValueError("a name needs at least two letters")
    return value


def _birth_date(value: date) -> date:
    today = utcnow().date()
    if value.year < 1900 or (today - value).days < 14 * 365:
        raise ValueError(f"birth date {value.isoformat()} is not plausible for an employee")
    return value


def _text(value: str) -> str:
    return " ".join(value.split())


Zone = Annotated[str, AfterValidator(_zone)]
BadgeId = Annotated[str, AfterValidator(_badge)]
Email = Annotated[str, AfterValidator(_email)]
Days = Annotated[list[Weekday], BeforeValidator(parse_days)]
Areas = Annotated[list[Zone], BeforeValidator(_areas)]
Hour = Annotated[int, Field(ge=0, le=23, strict=True, description="local wall-clock hour, 0-23")]


def phone_e164(value: str, country: str | None) -> str:
    """`value` as an E.164 number ('+31104123456'), read with the country's trunk prefix; ValueError if impossible."""
    raw = value.strip()
    if not re.fullmatch(r"\+?[0-9 ()./-]{5,40}", raw):
        raise ValueError(f"{raw!r} is not a phone number (digits, spaces, + ( ) . / -)")
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{raw!r} is not a possible phone number in {country or 'international format'}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------- tables


class Employee(ProtectedMixin, Base):
    """A member of staff of a port organisation (the owner): identity, badge, vetting, shift and work areas."""

    __tablename__ = "employees"
    __record_type__ = "employee"
    __table_args__ = (UniqueConstraint("owner_org_id", "badge_id", name="uq_employees_owner_badge"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    job_role: Mapped[str] = mapped_column(String(80))
    badge_id: Mapped[str] = mapped_column(String(32))
    vetting_status: Mapped[str] = mapped_column(String(12), default=VettingStatus.PENDING.value)
    vetting_expires: Mapped[date | None] = mapped_column(Date, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    country: Mapped[str] = mapped_column(String(2))
    shift_start: Mapped[int] = mapped_column(Integer)
    shift_end: Mapped[int] = mapped_column(Integer)
    shift_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    work_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def vetting_state(self, today: date) -> str:
        """The vetting status in effect on `today`: a cleared vetting past its expiry date reads as expired."""
        if (
            self.vetting_status == VettingStatus.CLEARED.value
            and self.vetting_expires is not None
            and self.vetting_expires < today
        ):
            return VettingStatus.EXPIRED.value
        return self.vetting_status

    def vetting_expiring(self, today: date, days: int = EXPIRING_DAYS) -> bool:
        """True when a vetting in effect on `today` ends within `days` days."""
        if self.vetting_state(today) != VettingStatus.CLEARED.value or self.vetting_expires is None:
            return False
        return (self.vetting_expires - today).days <= days

    def subject(self) -> dict[str, str | None]:
        """The fields screening compares (record_id, name, address, phone, e-mail)."""
        return {
            "record_id": self.id,
            "name": self.name,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
            "country": self.country,
            "phone": self.phone,
            "email": self.email,
        }


class AccessEvent(Base):
    """One badge swipe or system access of an employee; read through the employee it belongs to."""

    __tablename__ = "personnel_access_events"
    __table_args__ = (Index("ix_personnel_access_events_employee_at", "employee_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the content: re-imports are idempotent
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(8))
    zone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    system: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action: Mapped[str | None] = mapped_column(String(60), nullable=True)
    container_number: Mapped[str | None] = mapped_column(String(11), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(40), default="api")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Screening(Base):
    """One screening of one employee against the watch lists and the network, by one organisation."""

    __tablename__ = "personnel_screenings"
    __table_args__ = (Index("ix_personnel_screenings_employee_run", "employee_id", "run_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(40), index=True)  # the screening run it was part of
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    run_by_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    watchlist_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    network_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    signal_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------- API schemas (inputs)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmployeeIn(_In):
    """An employee as the employer registers them."""

    name: str = Field(min_length=2, max_length=200)
    birth_date: date | None = None
    job_role: str = Field(min_length=2, max_length=80, description="e.g. crane operator, planner, gate clerk")
    badge_id: BadgeId = Field(description="the access badge's id, unique within the employer")
    vetting_status: VettingStatus = VettingStatus.PENDING
    vetting_expires: date | None = Field(default=None, description="required for a cleared vetting")
    country: Country = Field(description="ISO 3166-1 alpha-2 of the home address")
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9 -]{2,20}$")
    city: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40, description="stored in E.164")
    email: Email | None = None
    shift_start: Hour = 7
    shift_end: Hour = 15
    shift_days: Days = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1, max_length=7)
    work_areas: Areas = Field(
        default_factory=list, max_length=30, description="terminal zones or yard blocks, e.g. 'YARD B', 'QUAY'"
    )
    active: bool = Field(default=True, strict=True)
    handling: Literal["AMBER+STRICT", "AMBER"] = Field(
        default="AMBER+STRICT", description="AMBER+STRICT: your organisation only; AMBER: also the sharing group"
    )
    sharing_group_id: str | None = Field(default=None, max_length=40)

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        return _name(value)

    @field_validator("job_role", "street", "city")
    @classmethod
    def _clean_text(cls, value: str | None) -> str | None:
        return _text(value) or None if value is not None else None

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        return " ".join(value.upper().split()) if value is not None else None

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value: date | None) -> date | None:
        return _birth_date(value) if value is not None else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "country" not in info.data:  # a bad country is said once, not again as a bad phone
            return value
        return phone_e164(value, info.data["country"])

    @model_validator(mode="after")
    def _consistent(self) -> EmployeeIn:
        if self.vetting_status == VettingStatus.CLEARED and self.vetting_expires is None:
            raise ValueError("vetting_expires: a cleared vetting needs the date it must be renewed")
        if self.handling == Handling.AMBER.value and not self.sharing_group_id:
            raise ValueError("sharing_group_id: AMBER needs a sharing group (without one, choose AMBER+STRICT)")
        if self.handling == Handling.AMBER_STRICT.value and self.sharing_group_id:
            raise ValueError("sharing_group_id: AMBER+STRICT is your organisation only; a sharing group needs AMBER")
        return self


class EmployeePatch(_In):
    """A change to an employee: only the fields given change (the result is validated as a whole)."""

    name: str | None = Field(default=None, min_length=2, max_length=200)
    birth_date: date | None = None
    job_role: str | None = Field(default=None, min_length=2, max_length=80)
    vetting_status: VettingStatus | None = None
    vetting_expires: date | None = None
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=2)
    shift_start: int | None = Field(default=None, ge=0, le=23, strict=True)
    shift_end: int | None = Field(default=None, ge=0, le=23, strict=True)
    shift_days: Days | None = Field(default=None, min_length=1, max_length=7)
    work_areas: Areas | None = Field(default=None, max_length=30)
    active: bool | None = Field(default=None, strict=True)
    handling: Literal["AMBER+STRICT", "AMBER"] | None = None
    sharing_group_id: str | None = Field(default=None, max_length=40)


class AccessEventIn(_In):
    """One badge swipe or system access, naming the employee by badge id (as badge systems log) or by id."""

    badge_id: BadgeId | None = None
    employee_id: str | None = Field(default=None, max_length=40)
    at: AwareDatetime = Field(description="when, with its UTC offset")
    kind: AccessKind
    zone: Zone | None = Field(default=None, description="badge: the reader's zone or gate")
    system: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    action: str | None = Field(default=None, max_length=60)
    container_number: ContainerNumber | None = Field(default=None, description="system: the container looked up")

    @model_validator(mode="after")
    def _shape(self) -> AccessEventIn:
        if (self.badge_id is None) == (self.employee_id is None):
            raise ValueError("name the employee by badge_id or by employee_id (one of them)")
        if not 2000 <= self.at.year <= 2100:
            raise ValueError(f"{self.at.isoformat()} is outside 2000–2100")
        if self.kind == AccessKind.BADGE:
            if self.zone is None:
                raise ValueError("a badge event needs the zone (or gate) of the reader")
            if self.container_number is not None or self.system is not None:
                raise ValueError("a badge event has a zone, not a system or a container")
        elif self.system is None:
            raise ValueError("a system event needs the system's name")
        return self

    def content_key(self, employee_id: str) -> str:
        """SHA-256 of what the event says, so the same event sent twice is stored once."""
        parts = [
            employee_id,
            as_utc(self.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            self.kind.value,
            self.zone or "",
            self.system or "",
            self.action or "",
            self.container_number or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class EventBatchIn(_In):
    """The body of `POST /api/personnel/events`."""

    events: list[AccessEventIn] = Field(min_length=1, max_length=10_000)


class ScreenIn(_In):
    """What to screen, and why (the watch lists and the network are consulted in your name)."""

    employee_ids: list[str] | None = Field(default=None, max_length=5000, description="default: every visible one")
    justification: str = Field(min_length=3, max_length=1000)
