"""Recording events in the store (SQLite and PostgreSQL): idempotent delivery, DCSA updates and retractions, late
events re-evaluated, bad events kept, alerts shared per handling code and acknowledged, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portguard.core import audit
from portguard.core.audit import AuditEntry
from portguard.core.errors import InvalidInput, NotFound
from portguard.core.policy import Handling, OrgKind, Role
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from portguard.tracking import service
from portguard.tracking.models import AlertSharing, ContainerEvent, PortAlert, RejectedEvent
from tests.tracking.conftest import BOX, clean_import, dcsa


@pytest.fixture
def terminal(make_user):
    return make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)


def record(db, who, events, **kw):
    with db.session() as session:
        result = service.record_events(session, actor=who.principal, events=events, **kw)
        return result.summary(), [(a.detector, a.status) for a in result.raised], [a.id for a in result.withdrawn]


def test_a_batch_is_stored_once_whatever_the_redeliveries(db, terminal):
    events = clean_import()
    summary, raised, _ = record(db, terminal, events + events[:3])
    assert summary["accepted"] == len(events) and summary["duplicates"] == 3 and raised == []
    summary, _, _ = record(db, terminal, events)
    assert summary["accepted"] == 0 and summary["duplicates"] == len(events)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ContainerEvent)) == len(events)
        ids = session.scalars(select(ContainerEvent.id)).all()
        assert all(i.startswith(f"{terminal.org_id}:") for i in ids)


def test_two_organisations_may_use_the_same_event_id(db, terminal, make_user):
    line = make_user(Role.PORT_SECURITY, kind=OrgKind.SHIPPING_LINE)
    e = dcsa("DISC", 0, event_id="same-id", empty=False)
    assert record(db, terminal, [e])[0]["accepted"] == 1
    assert record(db, line, [e])[0]["accepted"] == 1


def test_a_later_update_replaces_an_earlier_one_and_a_retraction_withdraws(db, terminal):
    first = dcsa("DISC", 0, event_id="d1", empty=False, seals=["A1"])
    newer = dcsa("DISC", 0, event_id="d1", empty=False, seals=["B2"], updated_minutes=10)
    older = dcsa("DISC", 0, event_id="d1", empty=False, seals=["C3"], updated_minutes=-10)
    record(db, terminal, [first])
    assert record(db, terminal, [newer])[0]["replaced"] == 1
    assert record(db, terminal, [older])[0]["duplicates"] == 1
    with db.session() as session:
        row = session.get(ContainerEvent, f"{terminal.org_id}:d1")
        assert row.flat["seals"] == ["B2"]
    assert record(db, terminal, [{"eventID": "d1", "isRetracted": True}])[0]["retracted"] == 1
    with db.session() as session:
        assert session.get(ContainerEvent, f"{terminal.org_id}:d1").retracted


def test_bad_events_are_kept_with_their_error_and_the_rest_goes_on(db, terminal):
    bad_number = dcsa("DISC", 0)
    bad_number["equipmentDetails"]["equipmentReference"] = "MSKU1234566"  # wrong check digit
    unknown = dcsa("DISC", 1)
    unknown["eventClassification"]["equipmentEventTypeCode"] = "TELEPORT"
    summary, _, _ = record(db, terminal, [bad_number, unknown, "not an object", dcsa("DISC", 2, empty=False)])
    assert summary["rejected"] == 3 and summary["accepted"] == 1
    with db.session() as session:
        errors = session.scalars(select(RejectedEvent.error).order_by(RejectedEvent.error)).all()
    assert any("check digit" in e for e in errors)
    assert any("TELEPORT" in e for e in errors)
    assert any("JSON object" in e for e in errors)


def test_a_late_event_is_placed_by_event_time_and_withdraws_a_wrong_alert(db, terminal):
    events = clean_import()
    cusr = next(e for e in events if e["eventClassification"].get("equipmentEventTypeCode") == "CUSR")
    _, raised, _ = record(db, terminal, [e for e in events if e is not cusr])
    assert raised == [("impossible_order", "open")]
    _, raised, withdrawn = record(db, terminal, [cusr])
    assert raised == [] and len(withdrawn) == 1
    with db.session() as session:
        alert = session.get(PortAlert, withdrawn[0])
        assert alert.status == "withdrawn" and "late" in alert.note


def test_detection_sees_the_events_of_every_party(db, terminal, make_user):
    """The terminal sends the discharge and the gate-out, customs sends the selection: together a bypass."""
    customs = make_user(Role.CUSTOMS_ANALYST)
    events = clean_import()
    record(db, terminal, events)
    _, raised, _ = record(db, customs, [dcsa("CUSS", 100)])
    assert raised == [("lane_bypass", "open")]
    with db.session() as session:
        alert = session.scalar(select(PortAlert))
        assert alert.owner_org_id == customs.org_id  # the selection is the alert's first event


def test_a_control_order_on_the_declaration_puts_the_box_in_the_red_lane(db, terminal, make_user):
    from portguard.controls import service as controls
    from portguard.controls.models import ControlOrderIn

    customs = make_user(Role.CUSTOMS_ANALYST)
    with db.session() as session:
        controls.create_order(
            session,
            actor=customs.principal,
            data=ControlOrderIn(container_number=BOX, kind="scan", reason_kind="manual"),
        )
    _, raised, _ = record(db, terminal, clean_import())
    assert raised == [("lane_bypass", "open")]


def test_alerts_reach_the_sharing_group_and_nobody_else(db, terminal, make_user, make_org):
    police_org = make_org(kind=OrgKind.POLICE)
    with db.session() as session:
        group = sharing.create_group(
            session, actor=None, data=GroupIn(name="port community", org_ids=[terminal.org_id, police_org])
        )
    police = make_user(Role.POLICE_ANALYST, org_id=police_org)
    outsider = make_user(Role.CUSTOMS_ANALYST)
    with db.session() as session:
        term = sharing.principal_for(session, username=terminal.username)
    rip = [*clean_import(), dcsa("DRO", 300), dcsa("DRC", 320)]
    with db.session() as session:
        service.record_events(
            session, actor=term, events=rip, sharing=AlertSharing(handling=Handling.AMBER, sharing_group_id=group.id)
        )
    with db.session() as session:
        seen_by_police, _ = service.list_alerts(session, actor=police.principal)
        seen_by_outsider, total = service.list_alerts(session, actor=outsider.principal)
    assert [a.detector for a in seen_by_police] == ["door_open"]
    assert seen_by_outsider == [] and total == 0
    with db.session() as session:
        with pytest.raises(NotFound):
            service.acknowledge(session, actor=outsider.principal, alert_id=seen_by_police[0].id)
        alert = service.acknowledge(session, actor=police.principal, alert_id=seen_by_police[0].id, note="patrol sent")
        assert alert.status == "acknowledged" and alert.acknowledged_by == police.user_id
    with db.session() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.object_type)).all()
        assert ("alter", "port_alert") in actions and ("consult", "port_alert") in actions
        assert ("collect", "container_events") in actions
        assert audit.verify(session).ok


def test_only_a_group_of_ones_own_and_ones_own_org(db, terminal, make_user):
    other = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    with db.session() as session, pytest.raises(InvalidInput, match="group your organisation is in"):
        service.record_events(
            session, actor=terminal.principal, events=[dcsa("DISC", 0)], sharing=AlertSharing(sharing_group_id="grp_x")
        )
    with db.session() as session, pytest.raises(InvalidInput, match="own organisation"):
        service.record_events(session, actor=terminal.principal, events=[dcsa("DISC", 0)], owner_org_id=other.org_id)


def test_the_timeline_shows_what_one_may_see_in_event_time_order(db, terminal, make_user):
    events = clean_import()
    record(db, terminal, list(reversed(events)))
    with db.session() as session:
        rows, _ = service.timeline(session, actor=terminal.principal, container=BOX.lower())
        assert [r.event_id for r in rows] == [e["eventID"] for e in events]
        assert service.state(rows)["status"] == "gated out"
    stranger = make_user(Role.PORT_SECURITY, kind=OrgKind.HAULIER)
    with db.session() as session:
        assert service.timeline(session, actor=stranger.principal, container=BOX)[0] == []


@pytest.mark.parametrize("cached", [False, True], ids=["store", "cache"])
def test_alerts_in_the_store_are_the_findings_over_all_events_whoever_sent_them(db, terminal, make_user, cached):
    """A simulated stream in batches, a seventh of them sent by another organisation (which the recorder's cache
    must notice), out of order and redelivered as the simulator makes them: the open alerts in the store are what
    one in-memory pass over every event finds, with and without the listener's timeline cache."""
    from portguard.tracking import simulator
    from portguard.tracking.detectors import Tracker
    from portguard.tracking.models import TrackEvent

    other = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    events = simulator.simulate(containers=120, seed=3, rates=dict.fromkeys(simulator.MODI, 0.03)).events
    cache = service.TimelineCache() if cached else None
    memory = Tracker()
    for n, start in enumerate(range(0, len(events), 40)):
        batch = events[start : start + 40]
        who = other if n % 7 == 3 else terminal
        with db.session() as session:
            kw = {"cache": cache} if who is terminal else {}
            service.record_events(session, actor=who.principal, events=batch, **kw)
        for raw in batch:
            ev = TrackEvent.model_validate(raw)
            memory.add(ev.flat(key=f"{who.org_id}:{ev.eventID}"))
    expected = {(f.container, f.detector, f.key) for tl in memory.timelines.values() for f in tl.findings.values()}
    with db.session() as session:
        stored = set(
            session.execute(
                select(PortAlert.container_number, PortAlert.detector, PortAlert.finding_key).where(
                    PortAlert.status == "open"
                )
            ).all()
        )
    assert len(expected) > 10  # the stream carries injected patterns
    assert stored == expected
    if cached:
        assert cache.advanced > cache.rebuilt > 0  # mostly in memory, and the other writer's batches were noticed


def test_a_rolled_back_batch_leaves_nothing_in_the_listeners_cache(db, terminal):
    """The listener retries a batch whose transaction failed; the retry must raise the alerts the failure lost."""
    cache = service.TimelineCache()
    events = [e for e in clean_import() if e["eventClassification"].get("equipmentEventTypeCode") != "CUSR"]
    with pytest.raises(RuntimeError), db.session() as session:
        result = service.record_events(session, actor=terminal.principal, events=events, cache=cache)
        assert [a.detector for a in result.raised] == ["impossible_order"]
        raise RuntimeError("the store went away before the commit")
    assert BOX not in cache.versions
    with db.session() as session:
        result = service.record_events(session, actor=terminal.principal, events=events, cache=cache)
        assert [a.detector for a in result.raised] == ["impossible_order"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PortAlert)) == 1
