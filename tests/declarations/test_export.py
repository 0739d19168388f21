"""CSV export of declarations over HTTP, on both back-ends: one row per goods item, formula-looking free text made
harmless in the file but stored (and served as JSON) unchanged, the list's filters and visibility, audited."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from portguard.core.audit import AuditEntry
from portguard.core.policy import Role
from portguard.declarations import service
from tests.conftest import bearer
from tests.declarations.test_ingest import declaration

EVIL_DESCRIPTION = '=HYPERLINK("http://evil.example/?x","click")'
EVIL_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
URL = "/api/declarations/export.csv"


def _jsonl(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _records() -> list[dict]:
    evil = declaration("XP-1", transport_document="-2+3")
    evil["goods"][0]["description"] = EVIL_DESCRIPTION
    evil["goods"].append(
        {
            "seq": 2,
            "hs_code": "180100",
            "description": 'Cocoa beans, "fine"\nsecond line',
            "gross_mass_kg": 1000.5,
            "value": 2500,
            "country_of_origin": "CI",
        }
    )
    evil["parties"][0]["name"] = EVIL_NAME
    plain = declaration("XP-2", lodged_at="2026-03-03T10:00:00Z")
    other = declaration("ZZ-9", office="BE000100", lodged_at="2026-03-01T00:00:00Z", country_of_departure="CR")
    return [evil, plain, other]


@pytest.fixture
def loaded(client, db, make_user):
    """An analyst, their headers, and three declarations (four goods items) loaded through the upload route."""
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)
    report = client.post(
        "/api/declarations/ingest",
        headers=headers,
        files={"file": ("ens.jsonl", _jsonl(*_records()))},
        data={"format": "ics2"},
    )
    assert report.status_code == 200 and report.json()["status"] == "committed", report.text
    return analyst, headers


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    reader = csv.reader(io.StringIO(response.text, newline=""))
    header = next(reader)
    assert tuple(header) == service.EXPORT_HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def _last_consult(db) -> AuditEntry | None:
    with db.session() as session:
        return session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "consult", AuditEntry.object_type == "declaration")
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()


def test_export_is_a_csv_attachment_with_one_row_per_goods_item(client, loaded):
    analyst, headers = loaded
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "text/csv"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and 'filename="declarations.csv"' in disposition
    rows = _rows(response)
    org = analyst.org_id
    # newest first, then goods in sequence
    assert [(r["id"], r["goods_seq"]) for r in rows] == [
        (f"{org}:XP-2", "1"),
        (f"{org}:XP-1", "1"),
        (f"{org}:XP-1", "2"),
        (f"{org}:ZZ-9", "1"),
    ]
    first, second = rows[1], rows[2]
    assert first["ref"] == second["ref"] == "XP-1" and first["type"] == "ENS"
    assert first["lodged_at"] == "2026-03-02T08:15:00+00:00"
    assert first["office"] == "NL000396" and first["owner_org_id"] == org
    assert first["hs_code"] == "080390" and second["hs_code"] == "180100"
    assert Decimal(first["gross_mass_kg"]) == 21000 and Decimal(second["gross_mass_kg"]) == Decimal("1000.5")
    assert second["net_mass_kg"] == "" and second["packages"] == ""
    assert first["containers"] == "CSQU3054383" and second["containers"] == ""
    assert first["consignee"] == second["consignee"] == "Fresh Fruit Imports B.V."
    assert first["declarant"] == "" and first["handling"] == "AMBER" and first["legal_regime"] == "GDPR"
    assert second["description"] == 'Cocoa beans, "fine"\nsecond line'  # commas, quotes, newline survive


def test_formula_text_is_prefixed_in_the_export_and_stored_unchanged(client, loaded):
    analyst, headers = loaded
    rows = _rows(client.get(URL, headers=headers))
    evil = [r for r in rows if r["ref"] == "XP-1"]
    assert evil[0]["description"] == "'" + EVIL_DESCRIPTION
    assert all(r["consignor"] == "'" + EVIL_NAME for r in evil)  # on every goods row of the declaration
    assert evil[0]["transport_document"] == "'-2+3"
    for row in rows:
        for column in ("description", "consignor", "consignee", "transport_document", "ref", "voyage"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])

    stored = client.get(f"/api/declarations/{analyst.org_id}:XP-1", headers=headers)
    assert stored.status_code == 200
    body = stored.json()
    assert body["goods"][0]["description"] == EVIL_DESCRIPTION
    assert body["parties"][0]["name"] == EVIL_NAME
    assert body["transport_document"] == "-2+3"


@pytest.mark.parametrize(
    ("query", "refs"),
    [
        ("ref=XP-", {"XP-1", "XP-2"}),
        ("ref=XP-1", {"XP-1"}),
        ("ref=%25", set()),  # LIKE wildcards are escaped, as in the list
        ("office=BE000100", {"ZZ-9"}),
        ("origin=cr", {"ZZ-9"}),
        ("hs=1801", {"XP-1"}),
        ("ref=XP-&office=BE000100", set()),
    ],
)
def test_filters_narrow_the_export_as_they_narrow_the_list(client, loaded, query, refs):
    _, headers = loaded
    rows = _rows(client.get(f"{URL}?{query}", headers=headers))
    assert {r["ref"] for r in rows} == refs
    listed = client.get(f"/api/declarations?{query}", headers=headers).json()["items"]
    assert {d["ref"] for d in listed} == refs
    if query == "hs=1801":
        assert len(rows) == 2  # the matching declaration with all its goods items


def test_a_user_of_another_organisation_exports_nothing(client, db, loaded, make_user):
    stranger = make_user(Role.CUSTOMS_ANALYST)
    before = _last_consult(db)
    response = client.get(URL, headers=bearer(db, stranger))
    assert _rows(response) == []
    after = _last_consult(db)
    assert (after.seq if after else None) == (before.seq if before else None)  # nothing consulted, nothing logged


def test_the_export_is_audited_as_a_consult_of_every_exported_declaration(client, db, loaded):
    analyst, headers = loaded
    rows = _rows(client.get(f"{URL}?ref=XP-", headers=headers))
    entry = _last_consult(db)
    assert entry is not None
    assert entry.user_id == analyst.user_id and entry.org_id == analyst.org_id
    assert (
        sorted(entry.detail["ids"])
        == sorted({r["id"] for r in rows})
        == [
            f"{analyst.org_id}:XP-1",
            f"{analyst.org_id}:XP-2",
        ]
    )


def test_an_unauthenticated_export_is_refused(client, loaded):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "XP-1" not in response.text


def test_a_role_without_declaration_read_is_refused_even_in_the_owning_organisation(client, db, loaded, make_user):
    analyst, _ = loaded
    admin = make_user(Role.ORG_ADMIN, org_id=analyst.org_id)
    response = client.get(URL, headers=bearer(db, admin))
    assert response.status_code == 403
    assert "XP-1" not in response.text


def test_an_export_larger_than_the_limit_is_refused(client, db, loaded, monkeypatch):
    _, headers = loaded
    monkeypatch.setattr(service, "EXPORT_LIMIT", 2)
    before = _last_consult(db)
    refused = client.get(URL, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["status"] == 422 and "narrow the filters" in problem["detail"]
    after = _last_consult(db)
    assert (after.seq if after else None) == (before.seq if before else None)  # refused: nothing was consulted
    assert {r["ref"] for r in _rows(client.get(f"{URL}?ref=XP-", headers=headers))} == {"XP-1", "XP-2"}  # = limit
