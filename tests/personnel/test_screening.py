"""Screening staff against the watch lists and the network, on both back-ends, with the network's own functions: a
watch-list entry sharing an employee's name and phone, a network entity party to a seized declaration sharing an
employee's phone; each screening kept for the organisation that ran it alone, and audited; and the seizure of a
declaration's container raising the presence signal for the police.

`world` adds to `staff`: Dutch customs load a declaration (its consignee's phone +31 10 123 4567, its container
CSQU3054383) shared AMBER with the Delta terminal's security partners, record a seizure on it that the community
may read (GREEN), and run the network shared with the same group; the police load a watch list shared with it.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portguard.controls import service as controls
from portguard.controls.models import ControlResultIn, Outcome
from portguard.core.audit import AuditEntry
from portguard.core.errors import JustificationRequired, NotFound
from portguard.core.policy import Handling
from portguard.declarations import service as declarations
from portguard.network import service as network
from portguard.network import watchlists
from portguard.network.models import RunIn
from portguard.personnel import service
from portguard.personnel.models import Screening
from tests.conftest import bearer, login
from tests.declarations.test_ingest import declaration
from tests.personnel.conftest import Staff, access, at, badge, hire, placed, shared, track
from tests.personnel.test_service import REASON

SEIZED_PHONE = "+31 10 123 4567"  # the seized declaration's consignee
SEIZED_BOX = "CSQU3054383"
WATCHED = {
    "id": "nl-police-77",
    "caption": "Jan de Vries",
    "schema": "Person",
    "properties": {"name": ["Jan de Vries"], "country": ["nl"], "phone": ["+31 6 1234 5678"]},
}


@pytest.fixture
def world(staff: Staff, tmp_path: Path) -> Staff:
    """The seized declaration, its network run and the police's watch list (see the module's docstring)."""
    path = tmp_path / "seized.jsonl"
    path.write_text(json.dumps(declaration("SEIZED-1", lodged_at="2025-03-10T08:00:00Z")) + "\n", encoding="utf-8")
    with staff.session() as session:
        report = declarations.ingest(
            session,
            actor=staff.customs.principal,
            owner_org_id=staff.customs.org_id,
            path=path,
            format="ics2",
            sharing_group_id=staff.group_id,
        )
        assert report.status == "committed", report.errors
        controls.record_result(
            session,
            actor=staff.officer.principal,
            data=ControlResultIn(
                declaration_id=f"{staff.customs.org_id}:SEIZED-1",
                outcome=Outcome.SEIZURE,
                goods="cocaine",
                quantity_kg=Decimal("210"),
                recorded_at=at(30),
                handling=Handling.GREEN,
            ),
        )
    with staff.session() as session:
        network.run(
            session,
            actor=staff.customs.principal,
            data=RunIn(as_of=datetime(2025, 3, 20), sharing_group_id=staff.group_id),
        )
        watchlists.import_watchlist(
            session,
            actor=staff.police.principal,
            data=json.dumps(WATCHED).encode(),
            name="Seaport police: persons of interest",
            sharing_group_id=staff.group_id,
        )
    return staff


def _screenings(staff: Staff) -> list[Screening]:
    with staff.session() as session:
        return list(session.scalars(select(Screening).order_by(Screening.run_at, Screening.id)))


def test_a_watch_list_entry_with_the_employees_name_and_phone(world: Staff):
    jan = hire(world, "DCT-0001")  # Jan de Vries, +31 6 1234 5678
    other = hire(world, "DCT-0002", name="Priya Ramdin", phone="+31 6 9876 5432", email="priya@example.nl")
    with world.session() as session:
        done = service.screen(session, actor=world.security.principal, justification="periodic staff screening")
    by_employee = {s.employee_id: s for s in done}
    assert set(by_employee) == {jan, other}
    hit = by_employee[jan].watchlist_hits
    assert len(hit) == 1 and hit[0]["entry_id"] == "nl-police-77" and hit[0]["probability"] == 1.0
    assert hit[0]["watchlist_name"] == "Seaport police: persons of interest"
    assert ["same phone", hit[0]["reasons"][0][1]] == hit[0]["reasons"][0] and hit[0]["reasons"][0][1] > 0
    assert by_employee[other].watchlist_hits == [] and by_employee[other].network_hits == []
    # the terminal may not read the network: no network hits for it, whatever the network holds
    assert all(s.network_hits == [] for s in done)
    assert {s.run_by_org_id for s in done} == {world.security.org_id}
    with world.session() as session:
        run = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "personnel_screening", AuditEntry.action == "combine")
        ).one()
    assert run.justification == "periodic staff screening" and run.detail["flagged"] == [jan]


def test_a_network_entity_party_to_a_seizure_shares_the_employees_phone(world: Staff):
    linked = shared(world, "DCT-0003", name="Kees Bakker", phone=SEIZED_PHONE, email="kees@example.nl")
    with world.session() as session:
        done = service.screen(session, actor=world.police.principal, justification=REASON)
    assert [s.employee_id for s in done] == [linked]
    hits = done[0].network_hits
    assert hits and {h["via"] for h in hits} == {"phone"} and hits[0]["value"] == "+31101234567"
    assert hits[0]["seized"] is True and hits[0]["entity_label"] == "Fresh Fruit Imports B.V."
    assert 0 < hits[0]["risk"] <= 1 and hits[0]["run_id"].startswith("net_")
    # kept for the police alone: the employer sees none of it, and the police none of the employer's
    with world.session() as session:
        service.screen(session, actor=world.security.principal, justification="periodic staff screening")
        mine = service.latest_screenings(session, actor=world.security.principal, employee_ids=[linked])
        theirs = service.latest_screenings(session, actor=world.police.principal, employee_ids=[linked])
        listed = service.screenings_for(session, actor=world.security.principal, employee_id=linked)
    assert mine[linked].run_by_org_id == world.security.org_id and mine[linked].network_hits == []
    assert theirs[linked].network_hits == hits
    assert [s.run_by_org_id for s in listed] == [world.security.org_id]
    assert len(_screenings(world)) == 2


def test_who_may_screen(world: Staff):
    strict = hire(world, "DCT-0001")
    with pytest.raises(JustificationRequired), world.session() as session:
        service.screen(session, actor=world.security.principal, justification="  ")
    with world.session() as session:  # customs may read no staff: nobody to screen
        assert service.screen(session, actor=world.customs.principal, justification=REASON) == []
    with pytest.raises(NotFound), world.session() as session:
        service.screen(session, actor=world.police.principal, employee_ids=[strict], justification=REASON)
    with world.session() as session:  # nothing shared with the police: nothing screened
        assert service.screen(session, actor=world.police.principal, justification=REASON) == []
    assert _screenings(world) == []


def test_the_seizure_of_a_declarations_container_counts_for_presence(world: Staff):
    night = shared(world, "DCT-0001", shift_start=22, shift_end=6, shift_days="mon-sun")
    track(world, placed(SEIZED_BOX, -10, "YARD B12-03-2"))
    access(world, badge("DCT-0001", -8, "YARD B12"))
    with world.session() as session:
        signals = service.insider_signals(session, actor=world.police.principal, justification=REASON)
    assert [(s.kind, s.employee_id, s.evidence["container_number"]) for s in signals] == [
        ("near_seized_container", night, SEIZED_BOX)
    ]


def test_screening_through_the_api_and_the_page(client: TestClient, world: Staff):
    jan = hire(world, "DCT-0001")
    headers = bearer(world.db, world.security)
    body = {"justification": "periodic staff screening"}
    done = client.post("/api/personnel/screenings", json=body, headers=headers)
    assert done.status_code == 200, done.text
    assert [s["employee_id"] for s in done.json()] == [jan] and done.json()[0]["watchlist_hits"]
    short = client.post("/api/personnel/screenings", json={"justification": ""}, headers=headers)
    assert short.status_code == 422
    listed = client.get(f"/api/personnel/employees/{jan}/screenings", headers=headers)
    assert [s["id"] for s in listed.json()] == [done.json()[0]["id"]]

    login(client, world.security.username)
    page = client.get("/personnel/screening")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    ran = client.post(
        "/personnel/screening", data={"csrf_token": token, "justification": "weekly"}, follow_redirects=False
    )
    assert ran.status_code == 303 and ran.headers["location"] == "/personnel/screening?ran=1"
    results = client.get(ran.headers["location"])
    assert 'id="flagged">1<' in results.text and "Jan de Vries" in results.text and "same phone" in results.text
    detail = client.get(f"/personnel/{jan}")
    assert "Seaport police: persons of interest" in detail.text and "not-screened" not in detail.text
