"""Release rights: issue, pass on, assign, light up, check at the gate, revoke — each step checked, chained, audited.

Why each check is where it is: a right is worth a container, so every step is taken by an authorised user of the
organisation that holds the right at that moment (the holder is the only one who can pass it on), and only to an
organisation of the right's sharing group (so everyone who ever holds it can read it, and nobody outside can).
Who may do what is decided by one function per step that raises with the reason (`Forbidden` for the wrong party,
`Conflict` for a right that is no longer active, `InvalidInput` for a bad target); `allowed_steps` asks the same
functions, so a page offers exactly the steps the service would take.

Each step is a `ReleaseStep` (the chain), an audit entry (collect for the issue, alter for the rest) and a RELEASE
tracking event owned by the organisation taking the step, so the tracking detectors see the custody chain. The
gate check never raises for a bad pick-up: it answers allowed or denied with the reason, records the attempt, and
raises a port alert on a denial, and on a pick-up by a haulier new to the consignee shortly after customs release
(the pattern of containers pulled out of the port by a party the consignee never used).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.db import paginate
from portguard.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PortGuardError
from portguard.core.ids import new_id
from portguard.core.policy import (
    Action,
    Decision,
    Handling,
    LegalRegime,
    OrgKind,
    Principal,
    can,
    require_permission,
    visible_filter,
)
from portguard.release.models import (
    ACTIVE,
    Driver,
    DriverIn,
    ReleaseRight,
    ReleaseRightIn,
    ReleaseStep,
    RightStatus,
    StepAction,
    consignee_key,
)
from portguard.sharing import service as sharing
from portguard.sharing.models import Organisation, SharingGroup, SharingGroupMember
from portguard.tracking import service as tracking
from portguard.tracking.models import AlertSharing

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = timedelta(days=14)
MAX_LIFETIME = timedelta(days=90)
NEW_PARTY_WINDOW = timedelta(hours=48)
DRIVER_TOKEN_PREFIX = "pgd_"  # noqa: S105 - a public prefix, not a secret
HOLDER_KINDS = frozenset({OrgKind.FORWARDER.value, OrgKind.HAULIER.value})
# A RELEASE event's action for each step (DCSA-shaped `releaseDetails.action`); assigning a driver passes custody
# to the driver (a transfer with `driverID`); a light is not a change of custody and has no event.
EVENT_ACTIONS = {
    StepAction.ISSUED.value: "ISSUED",
    StepAction.TRANSFERRED.value: "TRANSFERRED",
    StepAction.ASSIGNED.value: "TRANSFERRED",
    StepAction.GATE_ALLOWED.value: "GATE_ALLOWED",
    StepAction.GATE_DENIED.value: "GATE_DENIED",
    StepAction.REVOKED.value: "REVOKED",
}


@dataclass(frozen=True)
class GateDecision:
    """What the gate is told: allowed or denied, why, and what was recorded."""

    allowed: bool
    reason: str
    right_id: str | None
    container_number: str
    step_id: str
    alert_ids: list[str] = field(default_factory=list)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a driver's identity token (the only form in which a token is stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- helpers


def _names(session: Session, *ids: str | None) -> dict[str, str]:
    return sharing.directory_names(session, ids=list(ids))


def _name(session: Session, org_id: str | None) -> str:
    if org_id is None:
        return "nobody"
    return _names(session, org_id).get(org_id, org_id)


def _group_members(session: Session, group_id: str | None) -> set[str]:
    if group_id is None:
        return set()
    return set(session.scalars(select(SharingGroupMember.org_id).where(SharingGroupMember.group_id == group_id)))


def _load(session: Session, *, actor: Principal, right_id: str, lock: bool = False) -> ReleaseRight:
    """A right the actor may read (not audited: the step that follows is), locked for a write on PostgreSQL."""
    right = session.get(ReleaseRight, right_id, with_for_update=lock or None)
    if right is None or not can(actor, Action.READ, right):
        raise NotFound(f"no release right {right_id}")
    return right


def _require_active(right: ReleaseRight, now: datetime) -> None:
    status = right.effective_status(now)
    if status not in ACTIVE:
        raise Conflict(f"release right {right.id} is {status}: no further step is possible")


def _require_holder(session: Session, actor: Principal, right: ReleaseRight) -> None:
    require_permission(actor, "release:write")
    if right.holder_org_id != actor.org_id:
        raise Forbidden(
            f"release right {right.id} is held by {_name(session, right.holder_org_id)}, not by your organisation"
        )


def _step(
    session: Session,
    *,
    actor: Principal,
    right: ReleaseRight | None,
    action: StepAction,
    container_number: str,
    at: datetime,
    from_org_id: str | None = None,
    to_org_id: str | None = None,
    driver_id: str | None = None,
    light: str | None = None,
    ok: bool | None = None,
    reason: str | None = None,
) -> ReleaseStep:
    """Append a step to the right's chain, with its audit entry and its RELEASE tracking event."""
    seq = 0
    if right is not None:
        seq = (session.scalar(select(func.max(ReleaseStep.seq)).where(ReleaseStep.right_id == right.id)) or 0) + 1
    step = ReleaseStep(
        id=new_id("rst"),
        right_id=right.id if right else None,
        container_number=container_number,
        seq=seq,
        action=action.value,
        from_org_id=from_org_id,
        to_org_id=to_org_id,
        driver_id=driver_id,
        light=light,
        ok=ok,
        by_user_id=actor.user_id,
        by_org_id=actor.org_id,
        at=at,
        reason=reason,
    )
    session.add(step)
    session.flush()
    detail: dict[str, Any] = {"step": step.id, "seq": seq, "action": step.action, "container": container_number}
    optional = {"from": from_org_id, "to": to_org_id, "driver": driver_id, "light": light, "ok": ok, "reason": reason}
    detail.update({k: v for k, v in optional.items() if v is not None})
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT if action == StepAction.ISSUED or right is None else AuditAction.ALTER,
        object_type="release",
        object_id=right.id if right else None,
        legal_regime=LegalRegime.GDPR,
        detail=detail,
    )
    _record_event(session, actor=actor, right=right, step=step)
    return step


