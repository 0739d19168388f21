"""Release rights: who may pick up a container, bound to identities instead of a PIN code anyone can pass on.

Why: a PIN code released by the shipping line travels by e-mail and phone through forwarders and hauliers, and
whoever learns it can collect the container — the way cocaine is pulled out of a port. As in Rotterdam's Secure
Chain and Antwerp's Certified Pick-up, PortGuard issues a *right* instead: it is held by exactly one organisation
at a time, moves line → forwarder → haulier → driver only by an authorised user of the organisation holding it,
and is good at the gate only when the three lights (commercial, customs, terminal) are green and the driver
presents the identity token of the driver it was assigned to. Each step is a `ReleaseStep`, an audit entry and a
RELEASE tracking event, so the tracking detectors see the chain.

A right is a protected record (`release`), owned by the issuing line and always AMBER with the sharing group the
line chose: the group must contain the terminal, and a right can only be passed to organisations of the group, so
the issuer, the holder, the terminal and the authorities of the port community read it and nobody else does.

Drivers are registered by their haulier; the token a driver shows at the gate is random (256 bits), shown once,
and stored only as its SHA-256 (as API tokens are: a slow hash is pointless for random secrets).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import ProtectedMixin
from portguard.declarations.models import ContainerNumber


class RightStatus(StrEnum):
    ISSUED = "issued"  # held by the line, a forwarder or a haulier
    AT_DRIVER = "at_driver"  # the holding haulier assigned a driver
    USED = "used"  # the container went out through the gate
    REVOKED = "revoked"
    EXPIRED = "expired"


ACTIVE = frozenset({RightStatus.ISSUED.value, RightStatus.AT_DRIVER.value})


class StepAction(StrEnum):
    ISSUED = "issued"
    TRANSFERRED = "transferred"
    ASSIGNED = "assigned"
    LIGHT = "light"
    GATE_ALLOWED = "gate_allowed"
    GATE_DENIED = "gate_denied"
    REVOKED = "revoked"


LIGHTS = ("commercial", "customs", "terminal")
Light = Literal["customs", "terminal"]  # the commercial light is the line's, switched on when it issues


def consignee_key(text: str) -> str:
    """The consignee as a comparable key: upper case, letters and digits only (the risk features' convention)."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())[:200]


# ---------------------------------------------------------------- tables


class Driver(Base):
    """A driver of a haulier, with the SHA-256 of the identity token they present at the gate."""

    __tablename__ = "release_drivers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    haulier_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    document_number: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReleaseRight(ProtectedMixin, Base):
    """The right to pick up one container under one transport document; owned by the line that issued it."""

    __tablename__ = "release_rights"
    __record_type__ = "release"
    __table_args__ = (
        Index("ix_release_rights_container_status", "container_number", "status"),
        Index("ix_release_rights_consignee_key_status", "consignee_key", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    container_number: Mapped[str] = mapped_column(String(11))
    transport_document: Mapped[str] = mapped_column(String(35))
    consignee: Mapped[str] = mapped_column(String(200))
    consignee_key: Mapped[str] = mapped_column(String(200))
    issuer_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    holder_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terminal_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("release_drivers.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default=RightStatus.ISSUED.value)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    commercial_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    commercial_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    commercial_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customs_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    customs_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    customs_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    terminal_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    terminal_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def effective_status(self, now: datetime) -> str:
        """The status, reading an active right past its expiry as expired (stored lazily, at the next step)."""
        if self.status in ACTIVE and self.expires_at <= now:
            return RightStatus.EXPIRED.value
        return self.status

    def lights(self) -> dict[str, bool]:
        """The three lights, commercial, customs, terminal: True when green."""
        return {name: bool(getattr(self, f"{name}_ok")) for name in LIGHTS}


class ReleaseStep(Base):
    """One step of a right's chain; a denied gate check for a container without a right has no right."""

    __tablename__ = "release_steps"
    __table_args__ = (UniqueConstraint("right_id", "seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    right_id: Mapped[str | None] = mapped_column(ForeignKey("release_rights.id"), nullable=True, index=True)
    container_number: Mapped[str] = mapped_column(String(11), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    from_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    to_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("release_drivers.id"), nullable=True)
    light: Mapped[str | None] = mapped_column(String(12), nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    by_user_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    by_org_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# ---------------------------------------------------------------- API schemas (inputs)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReleaseRightIn(_In):
    """What the shipping line states when it issues a right."""

    container_number: ContainerNumber
    transport_document: str = Field(
        min_length=1, max_length=35, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", description="B/L or sea waybill number"
    )
    consignee: str = Field(min_length=2, max_length=200, description="consignee name, or its EORI number")
    terminal_org_id: str = Field(min_length=1, max_length=40, description="the terminal where it will be picked up")
    sharing_group_id: str = Field(
        min_length=1, max_length=40, description="the port-community group the right is shared with (AMBER)"
    )
    expires_at: AwareDatetime | None = Field(default=None, description="default: 14 days after issue")

    @field_validator("consignee")
    @classmethod
    def _consignee(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(consignee_key(value)) < 2:
            raise ValueError("a consignee needs at least two letters or digits")
        return value


class TransferIn(_In):
    to_org_id: str = Field(min_length=1, max_length=40, description="a forwarder or haulier of the right's group")


class AssignIn(_In):
    driver_id: str = Field(min_length=1, max_length=40, description="a driver of the holding haulier")


class LightIn(_In):
    light: Light
    ok: bool = Field(description="true: green; false: red (a hold)")


class RevokeIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class DriverIn(_In):
    name: str = Field(min_length=2, max_length=200)
    document_number: str = Field(
        min_length=3, max_length=40, pattern=r"^[A-Za-z0-9 -]+$", description="driving licence or ID document number"
    )


class GateCheckIn(_In):
    container_number: ContainerNumber
    driver_token: str = Field(min_length=1, max_length=200, description="the identity token the driver presents")
