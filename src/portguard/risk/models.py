"""Common risk criteria as data: rule sets (with their watch lists), versioned rules, and backtests on record.

A rule set is the unit that is shared and moved between authorities (a YAML file, `RuleSetFile`): it carries its
owner organisation, handling code and sharing group like every protected record, so a Dutch set marked AMBER for
the Alliance customs group runs for Belgian customs, who see its text and its hits, while a terminal operator
sees neither. Rules are versioned inside their set: changing a rule's condition, scope, action or weight makes a
new version (draft); a version is published only with a backtest of the set on record, and the previous published
version is retired then. A campaign (priority control area) is a rule set with a validity window and a minimum
control rate.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, LegalRegime, ProtectedMixin


class Lane(StrEnum):
    """What a hit asks for, least to most demanding: notify, blue (post-clearance audit), yellow (documentary),
    scan, red (physical inspection)."""

    NOTIFY = "notify"
    BLUE = "blue"
    YELLOW = "yellow"
    SCAN = "scan"
    RED = "red"


class RuleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$"


# ---------------------------------------------------------------- the file format


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScopeIn(Strict):
    offices: list[str] = Field(default_factory=list, max_length=200)
    ports: list[str] = Field(default_factory=list, max_length=200, description="ports of discharge (UN/LOCODE)")


class WatchListIn(Strict):
    kind: str = Field(default="values", pattern=r"^(country|hs|party|port|values)$")
    description: str = Field(default="", max_length=500)
    values: list[str] = Field(min_length=1, max_length=100_000)

    @field_validator("values")
    @classmethod
    def _clean(cls, values: list[str]) -> list[str]:
        cleaned = [str(v).strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("watch list values cannot be empty")
        return cleaned


class RuleIn(Strict):
    id: str = Field(pattern=KEY, description="unique within the set, e.g. COC-001")
    title: str = Field(min_length=3, max_length=200)
    purpose: str = Field(min_length=3, max_length=2000, description="why the rule exists, in plain language")
    instructions: str = Field(default="", max_length=4000, description="what the examiner should look at")
    when: str = Field(min_length=1, max_length=4000, description="condition over the declaration view")
    action: Lane = Lane.YELLOW
    weight: float = Field(default=1.0, gt=0, le=100)
    scope: ScopeIn = Field(default_factory=ScopeIn)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @model_validator(mode="after")
    def _window(self) -> RuleIn:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class RuleSetFile(Strict):
    """A rule set as written in YAML (see docs/rules.md)."""

    id: str = Field(pattern=KEY)
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: str = Field(default="rules", pattern=r"^(rules|campaign)$")
    example: bool = False
    handling: Handling = Handling.AMBER
    legal_regime: LegalRegime = LegalRegime.GDPR
    sharing_group: str | None = Field(default=None, max_length=200, description="sharing group id or name")
    owner: str | None = Field(default=None, max_length=200, description="owner organisation (bundles keep it)")
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    min_control_rate: float | None = Field(default=None, ge=0, le=1)
    watch_lists: dict[str, WatchListIn] = Field(default_factory=dict)
    rules: list[RuleIn] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSetFile:
        ids = [r.id for r in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule ids repeat: {', '.join(repeated)}")
        for name in self.watch_lists:
            if not name or len(name) > 60:
                raise ValueError(f"watch list name {name!r} must be 1-60 characters")
        if self.handling == Handling.RED:
            raise ValueError(
                "a rule set cannot be RED (RED names people, rules are run for organisations); "
                "AMBER+STRICT keeps it inside the owner organisation"
            )
        if self.kind == "campaign" and not (self.valid_from and self.valid_to):
            raise ValueError("a campaign has valid_from and valid_to")
        if self.min_control_rate is not None and self.kind != "campaign":
            raise ValueError("min_control_rate belongs to a campaign")
        return self


# ---------------------------------------------------------------- tables


class RuleSet(ProtectedMixin, Base):
    __tablename__ = "rule_sets"
    __record_type__ = "rule"  # permissions rule:read / rule:write

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # <owner org>:<key>
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="rules")
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    min_control_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped whenever any rule or list changes
    watch_lists: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # name -> {kind, description, values}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Rule(Base):
    """One version of one rule; the set's protection applies."""

    __tablename__ = "rules"

    rule_set_id: Mapped[str] = mapped_column(ForeignKey("rule_sets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=RuleStatus.DRAFT.value)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)
    ports: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    backtest_id: Mapped[str | None] = mapped_column(String(40), nullable=True)

    @property
    def rule_id(self) -> str:
        """The rule's id across sets: `<set id>/<key>`."""
        return f"{self.rule_set_id}/{self.key}"


class Backtest(ProtectedMixin, Base):
    """A backtest of a rule set version over a period: per-rule measures against control results."""

    __tablename__ = "backtests"
    __record_type__ = "rule"  # read with the rules it measures

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rule_set_id: Mapped[str] = mapped_column(ForeignKey("rule_sets.id", ondelete="CASCADE"), index=True)
    rule_set_version: Mapped[int] = mapped_column(Integer)
    period_from: Mapped[datetime] = mapped_column(UTCDateTime())
    period_to: Mapped[datetime] = mapped_column(UTCDateTime())
    declarations: Mapped[int] = mapped_column(Integer)
    measures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # see service.backtest
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------- learned targeting


class TargetingModel(ProtectedMixin, Base):
    """A trained targeting model on record: its artefact, training window, features and measures.

    One model per owner organisation is `active`: the one that scores its declarations and drives its selection.
    A newer model is trained beside it and becomes active once trained; the older ones stay for comparison."""

    __tablename__ = "targeting_models"
    __record_type__ = "model"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retired
    train_from: Mapped[datetime] = mapped_column(UTCDateTime())
    train_to: Mapped[datetime] = mapped_column(UTCDateTime())  # also the label cutoff
    rows_train: Mapped[int] = mapped_column(Integer)
    rows_valid: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # validation measures, curve, importance
    artefact: Mapped[str] = mapped_column(Text)  # learning.Model.to_dict() as JSON
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SelectionSetting(Base):
    """An office's exploration share (the part of its daily capacity kept for random and uncertain picks)."""

    __tablename__ = "selection_settings"

    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    office: Mapped[str] = mapped_column(String(12), primary_key=True)
    exploration: Mapped[float] = mapped_column(Float, default=0.10)
    updated_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SelectionRun(ProtectedMixin, Base):
    """One day's selection for an office: what the capacity was, what was picked and why (the orders it made)."""

    __tablename__ = "selection_runs"
    __record_type__ = "control"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office: Mapped[str] = mapped_column(String(12), index=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    exploration: Mapped[float] = mapped_column(Float)
    declarations: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str | None] = mapped_column(ForeignKey("targeting_models.id"), nullable=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # selected, in order, with reasons
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # reason -> number selected
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