def event_key(step: ReleaseStep) -> str:
    """The namespaced id of a step's tracking event (`<owner org>:<eventID>`), as the detectors name events."""
    return f"{step.by_org_id}:release-{step.id}"


def _record_event(session: Session, *, actor: Principal, right: ReleaseRight | None, step: ReleaseStep) -> None:
    action = EVENT_ACTIONS.get(step.action)
    if action is None:
        return
    when = step.at.isoformat()
    holder = right.holder_org_id if right is not None else None
    event = {
        "eventID": f"release-{step.id}",
        "eventDateTime": when,
        "eventUpdatedDateTime": when,
        "eventClassification": {"eventTypeCode": "RELEASE", "eventClassifierCode": "ACT"},
        "equipmentDetails": {"equipmentReference": step.container_number},
        "releaseDetails": {
            "releaseRightID": right.id if right is not None else "none",
            "action": action,
            "holderCode": holder,
            "driverID": step.driver_id,
            "reason": step.reason[:500] if step.reason else None,
        },
    }
    shared = AlertSharing(
        handling=Handling.AMBER, sharing_group_id=right.sharing_group_id if right is not None else None
    )
    result = tracking.record_events(
        session, actor=None, owner_org_id=actor.org_id, events=[event], source="release", sharing=shared
    )
    if result.rejected:  # a release step must reach the detectors; say so loudly if the event shape drifted
        log.error("release event %s was rejected by tracking: %s", event["eventID"], result.rejected[0]["error"])


# ---------------------------------------------------------------- the steps


