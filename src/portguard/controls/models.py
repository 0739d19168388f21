"""Control orders (what to check and why) and control results (what was found).

An order targets a declaration or a container, is documentary, a scan or physical, and records its reason: rule
ids, a model score, random exploration, or a manual decision. A result records the outcome (no finding,
irregularity, seizure) with what and how much was found, the drug type and concealment method, who recorded it
and when. Results imported from a labelled data set (the public Korea Customs Service set) say so in `source`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, LegalRegime, ProtectedMixin


class ControlKind(StrEnum):
    DOCUMENTARY = "documentary"
    SCAN = "scan"
    PHYSICAL = "physical"


class ReasonKind(StrEnum):
    RULE = "rule"
    MODEL = "model"
    RANDOM = "random"
    MANUAL = "manual"


class Outcome(StrEnum):
    NO_FINDING = "no_finding"
    IRREGULARITY = "irregularity"
    SEIZURE = "seizure"


class ControlOrder(ProtectedMixin, Base):
    __tablename__ = "control_orders"
    __record_type__ = "control"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    declaration_id: Mapped[str | None] = mapped_column(ForeignKey("declarations.id"), nullable=True, index=True)
    container_number: Mapped[str | None] = mapped_column(String(11), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason_kind: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ControlResult(ProtectedMixin, Base):
    __tablename__ = "control_results"
    __record_type__ = "control"
    __table_args__ = (Index("ix_control_results_declaration", "declaration_id"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("control_orders.id"), nullable=True, index=True)
    declaration_id: Mapped[str | None] = mapped_column(ForeignKey("declarations.id"), nullable=True)
    container_number: Mapped[str | None] = mapped_column(String(11), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    goods: Mapped[str | None] = mapped_column(Text, nullable=True)
    quantity_kg: Mapped[Decimal | None] = mapped_column(Numeric(14, 3), nullable=True)
    drug_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    concealment: Mapped[str | None] = mapped_column(String(120), nullable=True)
    officer: Mapped[str | None] = mapped_column(String(120), nullable=True)
    source: Mapped[str] = mapped_column(String(40), default="officer")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ControlOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    declaration_id: str | None = None
    container_number: str | None = Field(default=None, max_length=11)
    kind: ControlKind
    reason_kind: ReasonKind = ReasonKind.MANUAL
    reasons: dict[str, Any] = Field(default_factory=dict)
    handling: Handling = Handling.AMBER
    legal_regime: LegalRegime = LegalRegime.GDPR

    @model_validator(mode="after")
    def _target(self) -> ControlOrderIn:
        if not (self.declaration_id or self.container_number):
            raise ValueError("a control targets a declaration or a container")
        return self


class ControlResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str | None = None
    declaration_id: str | None = None
    container_number: str | None = Field(default=None, max_length=11)
    outcome: Outcome
    critical: bool = False
    goods: str | None = Field(default=None, max_length=2000)
    quantity_kg: Decimal | None = Field(default=None, ge=0, le=10**7)
    drug_type: str | None = Field(default=None, max_length=60)
    concealment: str | None = Field(default=None, max_length=120)
    officer: str | None = Field(default=None, max_length=120)
    recorded_at: datetime | None = None
    handling: Handling = Handling.AMBER
    legal_regime: LegalRegime = LegalRegime.GDPR

    @model_validator(mode="after")
    def _target(self) -> ControlResultIn:
        if not (self.order_id or self.declaration_id or self.container_number):
            raise ValueError("a result belongs to an order, a declaration or a container")
        if self.outcome == Outcome.SEIZURE and not self.goods:
            raise ValueError("a seizure names what was seized (goods)")
        return self
