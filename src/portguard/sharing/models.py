"""Tables and API schemas of the sharing domain.

Organisations own records; users belong to one organisation and hold roles; sharing groups are named sets of
organisations that AMBER records can be shared with. Credentials (password hashes, API tokens as SHA-256, web
sessions, login attempts) live here too, because they belong to users. `Note` is a short information report
between organisations: the simplest protected record, used to prove the policy end to end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.policy import Handling, LegalRegime, OrgKind, ProtectedMixin, Role

# ---------------------------------------------------------------- tables


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    member: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    org: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class SharingGroup(Base):
    __tablename__ = "sharing_groups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member_rows: Mapped[list[SharingGroupMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def org_ids(self) -> list[str]:
        return sorted(m.org_id for m in self.member_rows)


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class Note(ProtectedMixin, Base):
    """A short information report shared between organisations under a handling code."""

    __tablename__ = "notes"
    __record_type__ = "note"
    __table_args__ = (Index("ix_notes_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------- API schemas

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, the total matching, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


class OrgIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    kind: OrgKind
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    member: bool = True

    @field_validator("country")
    @classmethod
    def _upper(cls, v: str) -> str:
        if not v.isascii() or not v.isalpha():
            raise ValueError("country must be two letters (ISO 3166-1 alpha-2)")
        return v.upper()


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: OrgKind
    country: str
    member: bool


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=120, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    org_id: str
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=12, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    username: str
    display_name: str
    email: str | None
    org_id: str
    roles: list[str]
    active: bool


class GroupIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=2000)
    org_ids: list[str] = Field(default_factory=list)


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str
    org_ids: list[str]


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    days: int = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown once, never stored in clear.")


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    handling: Handling = Handling.AMBER
    legal_regime: LegalRegime = LegalRegime.GDPR
    sharing_group_id: str | None = None
    recipient_ids: list[str] = Field(default_factory=list, max_length=100)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    title: str
    body: str
    owner_org_id: str
    handling: Handling
    legal_regime: LegalRegime
    sharing_group_id: str | None
    created_by: str
    created_at: datetime


class MeOut(BaseModel):
    user_id: str
    username: str
    org_id: str
    org_kind: OrgKind
    roles: list[str]
    permissions: list[str]