def issue(session: Session, *, actor: Principal, data: ReleaseRightIn) -> ReleaseRight:
    """Issue a right for a container and transport document (a shipping line); it holds it, commercial light on."""
    require_permission(actor, "release:write")
    if actor.org_kind != OrgKind.SHIPPING_LINE:
        raise Forbidden("only a shipping line issues release rights")
    group = session.get(SharingGroup, data.sharing_group_id)
    if group is None:
        raise InvalidInput(f"no sharing group {data.sharing_group_id}", field="sharing_group_id")
    members = _group_members(session, group.id)
    if actor.org_id not in members:
        raise InvalidInput(
            f"your organisation is not in the sharing group {group.name}; share with a group you belong to",
            field="sharing_group_id",
        )
    terminal = session.get(Organisation, data.terminal_org_id)
    if terminal is None or terminal.kind != OrgKind.TERMINAL_OPERATOR.value:
        raise InvalidInput(f"{data.terminal_org_id} is not a terminal operator", field="terminal_org_id")
    if terminal.id not in members:
        raise InvalidInput(
            f"the terminal {terminal.name} is not in the sharing group {group.name}, so it could not read the right",
            field="sharing_group_id",
        )
    now = utcnow()
    expires = data.expires_at or now + DEFAULT_LIFETIME
    if expires <= now:
        raise InvalidInput("expires_at is not in the future", field="expires_at")
    if expires > now + MAX_LIFETIME:
        raise InvalidInput(f"a release right is valid for {MAX_LIFETIME.days} days at most", field="expires_at")
    number = data.container_number
    active = session.scalars(
        select(ReleaseRight).where(
            ReleaseRight.container_number == number,
            ReleaseRight.status.in_(sorted(ACTIVE)),
            ReleaseRight.expires_at > now,
        )
    ).first()
    if active is not None:
        which = f" ({active.id})" if can(actor, Action.READ, active) else ""
        raise Conflict(
            f"container {number} already has an active release right{which}; it must be used, revoked or expire "
            "before another is issued"
        )
    right = ReleaseRight(
        id=new_id("rel"),
        container_number=number,
        transport_document=data.transport_document,
        consignee=data.consignee,
        consignee_key=consignee_key(data.consignee),
        issuer_org_id=actor.org_id,
        holder_org_id=actor.org_id,
        terminal_org_id=terminal.id,
        driver_id=None,
        status=RightStatus.ISSUED.value,
        expires_at=expires,
        commercial_ok=True,
        commercial_by=actor.user_id,
        commercial_at=now,
        customs_ok=False,
        terminal_ok=False,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        owner_org_id=actor.org_id,
        handling=Handling.AMBER.value,
        sharing_group_id=group.id,
        legal_regime=LegalRegime.GDPR.value,
    )
    session.add(right)
    session.flush()
    _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.ISSUED,
        container_number=number,
        at=now,
        to_org_id=actor.org_id,
        reason=f"transport document {right.transport_document}; commercial release",
    )
    return right


def _check_transfer(session: Session, actor: Principal, right: ReleaseRight, now: datetime) -> None:
    _require_holder(session, actor, right)
    _require_active(right, now)


def transfer(session: Session, *, actor: Principal, right_id: str, to_org_id: str) -> ReleaseRight:
    """Pass a right on to a forwarder or haulier of its group (a user of the holding organisation)."""
    right = _load(session, actor=actor, right_id=right_id, lock=True)
    now = utcnow()
    _check_transfer(session, actor, right, now)
    target = session.get(Organisation, to_org_id)
    if target is None:
        raise InvalidInput(f"no organisation {to_org_id}", field="to_org_id")
    if target.id == right.holder_org_id:
        raise InvalidInput(f"the right is held by {target.name} already", field="to_org_id")
    if target.kind not in HOLDER_KINDS:
        raise InvalidInput(
            f"{target.name} is a {target.kind}: a release right passes only to a forwarder or a haulier",
            field="to_org_id",
        )
    if target.id not in _group_members(session, right.sharing_group_id):
        group = _name(session, right.sharing_group_id)
        raise InvalidInput(
            f"{target.name} is not in the right's sharing group {group}: it could not read the right it holds",
            field="to_org_id",
        )
    previous = right.holder_org_id
    right.holder_org_id = target.id
    right.driver_id = None
    right.status = RightStatus.ISSUED.value
    right.updated_at = now
    _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.TRANSFERRED,
        container_number=right.container_number,
        at=now,
        from_org_id=previous,
        to_org_id=target.id,
    )
    return right


def _check_assign(session: Session, actor: Principal, right: ReleaseRight, now: datetime) -> None:
    _require_holder(session, actor, right)
    if actor.org_kind != OrgKind.HAULIER:
        raise Forbidden("only a haulier assigns a driver: pass the right to the haulier first")
    _require_active(right, now)


