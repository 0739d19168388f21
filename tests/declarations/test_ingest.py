"""Ingest: all rows or none, once per content, errors naming file, row, field, value and reason; on both back-ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portguard.controls.models import ControlResult
from portguard.core.audit import AuditEntry
from portguard.core.errors import Forbidden, InvalidInput
from portguard.core.policy import Role
from portguard.declarations import service
from portguard.declarations.models import Container, Declaration, GoodsItem, Ingest, Party


def declaration(ref: str, **changes: Any) -> dict[str, Any]:
    """A valid ICS2-like declaration; `changes` override top-level fields."""
    base = {
        "ref": ref,
        "lodged_at": "2026-03-02T08:15:00Z",
        "office": "NL000396",
        "transport_document": "MAEU123456789",
        "vessel_imo": "9321483",
        "port_of_loading": "ECGYE",
        "port_of_discharge": "NLRTM",
        "country_of_departure": "EC",
        "route_countries": ["EC", "PA", "NL"],
        "parties": [
            {
                "role": "consignor",
                "name": "Frutas del Pacífico S.A.",
                "address": {"city": "Guayaquil", "country": "EC"},
            },
            {
                "role": "consignee",
                "name": "Fresh Fruit Imports B.V.",
                "eori": "NL123456789",
                "iban": "NL91ABNA0417164300",
                "phone": "+31 10 123 4567",
                "address": {"country": "NL"},
            },
        ],
        "goods": [
            {
                "seq": 1,
                "hs_code": "080390",
                "description": "Fresh bananas",
                "gross_mass_kg": 21000,
                "net_mass_kg": 19800,
                "value": 18500,
                "packages": 1080,
                "country_of_origin": "EC",
                "containers": ["CSQU3054383"],
            }
        ],
        "containers": [{"number": "CSQU3054383", "seals": ["EU1234567"], "size_type": "45R1"}],
    }
    base.update(changes)
    return base


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def load(db, **kwargs: Any) -> service.IngestReport:
    """Run an ingest in its own transaction, as the CLI does."""
    with db.session() as session:
        return service.ingest(session, **kwargs)


def counts(db) -> dict[str, int]:
    with db.session() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
            for t in (Declaration, GoodsItem, Container, Party, ControlResult)
        }


@pytest.fixture
def analyst(make_user):
    return make_user(Role.CUSTOMS_ANALYST)


def test_a_valid_file_is_stored_whole_with_provenance_and_audit(db, analyst, tmp_path):
    path = write_jsonl(tmp_path / "ens.jsonl", [declaration(f"R{i}") for i in range(12)])
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert (report.status, report.rows_read, report.declarations, report.errors) == ("committed", 12, 12, [])
    assert counts(db) == {
        "declarations": 12,
        "goods_items": 12,
        "declaration_containers": 12,
        "declaration_parties": 24,
        "control_results": 0,
    }
    with db.session() as s:
        ingest = s.get(Ingest, report.ingest_id)
        assert ingest is not None and ingest.status == "committed" and ingest.file_sha256 == report.sha256
        assert ingest.user_id == analyst.user_id and ingest.finished_at is not None
        entry = s.scalars(select(AuditEntry).where(AuditEntry.object_id == report.ingest_id)).one()
        assert (
            entry.action == "collect" and entry.detail["declarations"] == 12 and entry.detail["status"] == "committed"
        )
        decl = s.get(Declaration, f"{analyst.org_id}:R3")
        assert decl is not None and decl.owner_org_id == analyst.org_id and decl.goods[0].hs_code == "080390"


def test_the_same_content_twice_writes_nothing_new(db, analyst, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [declaration("R1"), declaration("R2")])
    first = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    copy = tmp_path / "renamed.jsonl"
    copy.write_bytes(path.read_bytes())
    second = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=copy, format="ics2")
    assert (second.status, second.duplicate_of) == ("duplicate", first.ingest_id)
    assert counts(db)["declarations"] == 2


def test_one_bad_row_rejects_the_file_and_names_row_field_value(db, analyst, tmp_path):
    bad_container = declaration("R2", containers=[{"number": "CSQU3054384"}])
    bad_container["goods"][0]["containers"] = ["CSQU3054384"]
    records = [declaration("R1"), bad_container, declaration("R3", port_of_loading="XXYYY")]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert report.status == "rejected"
    where = {(e.row, e.field, e.value) for e in report.errors}
    assert (2, "containers.0.number", "CSQU3054384") in where
    assert (3, "port_of_loading", "XXYYY") in where
    check = next(e for e in report.errors if e.field == "containers.0.number")
    assert "check digit" in check.reason and "expected 3" in check.reason
    assert counts(db)["declarations"] == 0
    with db.session() as s:
        stored = s.get(Ingest, report.ingest_id)
        assert stored is not None and stored.status == "rejected" and stored.error_count == len(report.errors)


def test_duplicate_references_in_one_file_and_across_files(db, analyst, tmp_path):
    dup = write_jsonl(tmp_path / "dup.jsonl", [declaration("R1"), declaration("R1")])
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=dup, format="ics2")
    assert report.status == "rejected"
    assert [(e.row, e.field, e.reason) for e in report.errors] == [
        (2, "ref", "duplicate declaration reference (first at row 1)")
    ]
    first = write_jsonl(tmp_path / "one.jsonl", [declaration("R1")])
    ok = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=first, format="ics2")
    assert ok.status == "committed"
    again = write_jsonl(tmp_path / "two.jsonl", [declaration("R9"), declaration("R1", office="NL000510")])
    clash = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=again, format="ics2")
    assert clash.status == "rejected"
    assert [(e.row, e.reason) for e in clash.errors] == [(2, f"declaration already stored by ingest {ok.ingest_id}")]
    assert counts(db)["declarations"] == 1


def test_max_errors_stops_early(db, analyst, tmp_path):
    path = write_jsonl(tmp_path / "many.jsonl", [declaration(f"R{i}", office="") for i in range(50)])
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2", max_errors=5)
    assert report.status == "rejected" and len(report.errors) == 5 and report.rows_read == 5


def test_only_analysts_load_and_only_into_their_own_org(db, make_user, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [declaration("R1")])
    officer = make_user(Role.INSPECTION_OFFICER)
    with pytest.raises(Forbidden):
        load(db, actor=officer.principal, owner_org_id=officer.org_id, path=path, format="ics2")
    analyst = make_user(Role.CUSTOMS_ANALYST)
    with pytest.raises(Forbidden):
        load(db, actor=analyst.principal, owner_org_id=officer.org_id, path=path, format="ics2")
    assert counts(db)["declarations"] == 0


def test_other_organisations_do_not_see_amber_declarations(db, make_user, tmp_path):
    nl = make_user(Role.CUSTOMS_ANALYST)
    be = make_user(Role.CUSTOMS_ANALYST)
    path = write_jsonl(tmp_path / "x.jsonl", [declaration("R1")])
    load(db, actor=nl.principal, owner_org_id=nl.org_id, path=path, format="ics2")
    with db.session() as s:
        assert service.list_declarations(s, actor=nl.principal)[1] == 1
        assert service.list_declarations(s, actor=be.principal)[1] == 0


def test_declarations_shared_with_a_group_are_seen_by_its_members_only(db, make_org, make_user, tmp_path):
    from portguard.sharing import service as sharing
    from portguard.sharing.models import GroupIn

    nl_org, be_org, de_org = make_org(), make_org(), make_org()
    with db.session() as s:
        group = sharing.create_group(s, actor=None, data=GroupIn(name="Alliance", org_ids=[nl_org, be_org])).id
    nl, be, de = (make_user(Role.CUSTOMS_ANALYST, org_id=org) for org in (nl_org, be_org, de_org))
    path = write_jsonl(tmp_path / "x.jsonl", [declaration("R1"), declaration("R2")])
    # an organisation cannot share with a group it is not in
    with pytest.raises(InvalidInput, match="not a member of sharing group"):
        load(db, actor=de.principal, owner_org_id=de_org, path=path, format="ics2", sharing_group_id=group)
    report = load(db, actor=nl.principal, owner_org_id=nl_org, path=path, format="ics2", sharing_group_id=group)
    assert report.status == "committed", report.errors
    with db.session() as s:
        assert s.scalars(select(Declaration.sharing_group_id)).all() == [group, group]
        assert s.scalar(select(Ingest.sharing_group_id)) == group
        assert service.list_declarations(s, actor=be.principal)[1] == 2
        assert service.list_declarations(s, actor=de.principal)[1] == 0
    # the control results a labelled set carries are shared the same way
    kcs = tmp_path / "kcs.csv"
    kcs.write_text(
        "Declaration ID,Date,Office ID,Process Type,Import Type,Import Use,Payment Type,Mode of Transport,"
        "Declarant ID,Importer ID,Seller ID,Courier ID,HS6 Code,Country of Departure,Country of Origin,Tax Rate,"
        "Tax Type,Country of Origin Indicator,Net Mass,Item Price,Fraud,Critical Fraud\n"
        "97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,G,108.0,372254.4,1,2\n",
        encoding="utf-8",
    )
    report = load(db, actor=nl.principal, owner_org_id=nl_org, path=kcs, format="kcs", sharing_group_id=group)
    assert report.status == "committed", report.errors
    with db.session() as s:
        results = s.scalars(select(ControlResult)).all()
        assert [(r.outcome, r.critical, r.sharing_group_id) for r in results] == [("irregularity", True, group)]
