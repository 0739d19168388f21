"""Release rights end to end through the service, on both back-ends: the chain line → forwarder → haulier → driver →
lights → gate, who may take which step (and why not), the gate's denials with their reasons and port alerts, the
alert on a haulier new to the consignee, the audit chain, the tracking events, and tokens kept only as hashes.

`port` builds a small port community: a shipping line, a forwarder, two hauliers, a terminal, customs and police in
one sharing group, and, outside it, a forwarder, a second terminal and a police force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from stdnum import iso6346

from portguard.core import audit, clock
from portguard.core.audit import AuditEntry
from portguard.core.db import Database
from portguard.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from portguard.core.policy import OrgKind, Role
from portguard.release import service
from portguard.release.models import DriverIn, ReleaseRight, ReleaseRightIn, ReleaseStep
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from portguard.tracking.models import ContainerEvent, PortAlert
from tests.conftest import Made


def container(n: int, owner: str = "MSKU") -> str:
    """A valid ISO 6346 container number."""
    body = f"{owner}{n:06d}"
    return body + iso6346.calc_check_digit(body)


@dataclass
class Port:
    db: Database
    line: Made
    forwarder: Made
    haulier: Made
    haulier2: Made
    terminal: Made
    customs: Made
    officer: Made
    police: Made
    outsider: Made  # a forwarder outside the group
    other_terminal: Made  # a terminal outside the group
    other_police: Made  # police outside the group
    group_id: str
    names: dict[str, str]

    def session(self) -> Any:
        return self.db.session()


@pytest.fixture
def port(db: Database, make_org: Callable[..., str], make_user: Callable[..., Made]) -> Port:
    """A port community in one sharing group, and organisations outside it."""
    spec = {
        "line": ("Northsea Shipping Line", OrgKind.SHIPPING_LINE, Role.PORT_SECURITY),
        "forwarder": ("Maas Forwarding", OrgKind.FORWARDER, Role.PORT_SECURITY),
        "haulier": ("Polder Haulage", OrgKind.HAULIER, Role.PORT_SECURITY),
        "haulier2": ("Dune Trucking", OrgKind.HAULIER, Role.PORT_SECURITY),
        "terminal": ("Delta Container Terminal", OrgKind.TERMINAL_OPERATOR, Role.PORT_SECURITY),
        "customs": ("Dutch Customs", OrgKind.CUSTOMS_AUTHORITY, Role.CUSTOMS_ANALYST),
        "police": ("Seaport Police", OrgKind.POLICE, Role.POLICE_ANALYST),
        "outsider": ("Shadow Forwarding", OrgKind.FORWARDER, Role.PORT_SECURITY),
        "other_terminal": ("Elsewhere Terminal", OrgKind.TERMINAL_OPERATOR, Role.PORT_SECURITY),
        "other_police": ("Inland Police", OrgKind.POLICE, Role.POLICE_ANALYST),
    }
    users: dict[str, Made] = {}
    names: dict[str, str] = {}
    for key, (name, kind, role) in spec.items():
        org_id = make_org(name=name, kind=kind)
        names[key] = name
        users[key] = make_user(role, org_id=org_id, username=key.replace("_", "."))
    users["officer"] = make_user(Role.INSPECTION_OFFICER, org_id=users["customs"].org_id, username="officer")
    members = ["line", "forwarder", "haulier", "haulier2", "terminal", "customs", "police"]
    with db.session() as session:
        group = sharing.create_group(
            session,
            actor=None,
            data=GroupIn(name="Rotterdam port community", org_ids=[users[k].org_id for k in members]),
        )
    # reload principals: their sharing-group memberships changed
    with db.session() as session:
        for made in users.values():
            principal = sharing.load_principal(session, user_id=made.user_id)
            assert principal is not None
            made.principal = principal
    return Port(db=db, group_id=group.id, names=names, **users)


def issue(port: Port, number: str, *, consignee: str = "Fresh Fruit Imports BV", **extra: Any) -> str:
    """A right issued by the line; its id."""
    with port.session() as session:
        data = ReleaseRightIn(
            container_number=number,
            transport_document=extra.pop("document", "NSLU-BL-0001"),
            consignee=consignee,
            terminal_org_id=extra.pop("terminal_org_id", port.terminal.org_id),
            sharing_group_id=extra.pop("sharing_group_id", port.group_id),
            **extra,
        )
        return service.issue(session, actor=port.line.principal, data=data).id


def driver(port: Port, haulier: Made | None = None, name: str = "Jan de Rijder") -> tuple[str, str]:
    """(driver id, token) of a newly registered driver."""
    with port.session() as session:
        d, token = service.register_driver(
            session, actor=(haulier or port.haulier).principal, data=DriverIn(name=name, document_number="NL1234567")
        )
        return d.id, token


def ready(port: Port, number: str, *, haulier: Made | None = None, consignee: str = "Fresh Fruit Imports BV") -> tuple:
    """A right at a driver with all three lights green: (right id, driver id, token)."""
    haulier = haulier or port.haulier
    right_id = issue(port, number, consignee=consignee)
    driver_id, token = driver(port, haulier)
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=haulier.org_id)
        service.assign_driver(session, actor=haulier.principal, right_id=right_id, driver_id=driver_id)
        service.set_light(session, actor=port.customs.principal, right_id=right_id, light="customs", ok=True)
        service.set_light(session, actor=port.terminal.principal, right_id=right_id, light="terminal", ok=True)
    return right_id, driver_id, token


def gate(port: Port, number: str, token: str, **kwargs: Any) -> service.GateDecision:
    with port.session() as session:
        return service.gate_check(
            session, actor=port.terminal.principal, container_number=number, driver_token=token, **kwargs
        )


def right_row(port: Port, right_id: str) -> ReleaseRight:
    with port.session() as session:
        right = session.get(ReleaseRight, right_id)
        assert right is not None
        session.expunge(right)
        return right


def steps(port: Port, right_id: str) -> list[ReleaseStep]:
    with port.session() as session:
        rows = list(
            session.scalars(select(ReleaseStep).where(ReleaseStep.right_id == right_id).order_by(ReleaseStep.seq))
        )
        session.expunge_all()
        return rows


def release_audit(port: Port, right_id: str) -> list[AuditEntry]:
    with port.session() as session:
        rows = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type == "release", AuditEntry.object_id == right_id)
                .order_by(AuditEntry.seq)
            )
        )
        session.expunge_all()
        return rows


def alerts(port: Port, detector: str | None = None) -> list[PortAlert]:
    with port.session() as session:
        query = select(PortAlert).order_by(PortAlert.raised_at)
        if detector:
            query = query.where(PortAlert.detector == detector)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


# ---------------------------------------------------------------- the happy chain


def test_the_full_chain_from_line_to_gate_and_a_second_pick_up_is_denied(port: Port):
    number = container(1)
    right_id = issue(port, number)
    right = right_row(port, right_id)
    assert (right.status, right.holder_org_id, right.issuer_org_id) == ("issued", port.line.org_id, port.line.org_id)
    assert right.lights() == {"commercial": True, "customs": False, "terminal": False}
    assert (right.handling, right.sharing_group_id, right.owner_org_id) == ("AMBER", port.group_id, port.line.org_id)

    driver_id, token = driver(port)
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.forwarder.org_id)
        service.transfer(session, actor=port.forwarder.principal, right_id=right_id, to_org_id=port.haulier.org_id)
        assigned = service.assign_driver(session, actor=port.haulier.principal, right_id=right_id, driver_id=driver_id)
        assert (assigned.status, assigned.driver_id) == ("at_driver", driver_id)
        service.set_light(session, actor=port.customs.principal, right_id=right_id, light="customs", ok=True)
        lit = service.set_light(session, actor=port.terminal.principal, right_id=right_id, light="terminal", ok=True)
        assert lit.lights() == {"commercial": True, "customs": True, "terminal": True}

    decision = gate(port, number, token)
    assert decision.allowed, decision.reason
    assert decision.right_id == right_id and "Jan de Rijder" in decision.reason
    right = right_row(port, right_id)
    assert right.status == "used" and right.used_at is not None

    again = gate(port, number, token)
    assert not again.allowed
    assert "already used" in again.reason and again.right_id == right_id
    assert len(again.alert_ids) == 1

    chain = steps(port, right_id)
    assert [s.action for s in chain] == [
        "issued",
        "transferred",
        "transferred",
        "assigned",
        "light",
        "light",
        "gate_allowed",
        "gate_denied",
    ]
    assert [s.seq for s in chain] == list(range(1, 9))
    assert (chain[1].from_org_id, chain[1].to_org_id) == (port.line.org_id, port.forwarder.org_id)
    assert (chain[2].from_org_id, chain[2].to_org_id, chain[2].by_org_id) == (
        port.forwarder.org_id,
        port.haulier.org_id,
        port.forwarder.org_id,
    )
    assert (chain[3].driver_id, chain[3].by_user_id) == (driver_id, port.haulier.user_id)
    assert [(s.light, s.ok, s.by_org_id) for s in chain[4:6]] == [
        ("customs", True, port.customs.org_id),
        ("terminal", True, port.terminal.org_id),
    ]
    assert chain[6].by_org_id == port.terminal.org_id and chain[6].driver_id == driver_id

    # every step is in the audit chain, under the person who took it, and the chain holds
    entries = release_audit(port, right_id)
    changes = [e for e in entries if e.action in ("collect", "alter")]
    assert [e.detail["step"] for e in changes] == [s.id for s in chain]
    assert [e.action for e in changes] == ["collect"] + ["alter"] * 7
    assert [e.user_id for e in changes] == [s.by_user_id for s in chain]
    with port.session() as session:
        assert audit.verify(session).ok

    # every custody step is a RELEASE tracking event owned by the organisation taking it
    with port.session() as session:
        events = list(
            session.scalars(
                select(ContainerEvent)
                .where(ContainerEvent.container_number == number, ContainerEvent.event_type == "RELEASE")
                .order_by(ContainerEvent.event_time, ContainerEvent.id)
            )
        )
        by_id = {e.event_id: e for e in events}
        wanted = {s.id: s for s in chain if s.action != "light"}
        assert set(by_id) == {f"release-{sid}" for sid in wanted}
        for sid, step in wanted.items():
            event = by_id[f"release-{sid}"]
            assert event.id == f"{step.by_org_id}:release-{sid}"
            assert event.owner_org_id == step.by_org_id
            assert event.sharing_group_id == port.group_id and event.handling == "AMBER"
            details = event.payload["releaseDetails"]
            assert details["releaseRightID"] == right_id
        codes = [by_id[f"release-{s.id}"].code for s in chain if s.action != "light"]
        assert codes == ["ISSUED", "TRANSFERRED", "TRANSFERRED", "TRANSFERRED", "GATE_ALLOWED", "GATE_DENIED"]
        assigned_event = by_id[f"release-{chain[3].id}"].payload["releaseDetails"]
        assert assigned_event["driverID"] == driver_id and assigned_event["holderCode"] == port.haulier.org_id


def test_everyone_in_the_group_reads_the_right_and_nobody_outside(port: Port):
    right_id = issue(port, container(2))
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.haulier.org_id)
    for reader in (port.line, port.haulier, port.terminal, port.customs, port.officer, port.police, port.forwarder):
        with port.session() as session:
            right, chain = service.get_with_chain(session, actor=reader.principal, right_id=right_id)
            assert right.id == right_id and len(chain) == 2
            items, total = service.list_rights(session, actor=reader.principal)
            assert [r.id for r in items] == [right_id] and total == 1
    for stranger in (port.outsider, port.other_terminal, port.other_police):
        with port.session() as session:
            with pytest.raises(NotFound):
                service.get(session, actor=stranger.principal, right_id=right_id)
            with pytest.raises(NotFound):
                service.chain(session, actor=stranger.principal, right_id=right_id)
            assert service.list_rights(session, actor=stranger.principal) == ([], 0)
    with port.session() as session:
        consults = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consult", AuditEntry.object_type == "release")
        ).all()
    assert {e.user_id for e in consults if e.object_id == right_id} >= {port.police.user_id, port.customs.user_id}
    assert any(e.detail.get("ids") == [right_id] for e in consults)  # list reads are consultations too


# ---------------------------------------------------------------- who may take which step


def test_a_transfer_by_an_organisation_that_does_not_hold_the_right_is_forbidden_and_changes_nothing(port: Port):
    right_id = issue(port, container(3))
    before_steps = steps(port, right_id)
    before_audit = release_audit(port, right_id)
    for intruder in (port.forwarder, port.haulier, port.terminal):
        with port.session() as session, pytest.raises(Forbidden) as info:
            service.transfer(session, actor=intruder.principal, right_id=right_id, to_org_id=intruder.org_id)
        assert info.value.detail == (
            f"release right {right_id} is held by Northsea Shipping Line, not by your organisation"
        )
    with port.session() as session, pytest.raises(Forbidden, match="release:write"):  # customs: no release:write
        service.transfer(session, actor=port.customs.principal, right_id=right_id, to_org_id=port.haulier.org_id)
    with port.session() as session, pytest.raises(NotFound):  # outside the group: the right does not exist for it
        service.transfer(session, actor=port.outsider.principal, right_id=right_id, to_org_id=port.outsider.org_id)
    right = right_row(port, right_id)
    assert right.holder_org_id == port.line.org_id and right.status == "issued"
    assert [s.id for s in steps(port, right_id)] == [s.id for s in before_steps]
    assert [e.seq for e in release_audit(port, right_id)] == [e.seq for e in before_audit]

    # once passed on, the line is no longer the holder either
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.forwarder.org_id)
    with port.session() as session, pytest.raises(Forbidden, match="held by Maas Forwarding"):
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.haulier.org_id)


def test_a_transfer_goes_only_to_a_forwarder_or_haulier_of_the_group(port: Port):
    right_id = issue(port, container(4))
    cases = {
        port.outsider.org_id: "Shadow Forwarding is not in the right's sharing group Rotterdam port community",
        port.terminal.org_id: "Delta Container Terminal is a terminal_operator",
        port.customs.org_id: "a release right passes only to a forwarder or a haulier",
        port.line.org_id: "held by Northsea Shipping Line already",
        "org_nonexistent": "no organisation org_nonexistent",
    }
    for target, message in cases.items():
        with port.session() as session, pytest.raises(InvalidInput) as info:
            service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=target)
        assert info.value.status == 422 and message in info.value.detail
        assert info.value.extra["field"] == "to_org_id"
    assert len(steps(port, right_id)) == 1


def test_only_the_holding_haulier_assigns_one_of_its_own_drivers(port: Port):
    right_id = issue(port, container(5))
    mine, _ = driver(port, port.haulier)
    theirs, _ = driver(port, port.haulier2, name="Other Driver")
    with port.session() as session, pytest.raises(Forbidden, match="held by Northsea"):
        service.assign_driver(session, actor=port.haulier.principal, right_id=right_id, driver_id=mine)
    with port.session() as session, pytest.raises(Forbidden, match="only a haulier assigns a driver"):
        service.assign_driver(session, actor=port.line.principal, right_id=right_id, driver_id=mine)
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.haulier.org_id)
    with port.session() as session, pytest.raises(InvalidInput, match="no driver"):
        service.assign_driver(session, actor=port.haulier.principal, right_id=right_id, driver_id=theirs)
    with port.session() as session:
        right = service.assign_driver(session, actor=port.haulier.principal, right_id=right_id, driver_id=mine)
        assert right.status == "at_driver"
    # subcontracting: passing it on takes it from the driver
    with port.session() as session:
        right = service.transfer(
            session, actor=port.haulier.principal, right_id=right_id, to_org_id=port.haulier2.org_id
        )
        assert (right.status, right.driver_id, right.holder_org_id) == ("issued", None, port.haulier2.org_id)


def test_who_sets_which_light(port: Port):
    right_id = issue(port, container(6))
    with port.session() as session:
        with pytest.raises(Forbidden, match="release:customs"):
            service.set_light(session, actor=port.terminal.principal, right_id=right_id, light="customs", ok=True)
        with pytest.raises(Forbidden, match="release:write"):
            service.set_light(session, actor=port.customs.principal, right_id=right_id, light="terminal", ok=True)
        with pytest.raises(Forbidden, match="set by Delta Container Terminal"):
            service.set_light(session, actor=port.line.principal, right_id=right_id, light="terminal", ok=True)
        with pytest.raises(Forbidden, match="release:customs"):
            service.set_light(session, actor=port.police.principal, right_id=right_id, light="customs", ok=True)
        with pytest.raises(InvalidInput, match="unknown light"):
            service.set_light(session, actor=port.line.principal, right_id=right_id, light="commercial", ok=False)
        right = service.set_light(session, actor=port.officer.principal, right_id=right_id, light="customs", ok=True)
        assert right.customs_ok and right.customs_by == port.officer.user_id and right.customs_at is not None
        service.set_light(session, actor=port.officer.principal, right_id=right_id, light="customs", ok=True)  # no-op
        right = service.set_light(session, actor=port.customs.principal, right_id=right_id, light="customs", ok=False)
        assert not right.customs_ok  # a hold
    assert [(s.light, s.ok) for s in steps(port, right_id) if s.action == "light"] == [
        ("customs", True),
        ("customs", False),
    ]


def test_issue_is_for_a_shipping_line_with_a_group_holding_the_terminal(port: Port):
    number = container(7)
    with port.session() as session:
        data = ReleaseRightIn(
            container_number=number,
            transport_document="BL1",
            consignee="Fresh Fruit Imports BV",
            terminal_org_id=port.terminal.org_id,
            sharing_group_id=port.group_id,
        )
        for actor, message in ((port.forwarder, "only a shipping line"), (port.customs, "release:write")):
            with pytest.raises(Forbidden, match=message):
                service.issue(session, actor=actor.principal, data=data)
        with pytest.raises(InvalidInput, match="not a terminal operator"):
            service.issue(
                session,
                actor=port.line.principal,
                data=data.model_copy(update={"terminal_org_id": port.haulier.org_id}),
            )
        with pytest.raises(InvalidInput, match="Elsewhere Terminal is not in the sharing group"):
            service.issue(
                session,
                actor=port.line.principal,
                data=data.model_copy(update={"terminal_org_id": port.other_terminal.org_id}),
            )
        with pytest.raises(InvalidInput, match="no sharing group"):
            service.issue(
                session, actor=port.line.principal, data=data.model_copy(update={"sharing_group_id": "grp_x"})
            )
        with pytest.raises(InvalidInput, match="not in the future"):
            service.issue(
                session, actor=port.line.principal, data=data.model_copy(update={"expires_at": clock.utcnow()})
            )
        first = service.issue(session, actor=port.line.principal, data=data)
        assert first.expires_at - clock.utcnow() > timedelta(days=13)
        with pytest.raises(Conflict, match=f"already has an active release right \\({first.id}\\)"):
            service.issue(session, actor=port.line.principal, data=data)
    with pytest.raises(ValueError, match="check digit"):
        ReleaseRightIn.model_validate({**data.model_dump(), "container_number": number[:-1] + "0"})
    with pytest.raises(ValueError, match="Extra inputs"):
        ReleaseRightIn.model_validate({**data.model_dump(), "holder_org_id": port.line.org_id})


def test_only_the_issuer_revokes_and_a_revoked_right_takes_no_further_step(port: Port):
    right_id = issue(port, container(8))
    with port.session() as session:
        service.transfer(session, actor=port.line.principal, right_id=right_id, to_org_id=port.haulier.org_id)
    with port.session() as session, pytest.raises(Forbidden, match="only the issuer, Northsea Shipping Line"):
        service.revoke(session, actor=port.haulier.principal, right_id=right_id, reason="x")
    with port.session() as session:
        right = service.revoke(session, actor=port.line.principal, right_id=right_id, reason="freight not paid")
        assert right.status == "revoked"
    with port.session() as session, pytest.raises(Conflict, match="is revoked"):
        service.transfer(session, actor=port.haulier.principal, right_id=right_id, to_org_id=port.haulier2.org_id)
    assert steps(port, right_id)[-1].reason == "freight not paid"


def test_allowed_steps_say_what_each_party_may_do_next(port: Port):
    right_id = issue(port, container(9))
    with port.session() as session:
        right = session.get(ReleaseRight, right_id)
        assert right is not None

        def allowed(made: Made) -> set[str]:
            return {k for k, d in service.allowed_steps(session, actor=made.principal, right=right).items() if d}

        assert allowed(port.line) == {"transfer", "revoke"}
        assert allowed(port.forwarder) == set()
        assert allowed(port.customs) == {"customs"}
        assert allowed(port.terminal) == {"terminal", "gate"}
        reasons = service.allowed_steps(session, actor=port.forwarder.principal, right=right)
        assert "held by Northsea Shipping Line" in reasons["transfer"].reason
        targets = [o.name for o in service.transfer_targets(session, right=right)]
        assert targets == ["Dune Trucking", "Maas Forwarding", "Polder Haulage"]


# ---------------------------------------------------------------- the gate


def _wrong_token(port: Port, number: str) -> tuple[str, str]:
    ready(port, number)
    _, other = driver(port, name="Someone Else")
    return other, "the identity token is not that of the driver assigned to the right"


def _no_right(port: Port, number: str) -> tuple[str, str]:
    _, token = driver(port)
    return token, f"no release right for container {number} at this terminal"


def _no_customs(port: Port, number: str) -> tuple[str, str]:
    right_id, _, token = ready(port, number)
    with port.session() as session:
        service.set_light(session, actor=port.customs.principal, right_id=right_id, light="customs", ok=False)
    return token, "customs light not green"


def _expired(port: Port, number: str) -> tuple[str, str]:
    _, _, token = ready(port, number)
    clock.advance(15 * 24 * 3600)
    return token, "expired at"


def _revoked(port: Port, number: str) -> tuple[str, str]:
    right_id, _, token = ready(port, number)
    with port.session() as session:
        service.revoke(session, actor=port.line.principal, right_id=right_id, reason="cargo dispute")
    return token, "was revoked"


def _not_at_driver(port: Port, number: str) -> tuple[str, str]:
    issue(port, number)
    _, token = driver(port)
    return token, "no driver is assigned: the right is held by Northsea Shipping Line"


def _deactivated(port: Port, number: str) -> tuple[str, str]:
    _, driver_id, token = ready(port, number)
    with port.session() as session:
        service.deactivate_driver(session, actor=port.haulier.principal, driver_id=driver_id)
    return token, "was deactivated by the haulier"


DENIALS: dict[str, Callable[[Port, str], tuple[str, str]]] = {
    "wrong token": _wrong_token,
    "no right": _no_right,
    "customs light red": _no_customs,
    "expired": _expired,
    "revoked": _revoked,
    "no driver assigned": _not_at_driver,
    "driver deactivated": _deactivated,
}


@pytest.mark.parametrize("case", sorted(DENIALS))
def test_the_gate_denies_with_the_reason_and_raises_a_port_alert(port: Port, case: str):
    number = container(100 + sorted(DENIALS).index(case))
    token, reason = DENIALS[case](port, number)
    decision = gate(port, number, token)
    assert not decision.allowed
    assert reason in decision.reason
    [alert] = alerts(port, "release_denied")
    assert alert.id in decision.alert_ids
    assert (alert.container_number, alert.owner_org_id, alert.status) == (number, port.terminal.org_id, "open")
    assert reason in alert.reason and "Delta Container Terminal" in alert.reason
    assert alert.event_ids == [f"{port.terminal.org_id}:release-{decision.step_id}"]
    if decision.right_id is not None:
        assert alert.sharing_group_id == port.group_id  # reaches customs and police through the group
        right = right_row(port, decision.right_id)
        assert right.status in ("at_driver", "issued", "revoked", "expired")
        last = steps(port, decision.right_id)[-1]
        assert (last.action, last.id, last.reason) == ("gate_denied", decision.step_id, decision.reason)
    else:
        with port.session() as session:
            orphan = session.get(ReleaseStep, decision.step_id)
            assert orphan is not None and orphan.right_id is None and orphan.container_number == number
    with port.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "release").order_by(AuditEntry.seq.desc())
        ).first()
        assert entry is not None and entry.detail["step"] == decision.step_id and entry.detail["reason"]
        assert audit.verify(session).ok
    # a second attempt is a second step and a second alert
    again = gate(port, number, token)
    assert not again.allowed and len(alerts(port, "release_denied")) == 2


def test_an_expired_right_is_stored_as_expired_at_the_gate(port: Port):
    number = container(120)
    right_id, _, token = ready(port, number)
    clock.advance(15 * 24 * 3600)
    assert right_row(port, right_id).status == "at_driver"
    with port.session() as session:
        items, _ = service.list_rights(session, actor=port.terminal.principal, status="expired")
        assert [r.id for r in items] == [right_id]
        assert service.list_rights(session, actor=port.terminal.principal, status="at_driver") == ([], 0)
    assert not gate(port, number, token).allowed
    assert right_row(port, right_id).status == "expired"


def test_the_gate_is_for_the_right_terminal_operator(port: Port):
    number = container(121)
    _, _, token = ready(port, number)
    with port.session() as session:
        with pytest.raises(Forbidden, match="terminal operator"):
            service.gate_check(session, actor=port.haulier.principal, container_number=number, driver_token=token)
        with pytest.raises(Forbidden, match="release:write"):
            service.gate_check(session, actor=port.customs.principal, container_number=number, driver_token=token)
    with port.session() as session:  # another terminal knows of no right for this container
        decision = service.gate_check(
            session, actor=port.other_terminal.principal, container_number=number, driver_token=token
        )
    assert not decision.allowed and "no release right" in decision.reason
    with port.session() as session:
        assert session.get(ReleaseStep, decision.step_id).by_org_id == port.other_terminal.org_id  # type: ignore[union-attr]


# ---------------------------------------------------------------- a haulier new to the consignee


def test_a_pick_up_by_a_haulier_new_to_the_consignee_right_after_release_raises_an_alert(port: Port):
    consignee = "Fresh Fruit Imports B.V."
    # the consignee's usual haulier picks up twice; its first pick-up is also "new", the second is not
    _, _, token = ready(port, container(200), consignee=consignee)
    decision = gate(port, container(200), token)
    assert decision.allowed and len(decision.alert_ids) == 1
    _, _, token = ready(port, container(201), consignee="FRESH FRUIT IMPORTS BV")  # same consignee key
    decision = gate(port, container(201), token)
    assert decision.allowed and decision.alert_ids == []

    # another haulier, an hour after customs released: alert
    _, _, token = ready(port, container(202), haulier=port.haulier2, consignee=consignee)
    clock.advance(3600)
    decision = gate(port, container(202), token)
    assert decision.allowed
    [alert] = [a for a in alerts(port, "release_new_party") if a.container_number == container(202)]
    assert decision.alert_ids == [alert.id]
    assert "Dune Trucking" in alert.reason and "never picked up for this consignee before" in alert.reason
    assert "1.0 h after the customs release" in alert.reason
    assert alert.owner_org_id == port.terminal.org_id and alert.sharing_group_id == port.group_id
    assert alert.severity == "medium"

    # the same new haulier long after the customs release: no alert (outside the window)
    _, _, token = ready(port, container(203), haulier=port.haulier2, consignee="Other Consignee NV")
    clock.advance(49 * 3600)
    decision = gate(port, container(203), token)
    assert decision.allowed and decision.alert_ids == []
    # a narrower window is a parameter
    _, _, token = ready(port, container(204), haulier=port.haulier2, consignee="Third Consignee")
    clock.advance(2 * 3600)
    assert gate(port, container(204), token, new_party_window=timedelta(hours=1)).alert_ids == []


# ---------------------------------------------------------------- tokens


def _all_text(db: Database) -> str:
    """Every value of every table, as text."""
    chunks = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # table names from the schema
                chunks.append(" ".join(map(str, row)))
    return "\n".join(chunks)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, SQL statements and their parameters included."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "portguard"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def test_driver_tokens_are_stored_only_as_sha256_and_never_logged(port: Port, logs: pytest.LogCaptureFixture):
    number = container(300)
    _, _, token = ready(port, number)
    assert token.startswith("pgd_") and len(token) > 40
    assert gate(port, number, token).allowed
    assert not gate(port, number, token + "x").allowed
    stored = _all_text(port.db)
    assert token not in stored and token[4:] not in stored
    assert service.token_hash(token) in stored
    assert token not in logs.text and token[4:] not in logs.text
    assert any("release_drivers" in r.getMessage() for r in logs.records)  # the SQL was logged, without the token
    with port.session() as session:
        assert all(token not in str(e.detail) for e in session.scalars(select(AuditEntry)))