def assign_driver(session: Session, *, actor: Principal, right_id: str, driver_id: str) -> ReleaseRight:
    """Hand a right to one of the holding haulier's drivers."""
    right = _load(session, actor=actor, right_id=right_id, lock=True)
    now = utcnow()
    _check_assign(session, actor, right, now)
    driver = session.get(Driver, driver_id)
    if driver is None or driver.haulier_org_id != actor.org_id:
        raise InvalidInput(f"no driver {driver_id} of your organisation", field="driver_id")
    if not driver.active:
        raise InvalidInput(f"driver {driver.name} is deactivated", field="driver_id")
    right.driver_id = driver.id
    right.status = RightStatus.AT_DRIVER.value
    right.updated_at = now
    _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.ASSIGNED,
        container_number=right.container_number,
        at=now,
        from_org_id=actor.org_id,
        driver_id=driver.id,
    )
    return right


def _check_light(session: Session, actor: Principal, right: ReleaseRight, light: str, now: datetime) -> None:
    if light == "customs":
        require_permission(actor, "release:customs")
        if actor.org_kind != OrgKind.CUSTOMS_AUTHORITY:
            raise Forbidden("the customs light is set by a customs authority")
    elif light == "terminal":
        require_permission(actor, "release:write")
        if actor.org_id != right.terminal_org_id:
            raise Forbidden(
                f"the terminal light is set by {_name(session, right.terminal_org_id)}, the right's terminal"
            )
    else:
        raise InvalidInput(f"unknown light {light!r}: customs or terminal", field="light")
    _require_active(right, now)


def set_light(session: Session, *, actor: Principal, right_id: str, light: str, ok: bool) -> ReleaseRight:
    """Switch the customs light (customs) or the terminal light (the right's terminal) green or red."""
    right = _load(session, actor=actor, right_id=right_id, lock=True)
    now = utcnow()
    _check_light(session, actor, right, light, now)
    if getattr(right, f"{light}_ok") == ok:
        return right  # no change, no step
    setattr(right, f"{light}_ok", ok)
    setattr(right, f"{light}_by", actor.user_id)
    setattr(right, f"{light}_at", now)
    right.updated_at = now
    _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.LIGHT,
        container_number=right.container_number,
        at=now,
        light=light,
        ok=ok,
        reason=f"{light} light {'green' if ok else 'red'}",
    )
    return right


def _check_revoke(session: Session, actor: Principal, right: ReleaseRight, now: datetime) -> None:
    require_permission(actor, "release:write")
    if actor.org_id != right.issuer_org_id:
        raise Forbidden(f"only the issuer, {_name(session, right.issuer_org_id)}, may revoke this right")
    _require_active(right, now)


def revoke(session: Session, *, actor: Principal, right_id: str, reason: str) -> ReleaseRight:
    """Withdraw a right (the issuing line); it can no longer be passed on or used."""
    right = _load(session, actor=actor, right_id=right_id, lock=True)
    now = utcnow()
    _check_revoke(session, actor, right, now)
    right.status = RightStatus.REVOKED.value
    right.updated_at = now
    _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.REVOKED,
        container_number=right.container_number,
        at=now,
        from_org_id=right.holder_org_id,
        reason=reason.strip()[:500],
    )
    return right


def _check_gate(actor: Principal) -> None:
    require_permission(actor, "release:write")
    if actor.org_kind != OrgKind.TERMINAL_OPERATOR:
        raise Forbidden("gate checks are made by a terminal operator")


def _pick(candidates: Sequence[ReleaseRight], presented: Driver | None, now: datetime) -> ReleaseRight | None:
    """The right a gate check is about: an active one (the presented driver's first), else the newest."""
    active = [r for r in candidates if r.effective_status(now) in ACTIVE]
    if presented is not None:
        for r in active:
            if r.driver_id == presented.id:
                return r
    if active:
        return active[0]
    return candidates[0] if candidates else None


