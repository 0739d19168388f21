"""The staff generator: deterministic, valid by the import's own schemas, and — loaded over a simulated terminal
day — its three insiders raise exactly their signals while their colleagues raise none."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from portguard.core.policy import Handling
from portguard.personnel import generator, service, signals
from portguard.personnel.models import AccessEventIn, EmployeeIn
from portguard.tracking import service as tracking
from portguard.tracking import simulator
from portguard.tracking.models import AlertSharing
from tests.personnel.conftest import Staff
from tests.personnel.test_service import REASON

TODAY = date(2026, 6, 1)


def test_the_same_seed_gives_the_same_staff_and_logs():
    one = generator.generate(n=40, seed=5, today=TODAY)
    two = generator.generate(n=40, seed=5, today=TODAY)
    assert one.employees == two.employees and one.events == two.events
    assert generator.generate(n=40, seed=6, today=TODAY).employees != one.employees


def test_generated_staff_and_logs_pass_the_import_schemas():
    gen = generator.generate(n=120, seed=7, today=TODAY)
    employees = [EmployeeIn.model_validate(e) for e in gen.employees]
    assert len({e.badge_id for e in employees}) == 120
    states = Counter(e.vetting_status.value for e in employees)
    assert states["cleared"] > 90 and states["pending"] + states["refused"] >= 2
    lapsed = sum(1 for e in employees if e.vetting_expires and e.vetting_expires < TODAY)
    soon = sum(1 for e in employees if e.vetting_expires and 0 <= (e.vetting_expires - TODAY).days <= 30)
    assert lapsed >= 3 and soon >= 3
    assert {e.country for e in employees} == {"NL", "BE"}
    events = [AccessEventIn.model_validate(e) for e in gen.events]
    assert len(events) > 120 * 5
    systems = [e for e in events if e.kind.value == "system"]
    assert systems and {(e.system, e.action, e.container_number) for e in systems} == {("N4", "login", None)}
    assert set(gen.insiders.values()) == {"lookups", "night", "near_seizure"}
    assert gen.seizure is None  # no container stood anywhere: nobody looks one up, nobody is near one


def test_the_linked_and_the_watched_employee_carry_what_screening_compares():
    linked = {
        "phone": "+3237381064",
        "street": "Italielei 44",
        "postcode": "2000",
        "city": "Antwerpen",
        "country": "BE",
    }
    watched = {"name": "Dirk-Jan van Steenbergen", "birth_date": "1968-11-02", "country": "NL"}
    gen = generator.generate(n=30, seed=7, today=TODAY, linked=linked, watched=watched)
    by_badge = {e["badge_id"]: e for e in gen.employees}
    modus = {m: by_badge[b] for b, m in gen.insiders.items()}
    assert {k: modus["linked"][k] for k in linked} == linked
    assert {k: modus["watched"][k] for k in watched} == watched and modus["watched"]["email"] is None
    EmployeeIn.model_validate(modus["linked"])
    EmployeeIn.model_validate(modus["watched"])


@pytest.fixture
def port_day(staff: Staff) -> Staff:
    """A simulated day at the terminal (200 containers), recorded by its security officer and shared with the group."""
    sim = simulator.simulate(containers=200, seed=11)
    with staff.session() as session:
        for start in range(0, len(sim.events), 2000):
            tracking.record_events(
                session,
                actor=staff.security.principal,
                events=sim.events[start : start + 2000],
                source="test",
                sharing=AlertSharing(handling=Handling.AMBER, sharing_group_id=staff.group_id),
            )
    return staff


def test_the_demo_insiders_raise_their_signals_and_nobody_else_does(port_day: Staff):
    staff = port_day
    with staff.session() as session:
        loaded = generator.demo(
            session,
            actor=staff.security.principal,
            sharing_group_id=staff.group_id,
            customs_actor=staff.officer.principal,
            screen=False,
        )
    assert loaded["employees"] == 120 and loaded["events"] > 2000 and loaded["seizure"]
    insiders = {modus: badge for badge, modus in loaded["insiders"].items()}
    with staff.session() as session:
        again = generator.demo(session, actor=staff.security.principal, screen=False)
        assert again["employees"] == 0  # loaded once
        police = service.insider_signals(session, actor=staff.police.principal, justification=REASON)
        terminal = service.insider_signals(session, actor=staff.security.principal)
        badges = {
            e.id: e.badge_id for e in service.list_employees(session, actor=staff.security.principal, limit=500)[0]
        }

    def by_badge(found: list[signals.Signal]) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for s in found:
            out.setdefault(badges[s.employee_id], Counter())[s.kind] += 1
        return out

    seen = by_badge(police)
    assert set(seen) == {insiders["lookups"], insiders["night"], insiders["near_seizure"]}
    assert seen[insiders["lookups"]] == Counter({"lookup_outside_area": 6})
    assert seen[insiders["night"]] == Counter({"outside_shift": 2})
    assert seen[insiders["near_seizure"]] == Counter({"near_seized_container": 2})
    # the terminal may not read customs' seizure: the same, without that signal
    assert by_badge(terminal) == {k: v for k, v in seen.items() if k != insiders["near_seizure"]}
