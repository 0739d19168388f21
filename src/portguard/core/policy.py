"""The access policy, as data: who may do what to which protected record, and why.

Every record a user can see carries an owner organisation, a TLP 2.0 handling code, an optional sharing group,
named recipients (for RED) and a legal regime (GDPR, or the Law Enforcement Directive). The same rules exist twice,
and a property test keeps them in agreement:

* `can(principal, action, record)` decides one record and says why (`Decision(allowed, reason)`);
* `visible_filter(principal, Model)` is the SQL `WHERE` clause every list uses, so nothing is filtered after loading.

Handling codes: CLEAR, every authenticated user; GREEN, every member organisation of the community (and the owner);
AMBER, the owner organisation and the members of the record's sharing group; AMBER+STRICT, the owner organisation
only; RED, the named recipients only. Private-sector organisations never see LED records, whatever the handling
code. Consulting an LED record needs a stated justification, which the audit chain keeps. Default deny: an
unknown action, role or code allows nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, ForeignKey, String, and_, false, or_, select, true
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portguard.core.db import Base
from portguard.core.errors import Forbidden


class Handling(StrEnum):
    """TLP 2.0 handling codes."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"


class LegalRegime(StrEnum):
    """The data-protection regime a record falls under."""

    GDPR = "GDPR"
    LED = "LED"  # Directive (EU) 2016/680, law-enforcement processing


class OrgKind(StrEnum):
    """Kinds of organisation taking part."""

    CUSTOMS_AUTHORITY = "customs_authority"
    POLICE = "police"
    PORT_AUTHORITY = "port_authority"
    TERMINAL_OPERATOR = "terminal_operator"
    SHIPPING_LINE = "shipping_line"
    FORWARDER = "forwarder"
    HAULIER = "haulier"
    EU_AGENCY = "eu_agency"
    THIRD_COUNTRY_PARTNER = "third_country_partner"


PRIVATE_SECTOR = frozenset({OrgKind.TERMINAL_OPERATOR, OrgKind.SHIPPING_LINE, OrgKind.FORWARDER, OrgKind.HAULIER})


class Role(StrEnum):
    """Roles a user holds; each grants a fixed set of permissions."""

    CUSTOMS_ANALYST = "customs_analyst"
    INSPECTION_OFFICER = "inspection_officer"
    PORT_SECURITY = "port_security"
    POLICE_ANALYST = "police_analyst"
    ALERT_FOCAL_POINT = "alert_focal_point"
    ORG_ADMIN = "org_admin"
    PLATFORM_ADMIN = "platform_admin"


class Action(StrEnum):
    """What a user does to a protected record."""

    LIST = "list"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


_ALL = frozenset(OrgKind)
_PUBLIC = _ALL - PRIVATE_SECTOR