def gate_check(
    session: Session,
    *,
    actor: Principal,
    container_number: str,
    driver_token: str,
    new_party_window: timedelta = NEW_PARTY_WINDOW,
) -> GateDecision:
    """Allow or deny a pick-up at the actor's terminal, with the reason; the attempt is recorded, a denial alerted."""
    _check_gate(actor)
    now = utcnow()
    number = container_number.replace(" ", "").upper()
    digest = token_hash(driver_token)
    presented = session.scalar(select(Driver).where(Driver.token_hash == digest))
    candidates = session.scalars(
        select(ReleaseRight)
        .where(
            ReleaseRight.container_number == number,
            ReleaseRight.terminal_org_id == actor.org_id,
            visible_filter(actor, ReleaseRight),
        )
        .order_by(ReleaseRight.created_at.desc(), ReleaseRight.id)
        .with_for_update()
    ).all()
    right = _pick(candidates, presented, now)
    problems, severity = _gate_problems(session, right=right, number=number, digest=digest, now=now)
    if right is not None and right.status in ACTIVE and right.effective_status(now) == RightStatus.EXPIRED.value:
        right.status = RightStatus.EXPIRED.value
        right.updated_at = now
    if problems:
        reason = "; ".join(problems)
        step = _step(
            session,
            actor=actor,
            right=right,
            action=StepAction.GATE_DENIED,
            container_number=number,
            at=now,
            from_org_id=right.holder_org_id if right else None,
            driver_id=presented.id if presented else None,
            reason=reason,
        )
        alert = tracking.raise_alert(
            session,
            owner_org_id=actor.org_id,
            container_number=number,
            detector="release_denied",
            key=f"gate:{step.id}",
            reason=f"gate-out of {number} denied at {_name(session, actor.org_id)}: {reason}",
            event_time=now,
            event_ids=[event_key(step)],
            severity=severity,
            sharing=AlertSharing(handling=Handling.AMBER, sharing_group_id=right.sharing_group_id if right else None),
        )
        alerts = [alert.id] if alert is not None else []
        return GateDecision(False, reason, right.id if right else None, number, step.id, alerts)
    assert right is not None and presented is not None
    right.status = RightStatus.USED.value
    right.used_at = now
    right.updated_at = now
    reason = f"all three lights green and the identity token is that of {presented.name}, the assigned driver"
    step = _step(
        session,
        actor=actor,
        right=right,
        action=StepAction.GATE_ALLOWED,
        container_number=number,
        at=now,
        from_org_id=right.holder_org_id,
        driver_id=presented.id,
        reason=reason,
    )
    alerts = []
    new_party = _new_party(session, right=right, now=now, window=new_party_window)
    if new_party is not None:
        alert = tracking.raise_alert(
            session,
            owner_org_id=actor.org_id,
            container_number=number,
            detector="release_new_party",
            key=f"new-party:{right.id}",
            reason=new_party,
            event_time=now,
            event_ids=[event_key(step)],
            severity="medium",
            sharing=AlertSharing(handling=Handling.AMBER, sharing_group_id=right.sharing_group_id),
        )
        if alert is not None:
            alerts.append(alert.id)
    return GateDecision(True, reason, right.id, number, step.id, alerts)


def _gate_problems(
    session: Session, *, right: ReleaseRight | None, number: str, digest: str, now: datetime
) -> tuple[list[str], str]:
    """Why a pick-up must be refused (nothing: allowed), and how severe a refusal is."""
    if right is None:
        return [f"no release right for container {number} at this terminal"], "high"
    status = right.effective_status(now)
    if status == RightStatus.REVOKED.value:
        return [f"release right {right.id} was revoked"], "high"
    if status == RightStatus.USED.value:
        when = right.used_at.strftime("%Y-%m-%d %H:%M UTC") if right.used_at else "earlier"
        return [f"release right {right.id} was already used (gate-out {when})"], "high"
    if status == RightStatus.EXPIRED.value:
        return [f"release right {right.id} expired at {right.expires_at.strftime('%Y-%m-%d %H:%M UTC')}"], "medium"
    problems: list[str] = []
    severity = "medium"
    if right.driver_id is None:
        problems.append(f"no driver is assigned: the right is held by {_name(session, right.holder_org_id)}")
    missing = [name for name, ok in right.lights().items() if not ok]
    if missing:
        problems.append(f"{' and '.join(missing)} light{'s' if len(missing) > 1 else ''} not green")
    if right.driver_id is not None:
        driver = session.get(Driver, right.driver_id)
        if driver is None or not hmac.compare_digest(driver.token_hash, digest):
            problems.append("the identity token is not that of the driver assigned to the right")
            severity = "high"
        elif not driver.active:
            problems.append(f"the assigned driver {driver.name} was deactivated by the haulier")
            severity = "high"
    return problems, severity


