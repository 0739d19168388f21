"""Stored network analysis: resolution runs, their entities and links, analysts' decisions, watch lists.

Why runs: entity resolution and risk propagation are batch analyses over everything one user may read, so their
outcome belongs to whoever ran them and is shared like any other record. A `NetworkRun` is a protected record
(`network`) owned by the running organisation, with the handling code and sharing group it chose; its entities,
links, keys and watch-list hits are its rows and are read through it. The graph itself is not stored: it is
rebuilt from these rows and the declarations and control results the reader may see, so a reader never sees a
link from a declaration hidden from them.

A run is a snapshot at `as_of` (the seizures known then): targeting reads, for a declaration, the newest run the
user may see whose `as_of` is not after the declaration's lodging time, so a backtest never learns from a seizure
recorded after the day it replays.

Analysts' decisions (`EntityDecision`) override the model: "confirm" joins two party records into one entity,
"split" takes a record out of its entity. They are protected records of their own, kept across runs and applied
by every later run of a user who may see them; each is in the audit chain.

Watch lists are FollowTheMoney entity files (OpenSanctions, Aleph) imported as protected records (`watchlist`);
each entity becomes a `WatchListEntry` with the fields the matcher compares.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, ProtectedMixin


class DecisionKind(StrEnum):
    CONFIRM = "confirm"  # the two records are one entity
    SPLIT = "split"  # the record is an entity of its own


class LinkMethod(StrEnum):
    MODEL = "model"  # clustered by the run's model
    CONFIRMED = "confirmed"  # joined by an analyst's decision
    SPLIT = "split"  # taken out by an analyst's decision
    INCREMENTAL = "incremental"  # a later declaration attached without re-running


# ---------------------------------------------------------------- tables


class NetworkRun(ProtectedMixin, Base):
    """One resolution and analysis of the parties a user may read, as of a moment."""

    __tablename__ = "network_runs"
    __record_type__ = "network"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(12), default="done")
    records: Mapped[int] = mapped_column(Integer, default=0)
    entities: Mapped[int] = mapped_column(Integer, default=0)
    declarations: Mapped[int] = mapped_column(Integer, default=0)
    seizures: Mapped[int] = mapped_column(Integer, default=0)
    nodes: Mapped[int] = mapped_column(Integer, default=0)
    edges: Mapped[int] = mapped_column(Integer, default=0)
    communities: Mapped[int] = mapped_column(Integer, default=0)
    threshold: Mapped[float] = mapped_column(Float)
    model: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Splink's trained settings
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # half-life, hop decay, ...
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NetworkEntity(Base):
    """A company or person of a run: the party records resolved into it, and what the analysis says of it."""

    __tablename__ = "network_entities"
    __table_args__ = (Index("ix_network_entities_run_risk", "run_id", "risk"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("network_runs.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str] = mapped_column(String(12), default="company")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    records: Mapped[int] = mapped_column(Integer, default=0)
    declarations: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    identifiers: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # eori, iban, phone, email, ...
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    hops_to_seizure: Mapped[int | None] = mapped_column(Integer, nullable=True)
    community: Mapped[int | None] = mapped_column(Integer, nullable=True)
    degree: Mapped[int] = mapped_column(Integer, default=0)
    betweenness: Mapped[float] = mapped_column(Float, default=0.0)
    watch_hits: Mapped[int] = mapped_column(Integer, default=0)


class NetworkLink(Base):
    """Which entity of a run a party record (declaration, party sequence) belongs to, and how it was decided."""

    __tablename__ = "network_links"
    __table_args__ = (Index("ix_network_links_run_entity", "run_id", "entity_id"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("network_runs.id", ondelete="CASCADE"), primary_key=True)
    declaration_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(12), default=LinkMethod.MODEL.value)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    matched_record: Mapped[str | None] = mapped_column(String(120), nullable=True)


class NetworkKey(Base):
    """An exact key of an entity of a run (its EORI, its normalised name within its country): how a declaration
    lodged after the run finds its entity's risk before anything has linked it."""

    __tablename__ = "network_keys"
    __table_args__ = (Index("ix_network_keys_run_key", "run_id", "key"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("network_runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(260), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    risk: Mapped[float] = mapped_column(Float, default=0.0)


class WatchHit(Base):
    """An entity of a run that matches an entry of a watch list, with the matcher's probability and reasons."""

    __tablename__ = "network_watch_hits"

    run_id: Mapped[str] = mapped_column(ForeignKey("network_runs.id", ondelete="CASCADE"), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    watchlist_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    probability: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)


class EntityDecision(ProtectedMixin, Base):
    """An analyst's override of the model: confirm two records as one entity, or split a record out."""

    __tablename__ = "network_decisions"
    __record_type__ = "network"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    record: Mapped[str] = mapped_column(String(120), index=True)  # "<declaration id>#<party seq>"
    other_record: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WatchList(ProtectedMixin, Base):
    """A watch list imported from a FollowTheMoney entity file."""

    __tablename__ = "watchlists"
    __record_type__ = "watchlist"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(300), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WatchListEntry(Base):
    """One matchable entity of a watch list (a FtM Person, Company, Organization or LegalEntity)."""

    __tablename__ = "watchlist_entries"

    watchlist_id: Mapped[str] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the FtM entity id, as the source gave it
    schema: Mapped[str] = mapped_column(String(40))
    caption: Mapped[str] = mapped_column(String(300))
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    identifiers: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # eori, iban, bic, registration
    birth_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)


# ---------------------------------------------------------------- API schemas


class RunIn(BaseModel):
    """Start a resolution run over the parties the user may read."""

    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(None, description="seizures known at this moment count (default now)")
    handling: Handling = Handling.AMBER
    sharing_group_id: str | None = None
    half_life_days: float = Field(180.0, gt=0, le=3650)
    hop_decay: float = Field(0.5, gt=0, le=1)
    threshold: float | None = Field(None, gt=0, lt=1, description="match probability that joins two records")


class DecisionIn(BaseModel):
    """Confirm that two party records are one entity, or split one record out of its entity."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    record: str = Field(..., min_length=3, max_length=120, description='"<declaration id>#<party seq>"')
    other_record: str | None = Field(None, min_length=3, max_length=120)
    reason: str = Field(..., min_length=3, max_length=2000)
    handling: Handling = Handling.AMBER
    sharing_group_id: str | None = None
