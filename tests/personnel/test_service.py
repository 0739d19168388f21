"""The personnel service on both back-ends: who may read the staff register (the employer's security; police only
with a reason; nobody else), every read audited, registering and changing employees, the CSV import's row-precise
errors and idempotence, the access-event imports, and each insider signal, positive and negative."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portguard.core.audit import AuditEntry
from portguard.core.errors import Forbidden, InvalidInput, JustificationRequired, NotFound
from portguard.core.policy import Handling
from portguard.personnel import service, signals
from portguard.personnel.models import AccessEvent, Employee, EmployeePatch
from tests.personnel.conftest import (
    Staff,
    access,
    at,
    badge,
    box,
    hire,
    lookup,
    person,
    placed,
    seize,
    shared,
    track,
)
from tests.tracking.conftest import dcsa

REASON = "case ROTT-2026-114: staff with access to block B12"


def _consults(staff: Staff, object_type: str = "employee") -> list[AuditEntry]:
    with staff.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "consult", AuditEntry.object_type == object_type)
                .order_by(AuditEntry.seq)
            )
        )


def _kinds(signals: list[signals.Signal]) -> list[str]:
    return [s.kind for s in signals]


# ---------------------------------------------------------------- the access rule


def test_who_reads_the_register(staff: Staff):
    strict = hire(staff, "DCT-0001", name="Anna Strict")
    amber = shared(staff, "DCT-0002", name="Bram Shared")

    with staff.session() as session:
        items, total = service.list_employees(session, actor=staff.security.principal)
        assert (total, {e.id for e in items}) == (2, {strict, amber})
        for employee_id in (strict, amber):
            assert service.get(session, actor=staff.security.principal, employee_id=employee_id).id == employee_id

    def refused(actor, exc, employee_id=amber, justification=REASON):  # type: ignore[no-untyped-def]
        with pytest.raises(exc), staff.session() as session:
            service.get(session, actor=actor, employee_id=employee_id, justification=justification)

    # another terminal in the same sharing group: nothing, as if there were nobody
    with staff.session() as session:
        assert service.list_employees(session, actor=staff.other_terminal.principal) == ([], 0)
    refused(staff.other_terminal.principal, NotFound)
    # customs and the terminal's own org admin hold no employee:read: nobody to list, nobody to read
    for actor in (staff.customs.principal, staff.admin.principal):
        with staff.session() as session:
            assert service.list_employees(session, actor=actor) == ([], 0)
            assert service.insider_signals(session, actor=actor) == []
        refused(actor, NotFound)
    # a police analyst of an EU agency in the group is not police
    with staff.session() as session:
        assert service.list_employees(session, actor=staff.eu.principal, justification=REASON) == ([], 0)
    refused(staff.eu.principal, NotFound)
    # police outside the group see nothing, even with a reason
    with staff.session() as session:
        assert service.list_employees(session, actor=staff.other_police.principal, justification=REASON) == ([], 0)
    refused(staff.other_police.principal, NotFound)

    # police in the group: only with a reason, and only what the employer shared
    police = staff.police.principal
    with pytest.raises(JustificationRequired), staff.session() as session:
        service.list_employees(session, actor=police)
    refused(police, JustificationRequired, justification=None)
    refused(police, JustificationRequired, justification="   ")
    refused(police, NotFound, employee_id=strict)
    with staff.session() as session:
        items, total = service.list_employees(session, actor=police, justification=REASON)
        assert [e.id for e in items] == [amber] and total == 1
        assert service.get(session, actor=police, employee_id=amber, justification=REASON).name == "Bram Shared"

    consults = _consults(staff)
    assert [(c.username, c.object_id, c.justification) for c in consults] == [
        ("delta.security", None, None),
        ("delta.security", strict, None),
        ("delta.security", amber, None),
        ("police.analyst", None, REASON),
        ("police.analyst", amber, REASON),
    ]
    assert consults[0].detail["ids"] == [strict, amber]  # by name
    assert consults[3].detail["ids"] == [amber]


def test_every_read_of_staff_data_is_a_consultation(staff: Staff):
    amber = shared(staff, "DCT-0002")
    access(staff, badge("DCT-0002", 1))
    before = len(_consults(staff))
    with staff.session() as session:
        service.list_events(session, actor=staff.police.principal, employee_id=amber, justification=REASON)
        service.insider_signals(session, actor=staff.police.principal, justification=REASON)
        service.employee_view(session, actor=staff.police.principal, employee_id=amber, justification=REASON)
        service.overview(session, actor=staff.police.principal, justification=REASON)
    after = _consults(staff)[before:]
    assert len(after) == 4 and {c.justification for c in after} == {REASON}
    with pytest.raises(JustificationRequired), staff.session() as session:
        service.insider_signals(session, actor=staff.police.principal, employee_ids=[amber])
    with pytest.raises(JustificationRequired), staff.session() as session:
        service.list_events(session, actor=staff.police.principal, employee_id=amber)


# ---------------------------------------------------------------- the register


def test_register_checks_badges_sharing_and_who(staff: Staff):
    first = hire(staff, "dct-0001")
    with staff.session() as session:
        employee = session.get(Employee, first)
        assert employee is not None
        assert (employee.badge_id, employee.phone, employee.work_areas) == (
            "DCT-0001",
            "+31612345678",
            ["YARD A", "YARD B"],
        )
        assert (employee.handling, employee.sharing_group_id, employee.owner_org_id) == (
            "AMBER+STRICT",
            None,
            staff.security.org_id,
        )
    with pytest.raises(InvalidInput, match="badge DCT-0001 is already registered") as info, staff.session() as s:
        service.register(s, actor=staff.security.principal, data=person("DCT-0001"))
    assert info.value.extra["field"] == "badge_id"
    with staff.session() as session:  # badge ids are unique per employer only
        service.register(session, actor=staff.other_terminal.principal, data=person("DCT-0001"))
    with pytest.raises(Forbidden), staff.session() as session:
        service.register(session, actor=staff.police.principal, data=person("POL-1"))
    with pytest.raises(InvalidInput, match="no sharing group"), staff.session() as session:
        service.register(
            session,
            actor=staff.security.principal,
            data=person("DCT-0009", handling="AMBER", sharing_group_id="grp_nope"),
        )
    with staff.session() as session:
        collects = session.scalar(
            select(func.count()).where(AuditEntry.action == "collect", AuditEntry.object_type == "employee")
        )
    assert collects == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"badge_id": "x"}, "badge_id", "not a badge id"),
        ({"country": "XX"}, "country", "ISO 3166-1"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"email": "jan@"}, "email", "e-mail"),
        ({"shift_start": 24}, "shift_start", "less than or equal to 23"),
        ({"shift_days": "mon-funday"}, "shift_days", "range of days"),
        ({"work_areas": ["YARD A", "yard*"]}, "work_areas", "zone name"),
        ({"vetting_status": "cleared", "vetting_expires": None}, None, "vetting_expires"),
        ({"handling": "AMBER"}, None, "sharing_group_id"),
        ({"birth_date": "2020-01-01"}, "birth_date", "not plausible"),
    ],
)
def test_employee_input_is_checked_field_by_field(fields, field, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        person(**fields)
    error = info.value.errors()[0]
    assert message in str(error["msg"])
    if field is not None:
        assert error["loc"][0] == field


def test_strict_fields_do_not_coerce():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        person(shift_start=True)
    with pytest.raises(ValidationError):
        person(active="yes")
    with pytest.raises(ValidationError):
        person(unknown_field=1)


def test_update_changes_only_what_is_given_and_only_by_the_employer(staff: Staff):
    employee_id = shared(staff, "DCT-0002")
    with staff.session() as session:
        changed = service.update(
            session,
            actor=staff.security.principal,
            employee_id=employee_id,
            data=EmployeePatch(vetting_status="refused", work_areas="QUAY; YARD C"),
        )
        assert (changed.vetting_status, changed.work_areas, changed.name) == (
            "refused",
            ["QUAY", "YARD C"],
            "Jan de Vries",
        )
        assert changed.sharing_group_id == staff.group_id
        again = service.update(
            session,
            actor=staff.security.principal,
            employee_id=employee_id,
            data=EmployeePatch(handling="AMBER+STRICT"),
        )
        assert (again.handling, again.sharing_group_id) == ("AMBER+STRICT", None)
    with staff.session() as session:
        alters = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "alter", AuditEntry.object_type == "employee")
            )
        )
    assert [a.detail["changed"] for a in alters] == [["vetting_status", "work_areas"], ["handling", "sharing_group_id"]]
    with pytest.raises(InvalidInput, match="vetting_expires"), staff.session() as session:
        service.update(  # each field is fine, the whole is not
            session,
            actor=staff.security.principal,
            employee_id=employee_id,
            data=EmployeePatch(vetting_status="cleared", vetting_expires=None),
        )
    with pytest.raises(Forbidden), staff.session() as session:
        service.update(session, actor=staff.police.principal, employee_id=employee_id, data=EmployeePatch(name="X Y"))
    with pytest.raises(NotFound), staff.session() as session:
        service.update(
            session, actor=staff.other_terminal.principal, employee_id=employee_id, data=EmployeePatch(name="X Y")
        )


def test_vetting_in_effect_and_the_filters(staff: Staff):
    today = service.utcnow().date()
    lapsed = hire(staff, "DCT-0001", vetting_expires=(today - timedelta(days=1)).isoformat())
    soon = hire(staff, "DCT-0002", vetting_expires=(today + timedelta(days=12)).isoformat())
    fine = hire(staff, "DCT-0003", vetting_expires=(today + timedelta(days=400)).isoformat())
    pending = hire(staff, "DCT-0004", vetting_status="pending", vetting_expires=None)
    actor = staff.security.principal
    with staff.session() as session:
        employees = {e.id: e for e in service.list_employees(session, actor=actor)[0]}
        assert employees[lapsed].vetting_state(today) == "expired"
        assert employees[soon].vetting_expiring(today) and not employees[fine].vetting_expiring(today)

        def ids(state: str) -> set[str]:
            return {e.id for e in service.list_employees(session, actor=actor, vetting=state)[0]}

        assert ids("expired") == {lapsed}
        assert ids("cleared") == {soon, fine}
        assert ids("expiring") == {soon}
        assert ids("pending") == {pending}
        with pytest.raises(InvalidInput):
            ids("sometime")


# ---------------------------------------------------------------- the CSV import

HEADER = (
    "name,job_role,badge_id,vetting_status,vetting_expires,phone,country,shift_start,shift_end,shift_days,work_areas\n"
)


def _csv(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


GOOD = _csv(
    "Anouk de Vries,crane operator,DCT-0101,cleared,2027-05-01,010 412 3456,NL,6,14,mon-fri,QUAY",
    "Bram Janssens,gate clerk,DCT-0102,pending,,+32 3 123 45 67,BE,14,22,mon-sat,GATE IN;GATE OUT",
    'Carla Peeters,planner,DCT-0103,cleared,2026-12-31,,BE,22,6,"sun,mon,tue,wed,thu",YARD',
)


def test_csv_import_is_all_or_nothing_and_idempotent(staff: Staff):
    progress: list[int] = []
    actor = staff.security.principal
    with staff.session() as session:
        report = service.import_employees(
            session, actor=actor, text=GOOD, name="staff.csv", on_progress=progress.append
        )
    assert (len(report.created), len(report.updated), report.unchanged, report.rows) == (3, 0, 0, 3)
    assert progress[-1] == 3
    with staff.session() as session:
        again = service.import_employees(session, actor=actor, text=GOOD, name="staff.csv")
        assert (len(again.created), len(again.updated), again.unchanged) == (0, 0, 3)
        carla = session.scalar(select(Employee).where(Employee.badge_id == "DCT-0103"))
        assert carla is not None
        assert (carla.shift_start, carla.shift_end, carla.shift_days) == (22, 6, ["mon", "tue", "wed", "thu", "sun"])
        bram = session.scalar(select(Employee).where(Employee.badge_id == "DCT-0102"))
        assert bram is not None and bram.phone == "+3231234567" and bram.work_areas == ["GATE IN", "GATE OUT"]
    changed = GOOD.replace("DCT-0102,pending,", "DCT-0102,refused,")
    with staff.session() as session:
        third = service.import_employees(session, actor=actor, text=changed, name="staff.csv")
        assert (len(third.created), len(third.updated), third.unchanged) == (0, 1, 2)
    with staff.session() as session:
        imports = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.object_type == "employee", AuditEntry.action.in_(["collect", "alter"])
                )
            )
        )
    assert [(a.action, len(a.detail["created"]), len(a.detail["updated"])) for a in imports] == [
        ("collect", 3, 0),
        ("alter", 0, 1),
    ]


def test_csv_import_names_each_bad_row_and_writes_nothing(staff: Staff):
    bad = _csv(
        "Anouk de Vries,crane operator,DCT-0101,cleared,2027-05-01,010 412 3456,NL,6,14,mon-fri,QUAY",
        "Bram Janssens,gate clerk,DCT-0102,pending,,+32 3 123 45 67,XX,14,22,mon-sat,GATE IN",
        "Carla Peeters,planner,DCT-0103,cleared,,,BE,22,6,mon,YARD",
        "Dirk Smit,planner,DCT-0101,pending,,,NL,25,6,mon,YARD",
        "Eva,planner,DCT-0105,pending,,,NL,x,6,mon,YARD",
    )
    with pytest.raises(InvalidInput) as info, staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text=bad, name="staff.csv")
    errors = info.value.extra["errors"]
    got = {(e["row"], e["field"]) for e in errors}
    assert {(3, "country"), (4, "vetting_expires"), (5, "shift_start"), (6, "shift_start")} <= got
    assert info.value.detail.startswith("staff.csv:") and "nothing written" in info.value.detail
    duplicate = _csv(
        "Anouk de Vries,crane operator,DCT-0101,pending,,,NL,6,14,mon-fri,QUAY",
        "Anouk de Vries,crane operator,dct-0101,pending,,,NL,6,14,mon-fri,QUAY",
    )
    with pytest.raises(InvalidInput) as info, staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text=duplicate, name="dup.csv")
    assert [(e["row"], e["field"], e["msg"]) for e in info.value.extra["errors"]] == [
        (3, "badge_id", "badge DCT-0101 is also on row 2")
    ]
    assert info.value.extra["errors"][0]["loc"] == [3, "badge_id"]
    with pytest.raises(InvalidInput, match="unknown column salary"), staff.session() as session:
        service.import_employees(
            session, actor=staff.security.principal, text="name,job_role,badge_id,country,salary\n", name="x.csv"
        )
    with pytest.raises(InvalidInput, match="missing column country"), staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text="name,job_role,badge_id\n", name="y.csv")
    with pytest.raises(InvalidInput, match="no rows"), staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text=HEADER, name="z.csv")
    with pytest.raises(Forbidden), staff.session() as session:
        service.import_employees(session, actor=staff.police.principal, text=GOOD, name="staff.csv")
    with staff.session() as session:
        assert session.scalar(select(func.count()).select_from(Employee)) == 0


def test_csv_rows_are_counted_as_the_file_counts_them(staff: Staff):
    text = (
        "name,job_role,badge_id,country,street\n"
        'Anouk de Vries,crane operator,DCT-0101,NL,"Maasboulevard 12\nBus 3"\n'
        "Bram Janssens,gate clerk,DCT-0102,XX,\n"
        "Carla Peeters,planner,DCT-0103,BE,,extra cell\n"
    )
    with pytest.raises(InvalidInput) as info, staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text=text, name="lines.csv")
    assert [(e["row"], e["field"]) for e in info.value.extra["errors"]] == [(4, "country"), (5, None)]
    assert info.value.detail.startswith("lines.csv: 2 errors in 3 rows, nothing written — row 4, country:")


@pytest.mark.parametrize("text", ["\r0", 'name,job_role\r\n"a\x00', "\x00"])
def test_bytes_that_are_not_csv_are_refused_not_a_server_error(staff: Staff, text: str):
    """Found by Schemathesis: a lone carriage return or a NUL used to escape as csv.Error (a 500)."""
    with pytest.raises(InvalidInput), staff.session() as session:
        service.import_employees(session, actor=staff.security.principal, text=text, name="odd.csv")


# ---------------------------------------------------------------- access events


def test_access_events_from_jsonl_and_csv_are_stored_once(staff: Staff):
    employee_id = hire(staff, "DCT-0001")
    jsonl = "\n".join(json.dumps(e) for e in (badge("DCT-0001", 0.5), lookup("DCT-0001", 1, box(7)))) + "\n"
    csv_text = "badge_id,at,kind,zone,system,action,container_number\n" + (
        f"DCT-0001,{at(2).isoformat()},badge,GATE IN,,,\n"
        f"DCT-0001,{at(3).isoformat()},system,,N4,container inquiry,{box(8)}\n"
    )
    actor = staff.security.principal
    with staff.session() as session:
        first = service.import_events(session, actor=actor, text=jsonl, name="badges.jsonl")
        second = service.import_events(session, actor=actor, text=jsonl, name="badges.jsonl")
        third = service.import_events(session, actor=actor, text=csv_text, name="systems.csv")
    assert (first.accepted, first.duplicates, second.accepted, second.duplicates) == (2, 0, 0, 2)
    assert (third.accepted, third.rows) == (2, 2)
    with staff.session() as session:
        events = service.list_events(session, actor=actor, employee_id=employee_id)
    assert [(e.kind, e.zone, e.container_number) for e in events] == [
        ("badge", "YARD B12", None),
        ("system", None, box(7)),
        ("badge", "GATE IN", None),
        ("system", None, box(8)),
    ]


def test_access_event_files_with_errors_are_refused_whole(staff: Staff):
    hire(staff, "DCT-0001")
    lines = [
        json.dumps(badge("DCT-0001", 1)),
        "{not json",
        json.dumps(badge("DCT-9999", 1)),
        json.dumps({**badge("DCT-0001", 1), "zone": None}),
        json.dumps(lookup("DCT-0001", 2, "MSKU1234560")),
        json.dumps({**badge("DCT-0001", 1), "at": "2025-03-12T06:00:00"}),
    ]
    with pytest.raises(InvalidInput) as info, staff.session() as session:
        service.import_events(session, actor=staff.security.principal, text="\n".join(lines), name="bad.jsonl")
    got = {(e["row"], e["field"]) for e in info.value.extra["errors"]}
    assert {(2, None), (4, None), (5, "container_number"), (6, "at")} <= got
    # the unknown badge is found once the rest is well formed
    with pytest.raises(InvalidInput) as info, staff.session() as session:
        service.import_events(session, actor=staff.security.principal, text="\n".join(lines[::2][:2]), name="b.jsonl")
    assert [(e["row"], e["field"], e["msg"]) for e in info.value.extra["errors"]] == [
        (2, "badge_id", "no employee of yours holds badge DCT-9999")
    ]
    with pytest.raises(InvalidInput) as info, staff.session() as session:  # another terminal's staff are not yours
        service.import_events(session, actor=staff.other_terminal.principal, text=lines[0], name="c.jsonl")
    with staff.session() as session:
        assert session.scalar(select(func.count()).select_from(AccessEvent)) == 0


# ---------------------------------------------------------------- insider signals: outside the shift


def test_outside_shift_with_tolerance(staff: Staff):
    hire(staff, "DCT-0001")  # 07-15 Mon-Fri; T0 is Wednesday 07:00
    access(
        staff,
        badge("DCT-0001", -0.2),  # 06:48: within the 15 minutes' tolerance
        badge("DCT-0001", 3),  # 10:00
        badge("DCT-0001", 8.2),  # 15:12: tolerance
        badge("DCT-0001", 9),  # 16:00: outside
        lookup("DCT-0001", 20, box(1)),  # Thursday 03:00: outside
        badge("DCT-0001", 72 + 2),  # Saturday 09:00: not a shift day
    )
    with staff.session() as session:
        signals = service.insider_signals(session, actor=staff.security.principal)
    outside = [s for s in signals if s.kind == "outside_shift"]
    assert [s.at for s in outside] == [at(9), at(20), at(74)]
    assert "outside the shift 07:00–15:00 mon–fri" in outside[0].reason and "16:00" in outside[0].reason
    assert outside[1].evidence["system"] == "N4" and outside[1].evidence["local_time"] == "2025-03-13 03:00"
    with staff.session() as session:
        strict = service.insider_signals(session, actor=staff.security.principal, tolerance=timedelta(0))
    assert len([s for s in strict if s.kind == "outside_shift"]) == 5


def test_a_night_shift_counts_on_the_day_it_starts(staff: Staff):
    hire(staff, "DCT-0001", shift_start=22, shift_end=6, shift_days="mon-fri")
    access(
        staff,
        badge("DCT-0001", -9),  # Tuesday 22:00: the start of Tuesday's shift
        badge("DCT-0001", -4),  # Wednesday 03:00: Tuesday's shift
        badge("DCT-0001", 2 * 24 + 20),  # Saturday 03:00: Friday's shift
        badge("DCT-0001", 3 * 24 + 20),  # Sunday 03:00: Saturday is no shift day
        badge("DCT-0001", 5),  # Wednesday 12:00: between shifts
    )
    with staff.session() as session:
        outside = [s.at for s in service.insider_signals(session, actor=staff.security.principal)]
    assert outside == [at(5), at(3 * 24 + 20)]


# ---------------------------------------------------------------- look-ups outside the work areas


def test_lookups_of_containers_outside_the_work_areas(staff: Staff):
    hire(staff, "DCT-0001")  # YARD A, YARD B
    hire(staff, "DCT-0002", work_areas=[])  # no areas on record
    reefer, dry, unknown, gone = box(1), box(2), box(3), box(4)
    track(
        staff,
        placed(reefer, 0, "YARD R07-12-3"),
        placed(dry, 0, "YARD B03-01-1"),
        placed(gone, 0, "YARD R01-01-1"),
        dcsa("GTOT", 60, container=gone),
    )
    access(
        staff,
        lookup("DCT-0001", 1, reefer),  # in YARD R07: outside
        lookup("DCT-0001", 1.5, dry),  # in YARD B03: their own area
        lookup("DCT-0001", 2, unknown),  # no tracking events: unknown, nothing said
        lookup("DCT-0001", 2.5, gone),  # gated out an hour before: not at the terminal
        lookup("DCT-0001", -1, reefer),  # before it was placed
        lookup("DCT-0002", 1, reefer),  # no work areas on record
    )
    with staff.session() as session:
        signals = service.insider_signals(session, actor=staff.security.principal)
    found = [s for s in signals if s.kind == "lookup_outside_area"]
    assert [(s.evidence["container_number"], s.at) for s in found] == [(reefer, at(1))]
    assert found[0].evidence["container_zone"] == "YARD R07" and found[0].evidence["spot"] == "YARD R07-12-3"
    assert "outside the work areas YARD A, YARD B" in found[0].reason
    cited = _consults(staff, "container_event")
    assert cited and cited[-1].detail["ids"] == [found[0].evidence["container_event_id"]]
    # a reader who may not see the tracking events gets nothing: the box's place is unknown to them
    with staff.session() as session:
        moved = service.update(
            session,
            actor=staff.security.principal,
            employee_id=found[0].employee_id,
            data=EmployeePatch(work_areas=["YARD"]),
        )
        assert moved.work_areas == ["YARD"]
        again = service.insider_signals(session, actor=staff.security.principal)
    assert [s for s in again if s.kind == "lookup_outside_area"] == []


def test_zones_and_areas():
    assert signals.zone_of("YARD B12-03-2") == "YARD B12"
    assert signals.zone_of(" quay  4 ") == "QUAY 4"
    assert signals.zone_of(None) is None
    assert signals.covers("YARD B", "YARD B12") and signals.covers("YARD", "YARD B12")
    assert signals.covers("GATE", "GATE OUT LANE 3") and signals.covers("YARD B12", "YARD B12")
    assert not signals.covers("YARD B1", "YARD B12") and not signals.covers("YARD B", "YARD BX1")
    assert not signals.covers("QUAY 1", "QUAY 12") and not signals.covers("YARD C", "YARD B12")


# ---------------------------------------------------------------- presence near a container later seized


def _near_seizure_case(staff: Staff, handling: Handling = Handling.GREEN) -> tuple[str, str]:
    night = shared(staff, "DCT-0001", shift_start=22, shift_end=6, shift_days="mon-sun")
    seized, other = box(1), box(2)
    track(staff, placed(seized, -10, "YARD B12-03-2"), placed(other, -10, "YARD C01-01-1"))
    access(
        staff,
        badge("DCT-0001", -8, "YARD B12"),  # Tuesday 23:00, 38 h before the seizure, where the box stood
        badge("DCT-0001", -7, "YARD B"),  # a reader at the entrance of zone B: takes in B12
        badge("DCT-0001", -80, "YARD B12"),  # 110 h before: outside the window
        badge("DCT-0001", -6, "YARD C01"),  # where the other box stood: not seized
        badge("DCT-0001", 40, "YARD B12"),  # after the seizure
    )
    seize(staff, seized, 30, handling=handling)
    return night, seized


def test_presence_near_a_container_later_seized_for_police(staff: Staff):
    employee_id, seized = _near_seizure_case(staff)
    with staff.session() as session:
        signals = service.insider_signals(session, actor=staff.police.principal, justification=REASON)
    near = [s for s in signals if s.kind == "near_seized_container"]
    assert [(s.at, s.evidence["zone"]) for s in near] == [(at(-8), "YARD B12"), (at(-7), "YARD B")]
    assert near[0].employee_id == employee_id and near[0].evidence["container_number"] == seized
    assert near[0].evidence["hours_before"] == 38.0 and "seized 38.0 h later" in near[0].reason
    assert _kinds(signals) == ["near_seized_container", "near_seized_container"]  # the night shift is theirs
    results = _consults(staff, "control_result")
    assert results and results[-1].justification == REASON
    with staff.session() as session:
        shorter = service.insider_signals(
            session, actor=staff.police.principal, justification=REASON, window=timedelta(hours=37.5)
        )
    assert [s.at for s in shorter if s.kind == "near_seized_container"] == [at(-7)]


def test_a_terminal_that_cannot_read_the_seizure_gets_no_such_signal(staff: Staff):
    _near_seizure_case(staff)
    with staff.session() as session:
        signals = service.insider_signals(session, actor=staff.security.principal)
    assert "near_seized_container" not in _kinds(signals)


def test_a_seizure_customs_keep_to_themselves_raises_nothing_for_police(staff: Staff):
    _near_seizure_case(staff, handling=Handling.AMBER)
    with staff.session() as session:
        signals = service.insider_signals(session, actor=staff.police.principal, justification=REASON)
    assert "near_seized_container" not in _kinds(signals)


def test_signal_parameters_are_bounded(staff: Staff):
    hire(staff)
    with pytest.raises(InvalidInput), staff.session() as session:
        service.insider_signals(session, actor=staff.security.principal, tolerance=timedelta(hours=7))
    with pytest.raises(InvalidInput), staff.session() as session:
        service.insider_signals(session, actor=staff.security.principal, window=timedelta(0))