# role -> (permissions it grants, organisation kinds allowed to hold it)
ROLES: dict[Role, tuple[frozenset[str], frozenset[OrgKind]]] = {
    Role.CUSTOMS_ANALYST: (
        frozenset(
            {
                "note:read",
                "note:write",
                "declaration:read",
                "declaration:write",
                "ingest:read",
                "control:read",
                "control:write",
                "rule:read",
                "rule:write",
                "model:read",
                "model:write",
                "event:read",
                "event:write",
                "port_alert:read",
                "port_alert:ack",
                "release:read",
                "release:customs",
                "network:read",
                "network:write",
                "watchlist:read",
                "watchlist:write",
                "substance:read",
                "substance:write",
                "substance_incident:read",
                "substance_incident:write",
                "drug_alert:read",
                "drug_alert:write",
            }
        ),
        frozenset({OrgKind.CUSTOMS_AUTHORITY, OrgKind.EU_AGENCY, OrgKind.THIRD_COUNTRY_PARTNER}),
    ),
    Role.INSPECTION_OFFICER: (
        frozenset(
            {
                "note:read",
                "declaration:read",
                "control:read",
                "control:write",
                "rule:read",
                "model:read",
                "event:read",
                "event:write",
                "port_alert:read",
                "port_alert:ack",
                "release:read",
                "release:customs",
                "substance:read",
            }
        ),
        frozenset({OrgKind.CUSTOMS_AUTHORITY}),
    ),
    Role.PORT_SECURITY: (
        frozenset(
            {
                "note:read",
                "note:write",
                "event:read",
                "event:write",
                "port_alert:read",
                "port_alert:write",
                "port_alert:ack",
                "release:read",
                "release:write",
                "watchlist:read",
                "employee:read",
                "employee:write",
            }
        ),
        frozenset(
            {
                OrgKind.PORT_AUTHORITY,
                OrgKind.TERMINAL_OPERATOR,
                OrgKind.SHIPPING_LINE,
                OrgKind.HAULIER,
                OrgKind.FORWARDER,
            }
        ),
    ),
    Role.POLICE_ANALYST: (
        frozenset(
            {
                "note:read",
                "note:write",
                "declaration:read",
                "control:read",
                "event:read",
                "port_alert:read",
                "port_alert:ack",
                "release:read",
                "network:read",
                "network:write",
                "watchlist:read",
                "watchlist:write",
                "employee:read",
                "substance:read",
                "substance:write",
                "substance_incident:read",
                "substance_incident:write",
                "drug_alert:read",
            }
        ),
        frozenset({OrgKind.POLICE, OrgKind.EU_AGENCY}),
    ),
    Role.ALERT_FOCAL_POINT: (
        frozenset(
            {
                "note:read",
                "note:write",
                "substance:read",
                "substance:write",
                "substance_incident:read",
                "substance_incident:write",
                "drug_alert:read",
                "drug_alert:write",
                "drug_alert:ack",
                "subscription:manage",
            }
        ),
        frozenset({OrgKind.CUSTOMS_AUTHORITY, OrgKind.POLICE, OrgKind.EU_AGENCY}),
    ),
    Role.ORG_ADMIN: (frozenset({"note:read", "user:read", "user:manage", "audit:read"}), _ALL),
    Role.PLATFORM_ADMIN: (
        frozenset(
            {
                "note:read",
                "user:read",
                "user:manage",
                "org:manage",
                "group:manage",
                "audit:read",
                "audit:read_all",
                "audit:verify",
                "user:manage_all",
            }
        ),
        _PUBLIC,
    ),
}


@dataclass(frozen=True)
class Decision:
    """An access decision with the reason for it; truthy when allowed."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user with their organisation, roles and sharing-group memberships, loaded per request."""

    user_id: str
    username: str
    org_id: str
    org_kind: OrgKind
    org_member: bool = True
    roles: frozenset[Role] = frozenset()
    group_ids: frozenset[str] = frozenset()
    permissions: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        perms: set[str] = set()
        for role in self.roles:
            granted, kinds = ROLES.get(role, (frozenset(), frozenset()))
            if self.org_kind in kinds:
                perms |= granted
        object.__setattr__(self, "permissions", frozenset(perms))

    @property
    def private_sector(self) -> bool:
        """True for terminal operators, shipping lines, forwarders and hauliers."""
        return self.org_kind in PRIVATE_SECTOR

    def has(self, permission: str) -> bool:
        """Whether one of the user's roles grants `permission`."""
        return permission in self.permissions


class Protected(Protocol):
    """What the policy reads from a record."""

    owner_org_id: str
    handling: str
    sharing_group_id: str | None
    legal_regime: str


class RecordRecipient(Base):
    """A named recipient of a RED record (any record type)."""

    __tablename__ = "record_recipients"
    record_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ProtectedMixin:
    """Columns every protected record carries; `__record_type__` names the permission prefix."""

    __record_type__: str = ""

    @declared_attr
    def owner_org_id(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("organisations.id"), index=True)

    @declared_attr
    def handling(cls) -> Mapped[str]:
        return mapped_column(String(16), default=Handling.AMBER.value)

    @declared_attr
    def sharing_group_id(cls) -> Mapped[str | None]:
        return mapped_column(ForeignKey("sharing_groups.id"), nullable=True)

    @declared_attr
    def legal_regime(cls) -> Mapped[str]:
        return mapped_column(String(8), default=LegalRegime.GDPR.value)


NEEDS_JUSTIFICATION = "consulting an LED record requires a justification"
_VERBS = {Action.LIST: "read", Action.READ: "read", Action.UPDATE: "write", Action.DELETE: "write"}


def _permission_for(action: Action | str, record_type: str) -> str | None:
    try:
        return f"{record_type}:{_VERBS[Action(action)]}"
    except ValueError:
        return None


