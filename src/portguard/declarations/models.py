"""Declarations as tables and as the validated input schema every reader produces.

The level is that of the EU ICS2 entry summary declaration and the WCO Data Model: a declaration (who lodged it,
where, how the goods travel), its goods items (HS code, description, masses, value), its containers (ISO 6346
number, seals) and its parties by role (consignor, consignee, notify party, ...) with their identifiers.
`DeclarationIn` is the contract: every reader (ICS2-like JSON, CSV/Parquet/JSONL with a mapping, the public Korea
Customs Service set) turns its rows into it, and validation errors name the field that failed.

Declarations are protected records: owner organisation (the authority that received them), handling code and
legal regime, like every record. Their id is namespaced by the owner organisation (`<org>:<reference>`), so one
authority's references cannot collide with or be forged into another's.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from stdnum import iban as stdnum_iban
from stdnum import iso6346

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import ProtectedMixin


class PartyRole(StrEnum):
    CONSIGNOR = "consignor"
    CONSIGNEE = "consignee"
    NOTIFY_PARTY = "notify_party"
    DECLARANT = "declarant"
    IMPORTER = "importer"
    SELLER = "seller"
    BUYER = "buyer"
    CARRIER = "carrier"


class TransportMode(StrEnum):
    """UN/ECE Recommendation 19 modes of transport."""

    SEA = "1"
    RAIL = "2"
    ROAD = "3"
    AIR = "4"
    POST = "5"
    FIXED = "7"
    INLAND_WATER = "8"
    UNKNOWN = "9"


# ---------------------------------------------------------------- field validators
# Pure functions of one string, cached: real files repeat the same containers, ports, countries and accounts.


@lru_cache(maxsize=65536)
def _country(value: str) -> str:
    value = value.strip().upper()
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")


@lru_cache(maxsize=65536)
def _locode(value: str) -> str:
    value = value.replace(" ", "").upper()
    if not _LOCODE.match(value):
        raise ValueError(f"{value!r} is not a UN/LOCODE (two-letter country and three letters or digits 2-9)")
    _country(value[:2])
    return value


@lru_cache(maxsize=65536)
def _container(value: str) -> str:
    value = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZ][0-9]{7}", value):
        raise ValueError(
            f"{value!r} is not an ISO 6346 container number (owner code, category U/J/Z, six digits, check digit)"
        )
    if not iso6346.is_valid(value):
        raise ValueError(f"{value!r} fails the ISO 6346 check digit (expected {iso6346.calc_check_digit(value[:10])})")
    return value


@lru_cache(maxsize=65536)
def _hs(value: str) -> str:
    value = value.replace(".", "").replace(" ", "")
    if not re.fullmatch(r"[0-9]{6}([0-9]{2}([0-9]{2})?)?", value):
        raise ValueError(f"{value!r} is not an HS6, CN8 or TARIC10 code (6, 8 or 10 digits)")
    return value


@lru_cache(maxsize=65536)
def _eori(value: str) -> str:
    value = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{1,15}", value):
        raise ValueError(f"{value!r} is not an EORI number (country code and up to 15 letters or digits)")
    _country(value[:2])
    return value


@lru_cache(maxsize=65536)
def _iban(value: str) -> str:
    if not stdnum_iban.is_valid(value):
        raise ValueError(f"{value!r} is not a valid IBAN")
    return stdnum_iban.compact(value)


@lru_cache(maxsize=65536)
def _imo(value: str) -> str:
    value = value.upper().removeprefix("IMO").strip()
    if not re.fullmatch(r"[0-9]{7}", value):
        raise ValueError(f"{value!r} is not an IMO ship number (seven digits)")
    digits = [int(c) for c in value]
    if sum(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True)) % 10 != digits[6]:
        raise ValueError(f"{value!r} fails the IMO check digit")
    return value


def _plausible_date(value: datetime) -> datetime:
    if value.year < 2000 or value.year > 2100:
        raise ValueError(f"lodged_at {value:%Y-%m-%d} is outside 2000–2100")
    return value


Country = Annotated[str, AfterValidator(_country)]
Locode = Annotated[str, AfterValidator(_locode)]
ContainerNumber = Annotated[str, AfterValidator(_container)]
HSCode = Annotated[str, AfterValidator(_hs)]
Eori = Annotated[str, AfterValidator(_eori)]
Iban = Annotated[str, AfterValidator(_iban)]
Imo = Annotated[str, AfterValidator(_imo)]
LodgedAt = Annotated[datetime, AfterValidator(_plausible_date)]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


# ---------------------------------------------------------------- input schema


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(Strict):
    street: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=20)
    country: Country


class PartyIn(Strict):
    role: PartyRole
    name: Text200
    eori: Eori | None = None
    address: AddressIn | None = None
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()./-]{5,40}$")
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    iban: Iban | None = None


class ContainerIn(Strict):
    number: ContainerNumber
    seals: list[Annotated[str, Field(min_length=1, max_length=35)]] = Field(default_factory=list, max_length=10)
    size_type: str | None = Field(default=None, pattern=r"^[0-9A-Z]{4}$", description="ISO 6346 size-type code")


class GoodsItemIn(Strict):
    seq: int = Field(ge=1, le=999)
    hs_code: HSCode
    description: str = Field(min_length=1, max_length=512)
    gross_mass_kg: Decimal | None = Field(default=None, ge=0, le=10**9)  # bulk cargoes reach 10^8 kg
    net_mass_kg: Decimal | None = Field(default=None, ge=0, le=10**9)
    value: Decimal | None = Field(default=None, ge=0, le=10**12)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    packages: int | None = Field(default=None, ge=0, le=10**7)
    country_of_origin: Country | None = None
    containers: list[ContainerNumber] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _net_within_gross(self) -> GoodsItemIn:
        if self.gross_mass_kg is not None and self.net_mass_kg is not None and self.net_mass_kg > self.gross_mass_kg:
            raise ValueError(f"net mass {self.net_mass_kg} kg exceeds gross mass {self.gross_mass_kg} kg")
        return self


class DeclarationIn(Strict):
    """One declaration as every reader must deliver it."""

    ref: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$", description="LRN/MRN")
    type: str = Field(default="ENS", pattern=r"^[A-Z0-9]{2,4}$")
    lodged_at: LodgedAt
    office: str = Field(min_length=2, max_length=12, description="customs office (e.g. NL000396)")
    transport_mode: TransportMode = TransportMode.SEA
    transport_document: str | None = Field(default=None, max_length=40)
    vessel_imo: Imo | None = None
    voyage: str | None = Field(default=None, max_length=20)
    port_of_loading: Locode | None = None
    port_of_discharge: Locode | None = None
    country_of_departure: Country | None = None
    route_countries: list[Country] = Field(default_factory=list, max_length=30)
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    goods: list[GoodsItemIn] = Field(min_length=1, max_length=999)
    containers: list[ContainerIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> DeclarationIn:
        seqs = [g.seq for g in self.goods]
        if len(seqs) != len(set(seqs)):
            raise ValueError("goods item sequence numbers repeat")
        declared = {c.number for c in self.containers}
        for item in self.goods:
            for number in item.containers:
                if declared and number not in declared:
                    raise ValueError(f"goods item {item.seq} names container {number}, which is not declared")
        return self


# ---------------------------------------------------------------- tables


class Ingest(ProtectedMixin, Base):
    """One load of a file: its provenance, outcome and error report."""

    __tablename__ = "ingests"
    __record_type__ = "ingest"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # committed | rejected | duplicate
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    declarations: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    user_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Declaration(ProtectedMixin, Base):
    __tablename__ = "declarations"
    __record_type__ = "declaration"
    # No unique (owner, ref): the id `<owner>:<ref>` is that key already (migration 0003).
    __table_args__ = (Index("ix_declarations_lodged_at", "lodged_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ref: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(4))
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    office: Mapped[str] = mapped_column(String(12), index=True)
    transport_mode: Mapped[str] = mapped_column(String(1))
    transport_document: Mapped[str | None] = mapped_column(String(40), nullable=True)
    vessel_imo: Mapped[str | None] = mapped_column(String(7), nullable=True)
    voyage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    port_of_loading: Mapped[str | None] = mapped_column(String(5), nullable=True)
    port_of_discharge: Mapped[str | None] = mapped_column(String(5), nullable=True)
    country_of_departure: Mapped[str | None] = mapped_column(String(2), nullable=True)
    route_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    ingest_id: Mapped[str] = mapped_column(ForeignKey("ingests.id"), index=True)

    goods: Mapped[list[GoodsItem]] = relationship(order_by="GoodsItem.seq", lazy="selectin")
    containers: Mapped[list[Container]] = relationship(lazy="selectin")
    parties: Mapped[list[Party]] = relationship(lazy="selectin")


class GoodsItem(Base):
    __tablename__ = "goods_items"

    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(10), index=True)
    description: Mapped[str] = mapped_column(Text)
    gross_mass_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3), nullable=True)
    net_mass_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3), nullable=True)
    value: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    packages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    country_of_origin: Mapped[str | None] = mapped_column(String(2), nullable=True)
    containers: Mapped[list[str]] = mapped_column(JSON, default=list)


class Container(Base):
    __tablename__ = "declaration_containers"

    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(11), primary_key=True)
    seals: Mapped[list[str]] = mapped_column(JSON, default=list)
    size_type: Mapped[str | None] = mapped_column(String(4), nullable=True)


class Party(Base):
    __tablename__ = "declaration_parties"

    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    eori: Mapped[str | None] = mapped_column(String(17), nullable=True, index=True)
    street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
