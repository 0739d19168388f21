"""Declarations and controls over HTTP: upload, list with filters, read, ingest report, controls, sharing."""

from __future__ import annotations

import json

from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer
from tests.declarations.test_ingest import declaration


def _jsonl(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _upload(client, headers, content: bytes, name: str = "ens.jsonl", **form):
    return client.post(
        "/api/declarations/ingest", headers=headers, files={"file": (name, content)}, data={"format": "ics2", **form}
    )


def test_upload_list_read_and_report(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    headers = bearer(db, analyst)
    cocoa = declaration("C1", country_of_departure="CI", port_of_loading="CIABJ")
    cocoa["goods"][0].update(hs_code="180100", description="Cocoa beans", country_of_origin="CI")
    first = _upload(client, headers, _jsonl(declaration("B1"), cocoa))
    assert first.status_code == 200 and first.json()["status"] == "committed" and first.json()["declarations"] == 2
    again = _upload(client, headers, _jsonl(declaration("B1"), cocoa), name="copy.jsonl")
    assert again.json()["status"] == "duplicate" and again.json()["duplicate_of"] == first.json()["ingest_id"]

    listed = client.get("/api/declarations", headers=headers).json()
    assert listed["total"] == 2
    assert [d["ref"] for d in client.get("/api/declarations?hs=1801", headers=headers).json()["items"]] == ["C1"]
    assert [d["ref"] for d in client.get("/api/declarations?origin=ec", headers=headers).json()["items"]] == ["B1"]
    assert [d["ref"] for d in client.get("/api/declarations?ref=C", headers=headers).json()["items"]] == ["C1"]
    assert client.get("/api/declarations?ref=%25", headers=headers).json()["total"] == 0  # LIKE wildcards escaped
    one = client.get(f"/api/declarations/{analyst.org_id}:B1", headers=headers).json()
    assert one["containers"][0]["number"] == "CSQU3054383"
    assert {p["role"] for p in one["parties"]} == {"consignor", "consignee"}

    bad = declaration("B2", lodged_at="2026-02-30T00:00:00Z")
    rejected = _upload(client, headers, _jsonl(bad), name="bad.jsonl").json()
    assert rejected["status"] == "rejected"
    report = client.get(f"/api/ingests/{rejected['ingest_id']}", headers=headers).json()
    assert report["errors"][0]["row"] == 1 and report["errors"][0]["field"] == "lodged_at"
    history = client.get("/api/ingests", headers=headers).json()
    assert [i["status"] for i in history["items"]] == ["rejected", "committed"]  # the duplicate writes nothing


def test_other_customs_and_private_sector_see_nothing_of_amber(client, db, make_user):
    nl = make_user(Role.CUSTOMS_ANALYST)
    be = make_user(Role.CUSTOMS_ANALYST)
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    _upload(client, bearer(db, nl), _jsonl(declaration("B1")))
    assert client.get("/api/declarations", headers=bearer(db, be)).json()["total"] == 0
    assert client.get(f"/api/declarations/{nl.org_id}:B1", headers=bearer(db, be)).status_code == 404
    assert client.get("/api/declarations", headers=bearer(db, terminal)).json()["total"] == 0
    assert client.get("/api/ingests", headers=bearer(db, terminal)).status_code == 403


def test_an_upload_shared_with_a_group_is_read_by_its_members(client, db, make_org, make_user):
    from portguard.sharing import service as sharing
    from portguard.sharing.models import GroupIn

    nl_org, be_org = make_org(), make_org()
    with db.session() as s:
        group = sharing.create_group(s, actor=None, data=GroupIn(name="Alliance", org_ids=[nl_org, be_org])).id
    nl, be = make_user(Role.CUSTOMS_ANALYST, org_id=nl_org), make_user(Role.CUSTOMS_ANALYST, org_id=be_org)
    outsider = make_user(Role.CUSTOMS_ANALYST)
    refused = _upload(client, bearer(db, outsider), _jsonl(declaration("X1")), sharing_group_id=group)
    assert refused.status_code == 422 and "not a member" in refused.json()["detail"]
    shared = _upload(client, bearer(db, nl), _jsonl(declaration("B1")), sharing_group_id=group)
    assert shared.json()["status"] == "committed"
    one = client.get(f"/api/declarations/{nl_org}:B1", headers=bearer(db, be))
    assert one.status_code == 200 and one.json()["sharing_group_id"] == group
    assert client.get(f"/api/declarations/{nl_org}:B1", headers=bearer(db, outsider)).status_code == 404


def test_control_order_and_result(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    officer = make_user(Role.INSPECTION_OFFICER, org_id=analyst.org_id)
    _upload(client, bearer(db, analyst), _jsonl(declaration("B1")))
    decl_id = f"{analyst.org_id}:B1"
    order = client.post(
        "/api/controls/orders",
        headers=bearer(db, analyst),
        json={"declaration_id": decl_id, "kind": "scan", "reason_kind": "manual"},
    )
    assert order.status_code == 201 and order.json()["status"] == "open"
    seizure_without_goods = client.post(
        "/api/controls/results",
        headers=bearer(db, officer),
        json={"order_id": order.json()["id"], "outcome": "seizure"},
    )
    assert seizure_without_goods.status_code == 422
    result = client.post(
        "/api/controls/results",
        headers=bearer(db, officer),
        json={
            "order_id": order.json()["id"],
            "outcome": "seizure",
            "goods": "cocaine",
            "quantity_kg": 212.5,
            "drug_type": "cocaine",
            "concealment": "reefer cooling unit",
        },
    )
    assert result.status_code == 201 and result.json()["critical"] is True
    controls = client.get(f"/api/controls/declarations/{decl_id}", headers=bearer(db, analyst)).json()
    assert [o["status"] for o in controls["orders"]] == ["done"]
    assert controls["results"][0]["officer"] == officer.username