def can(
    principal: Principal | None,
    action: Action | str,
    record: Protected,
    *,
    record_type: str | None = None,
    recipients: Collection[str] = (),
    justification: str | None = None,
) -> Decision:
    """Whether `principal` may do `action` to `record`, with the reason."""
    if principal is None:
        return Decision(False, "not authenticated")
    rtype = record_type or getattr(record, "__record_type__", "")
    permission = _permission_for(action, rtype)
    if permission is None:
        return Decision(False, f"unknown action {action!r}")
    if not principal.has(permission):
        return Decision(False, f"no role of {principal.username} grants {permission}")
    regime = record.legal_regime
    if regime not in LegalRegime.__members__.values():
        return Decision(False, f"unknown legal regime {regime!r}")
    if regime == LegalRegime.LED and principal.private_sector:
        return Decision(False, "LED records are never shown to private-sector organisations")
    seen = _sees(principal, record, recipients)
    if not seen:
        return seen
    if Action(action) in (Action.UPDATE, Action.DELETE) and record.owner_org_id != principal.org_id:
        return Decision(False, "only the owner organisation may change or erase a record")
    if regime == LegalRegime.LED and not (justification and justification.strip()):
        return Decision(False, NEEDS_JUSTIFICATION)
    return seen


def require_permission(principal: Principal | None, permission: str) -> None:
    """Raise Forbidden unless a role of `principal` grants `permission` (`None`, the platform itself, always may)."""
    if principal is not None and not principal.has(permission):
        raise Forbidden(f"no role of {principal.username} grants {permission}", permission=permission)


def _sees(principal: Principal, record: Protected, recipients: Collection[str]) -> Decision:
    h = record.handling
    own = record.owner_org_id == principal.org_id
    if h == Handling.CLEAR:
        return Decision(True, "CLEAR: every authenticated user")
    if h == Handling.GREEN:
        if own or principal.org_member:
            return Decision(True, "GREEN: member organisation of the community")
        return Decision(False, "GREEN: your organisation is not a community member")
    if h == Handling.AMBER:
        if own:
            return Decision(True, "AMBER: owner organisation")
        if record.sharing_group_id and record.sharing_group_id in principal.group_ids:
            return Decision(True, "AMBER: member of the record's sharing group")
        return Decision(False, "AMBER: neither the owner organisation nor in its sharing group")
    if h == Handling.AMBER_STRICT:
        if own:
            return Decision(True, "AMBER+STRICT: owner organisation")
        return Decision(False, "AMBER+STRICT: owner organisation only")
    if h == Handling.RED:
        if principal.user_id in recipients:
            return Decision(True, "RED: named recipient")
        return Decision(False, "RED: named recipients only")
    return Decision(False, f"unknown handling code {h!r}")


def visible_filter(
    principal: Principal | None,
    model: Any,
    *,
    action: Action | str = Action.LIST,
    justification: str | None = None,
) -> ColumnElement[bool]:
    """The SQL condition selecting exactly the rows of `model` that `can()` would allow."""
    if principal is None:
        return false()
    permission = _permission_for(action, model.__record_type__)
    if permission is None or not principal.has(permission):
        return false()
    own = model.owner_org_id == principal.org_id
    # uncorrelated (a hashed subplan on PostgreSQL): far cheaper than a correlated EXISTS per RED row
    is_recipient = model.id.in_(
        select(RecordRecipient.record_id).where(
            RecordRecipient.record_type == model.__record_type__,
            RecordRecipient.user_id == principal.user_id,
        )
    )
    handling = or_(
        model.handling == Handling.CLEAR.value,
        and_(model.handling == Handling.GREEN.value, or_(own, true() if principal.org_member else false())),
        and_(
            model.handling == Handling.AMBER.value,
            or_(
                own,
                model.sharing_group_id.in_(sorted(principal.group_ids)) if principal.group_ids else false(),
            ),
        ),
        and_(model.handling == Handling.AMBER_STRICT.value, own),
        and_(model.handling == Handling.RED.value, is_recipient),
    )
    regimes = [LegalRegime.GDPR.value]
    if not principal.private_sector and justification and justification.strip():
        regimes.append(LegalRegime.LED.value)
    conditions = [handling, model.legal_regime.in_(regimes)]
    if Action(action) in (Action.UPDATE, Action.DELETE):
        conditions.append(own)
    return and_(*conditions)