def _new_party(session: Session, *, right: ReleaseRight, now: datetime, window: timedelta) -> str | None:
    """The reason for an alert when a haulier new to the consignee picks up within `window` of customs release."""
    if not right.customs_ok or right.customs_at is None or now - right.customs_at > window:
        return None
    earlier = set(
        session.scalars(
            select(ReleaseRight.holder_org_id).where(
                ReleaseRight.consignee_key == right.consignee_key,
                ReleaseRight.status == RightStatus.USED.value,
                ReleaseRight.id != right.id,
            )
        )
    )
    if right.holder_org_id in earlier:
        return None
    hours = (now - right.customs_at).total_seconds() / 3600
    history = (
        f"the consignee's {len(earlier)} earlier haulier(s) on record were others"
        if earlier
        else "no earlier pick-up for this consignee is on record"
    )
    return (
        f"{right.container_number} picked up for {right.consignee} by {_name(session, right.holder_org_id)}, "
        f"a haulier that never picked up for this consignee before, {hours:.1f} h after the customs release "
        f"({history})"
    )


# ---------------------------------------------------------------- drivers


def register_driver(session: Session, *, actor: Principal, data: DriverIn) -> tuple[Driver, str]:
    """Register a driver of the actor's haulier; the identity token is returned once and stored as its SHA-256."""
    require_permission(actor, "release:write")
    if actor.org_kind != OrgKind.HAULIER:
        raise Forbidden("drivers are registered by their haulier")
    token = DRIVER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    driver = Driver(
        id=new_id("drv"),
        haulier_org_id=actor.org_id,
        name=" ".join(data.name.split()),
        document_number=" ".join(data.document_number.upper().split()),
        token_hash=token_hash(token),
        active=True,
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(driver)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.COLLECT,
        object_type="release_driver",
        object_id=driver.id,
        detail={"haulier_org_id": actor.org_id},
    )
    return driver, token


def deactivate_driver(session: Session, *, actor: Principal, driver_id: str) -> Driver:
    """Deactivate a driver of the actor's haulier (a lost or stolen token); gate checks then refuse it."""
    require_permission(actor, "release:write")
    driver = session.get(Driver, driver_id)
    if driver is None or driver.haulier_org_id != actor.org_id:
        raise NotFound(f"no driver {driver_id} of your organisation")
    if driver.active:
        driver.active = False
        audit.append(
            session,
            actor=actor,
            action=AuditAction.ALTER,
            object_type="release_driver",
            object_id=driver.id,
            detail={"active": False},
        )
    return driver


def list_drivers(session: Session, *, actor: Principal) -> list[Driver]:
    """The drivers of the actor's organisation (a haulier's own register), by name."""
    require_permission(actor, "release:read")
    return list(
        session.scalars(select(Driver).where(Driver.haulier_org_id == actor.org_id).order_by(Driver.name, Driver.id))
    )


def driver_names(session: Session, *, ids: Sequence[str | None]) -> dict[str, str]:
    """Names of the drivers among `ids` (shown on the chain of a right the reader may see)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {row[0]: row[1] for row in session.execute(select(Driver.id, Driver.name).where(Driver.id.in_(wanted)))}


# ---------------------------------------------------------------- reads


def get(session: Session, *, actor: Principal, right_id: str, justification: str | None = None) -> ReleaseRight:
    """One right, if the policy lets the actor read it (consultation audited)."""
    right = session.get(ReleaseRight, right_id)
    if right is None:
        raise NotFound(f"no release right {right_id}")
    audit.consult_one(session, actor=actor, record=right, object_type="release", justification=justification)
    return right


def _steps(session: Session, right_id: str) -> list[ReleaseStep]:
    return list(session.scalars(select(ReleaseStep).where(ReleaseStep.right_id == right_id).order_by(ReleaseStep.seq)))


def chain(session: Session, *, actor: Principal, right_id: str) -> list[ReleaseStep]:
    """The steps of a right the actor may read, in order (consultation audited)."""
    get(session, actor=actor, right_id=right_id)
    return _steps(session, right_id)


def get_with_chain(session: Session, *, actor: Principal, right_id: str) -> tuple[ReleaseRight, list[ReleaseStep]]:
    """A right and its steps, read as one consultation."""
    right = get(session, actor=actor, right_id=right_id)
    return right, _steps(session, right.id)


def list_rights(
    session: Session,
    *,
    actor: Principal,
    container_number: str | None = None,
    status: str | None = None,
    held: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReleaseRight], int]:
    """Rights the actor may see, newest first (status as in effect now; `held`: held by the actor's organisation)."""
    now = utcnow()
    query = select(ReleaseRight).where(visible_filter(actor, ReleaseRight))
    if container_number:
        query = query.where(ReleaseRight.container_number == container_number.replace(" ", "").upper())
    if held:
        query = query.where(ReleaseRight.holder_org_id == actor.org_id)
    if status == RightStatus.EXPIRED.value:
        query = query.where(
            or_(
                ReleaseRight.status == status,
                and_(ReleaseRight.status.in_(sorted(ACTIVE)), ReleaseRight.expires_at <= now),
            )
        )
    elif status in ACTIVE:
        query = query.where(ReleaseRight.status == status, ReleaseRight.expires_at > now)
    elif status:
        query = query.where(ReleaseRight.status == status)
    query = query.order_by(ReleaseRight.created_at.desc(), ReleaseRight.id)
    items, total = paginate(session, query, limit=limit, offset=offset)
    audit.consult_list(session, actor=actor, object_type="release", records=items, justification=None)
    return items, total


def transfer_targets(session: Session, *, right: ReleaseRight) -> list[Organisation]:
    """The forwarders and hauliers of the right's group it could pass to (all but the holder), by name."""
    return list(
        session.scalars(
            select(Organisation)
            .join(SharingGroupMember, SharingGroupMember.org_id == Organisation.id)
            .where(
                SharingGroupMember.group_id == right.sharing_group_id,
                Organisation.kind.in_(sorted(HOLDER_KINDS)),
                Organisation.id != right.holder_org_id,
            )
            .order_by(Organisation.name)
        )
    )


def issue_options(session: Session, *, actor: Principal) -> tuple[list[Organisation], list[SharingGroup]]:
    """Terminals and the actor's sharing groups, for the issue form."""
    terminals = list(
        session.scalars(
            select(Organisation).where(Organisation.kind == OrgKind.TERMINAL_OPERATOR.value).order_by(Organisation.name)
        )
    )
    groups = list(
        session.scalars(
            select(SharingGroup).where(SharingGroup.id.in_(sorted(actor.group_ids))).order_by(SharingGroup.name)
        )
    )
    return terminals, groups


def allowed_steps(session: Session, *, actor: Principal, right: ReleaseRight) -> dict[str, Decision]:
    """Which next steps the actor may take on `right`, each with the reason (the checks the steps themselves run)."""
    now = utcnow()
    checks = {
        "transfer": lambda: _check_transfer(session, actor, right, now),
        "assign": lambda: _check_assign(session, actor, right, now),
        "customs": lambda: _check_light(session, actor, right, "customs", now),
        "terminal": lambda: _check_light(session, actor, right, "terminal", now),
        "revoke": lambda: _check_revoke(session, actor, right, now),
        "gate": lambda: _check_gate_here(actor, right),
    }
    decisions: dict[str, Decision] = {}
    for name, check in checks.items():
        try:
            check()
        except PortGuardError as exc:
            decisions[name] = Decision(False, exc.detail)
        else:
            decisions[name] = Decision(True, "allowed")
    return decisions


def _check_gate_here(actor: Principal, right: ReleaseRight) -> None:
    _check_gate(actor)
    if actor.org_id != right.terminal_org_id:
        raise Forbidden("the right is for another terminal")
