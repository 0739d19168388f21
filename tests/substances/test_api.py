"""The substances API with bearer tokens, on both back-ends: an analyst registers a new substance, alerts the
subscribed authorities (delivered to a real webhook receiver, signed, and to NATS JetStream), and sees who
acknowledged and what each decided; the registry's files and drawings; screening; who sees nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portguard.core.policy import OrgKind, Role
from portguard.substances import service
from tests.conftest import bearer
from tests.substances.conftest import DATA
from tests.substances.delivery_helpers import Receiver, purge, require_nats, stored, unique_subject

PROBLEM = "application/problem+json"
SECRET = "a-long-shared-webhook-secret"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def parties(db, make_user, make_org, precursors) -> dict[str, Any]:
    eu = make_org(kind=OrgKind.EU_AGENCY, country="PT")
    nl = make_org(country="NL")
    be = make_org(country="BE")
    users = {
        "eu": make_user(Role.CUSTOMS_ANALYST, Role.ALERT_FOCAL_POINT, org_id=eu),
        "nl_focal": make_user(Role.ALERT_FOCAL_POINT, org_id=nl),
        "be_focal": make_user(Role.ALERT_FOCAL_POINT, org_id=be),
        "terminal": make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR),
    }
    with db.session() as s:
        service.seed(s, actor=users["eu"].principal, data_dir=DATA)
    return {"users": users, "tokens": {k: bearer(db, u) for k, u in users.items()}}


def test_register_alert_deliver_acknowledge_and_decide(client: TestClient, parties):
    require_nats()
    tokens, users = parties["tokens"], parties["users"]
    subject = unique_subject()
    substance = _ok(
        client.post(
            "/api/substances",
            json={"name": "Isopropyl BMK glycidate", "smiles": "CC(C)OC(=O)C1(C)OC1c1ccccc1", "handling": "GREEN"},
            headers=tokens["eu"],
        ),
        201,
    )
    assert substance["kind"] == "designer_precursor" and substance["group"] == "amphetamine"
    with Receiver(secret=SECRET, answers=[]) as receiver:
        _ok(
            client.post(
                "/api/alert-subscriptions",
                json={
                    "name": "NL amphetamine",
                    "substance_groups": ["amphetamine"],
                    "webhook_url": receiver.url,
                    "webhook_secret": SECRET,
                    "nats_subject": subject,
                },
                headers=tokens["nl_focal"],
            ),
            201,
        )
        _ok(
            client.post(
                "/api/alert-subscriptions",
                json={"name": "BE cocaine", "substance_groups": ["cocaine"], "nats_subject": unique_subject()},
                headers=tokens["be_focal"],
            ),
            201,
        )
        draft = _ok(
            client.post(
                "/api/alerts",
                json={
                    "type": "formal_notification",
                    "title": "New BMK glycidate ester",
                    "substance_id": substance["id"],
                    "risk_type": "an unscheduled BMK pre-precursor",
                    "risk_origin": "suppliers in China",
                    "analytical_data": "GC-MS",
                },
                headers=tokens["eu"],
            ),
            201,
        )
        sent = _ok(client.post(f"/api/alerts/{draft['id']}/send", headers=tokens["eu"]))
        # TestClient runs the background deliveries before returning
        assert [r["org_id"] for r in sent["recipients"]] == [users["nl_focal"].org_id]
        assert len(receiver.received) == 1 and receiver.received[0].verified
        body = json.loads(receiver.received[0].body)
        assert (body["id"], body["kind"], body["substance"]["smiles"]) == (draft["id"], "alert", substance["smiles"])
    messages, count = stored(subject)
    assert count == 1 and json.loads(messages[0].data)["id"] == draft["id"]
    purge([subject])

    inbox = _ok(client.get("/api/alerts", params={"box": "inbox"}, headers=tokens["nl_focal"]))
    assert [a["id"] for a in inbox["items"]] == [draft["id"]]
    assert _ok(client.get("/api/alerts", params={"box": "inbox"}, headers=tokens["be_focal"]))["items"] == []
    acked = _ok(client.post(f"/api/alerts/{draft['id']}/ack", json={}, headers=tokens["nl_focal"]))
    assert acked["acknowledged_at"] and acked["decision"] is None
    decided = _ok(
        client.post(
            f"/api/alerts/{draft['id']}/decision",
            json={"decision": "object", "note": "one consignment held"},
            headers=tokens["nl_focal"],
        )
    )
    assert decided["decision"] == "object"
    seen = _ok(client.get(f"/api/alerts/{draft['id']}", headers=tokens["eu"]))
    (recipient,) = seen["recipients"]
    assert (recipient["decision"], recipient["decision_note"], recipient["overdue"]) == (
        "object",
        "one consignment held",
        False,
    )
    assert sorted((d["channel"], d["status"]) for d in seen["deliveries"]) == [
        ("nats", "delivered"),
        ("webhook", "delivered"),
    ]
    problem = client.post(f"/api/alerts/{draft['id']}/decision", json={"decision": "clear"}, headers=tokens["be_focal"])
    assert problem.status_code == 404 and problem.headers["content-type"].startswith(PROBLEM)
    subs = _ok(client.get("/api/alert-subscriptions", headers=tokens["nl_focal"]))
    assert subs[0]["webhook_signed"] is True and SECRET not in json.dumps(subs)


def test_files_drawings_and_screening_through_http(client: TestClient, parties, precursors):
    tokens = parties["tokens"]
    found = _ok(client.get("/api/substances", params={"q": "103-79-7"}, headers=tokens["nl_focal"]))
    (bmk,) = found["items"]
    svg = client.get(f"/api/substances/{bmk['id']}/structure.svg", headers=tokens["nl_focal"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    exported = client.get("/api/substances/export", params={"format": "csv"}, headers=tokens["nl_focal"])
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["content-type"].startswith("text/csv") and len(rows) == len(precursors.records)
    uploaded = _ok(
        client.post(
            "/api/substances/import",
            files={"file": ("eu.csv", exported.content, "text/csv")},
            data={"handling": "AMBER"},
            headers=tokens["nl_focal"],
        )
    )
    assert uploaded["created"] == len(precursors.records)
    hits = _ok(
        client.post("/api/substances/screen", json={"description": "Fenilacetona, 200 kg"}, headers=tokens["nl_focal"])
    )
    assert hits and hits[0]["substance_name"] == "1-Phenyl-2-propanone" and hits[0]["reason"]
    bad = client.post("/api/substances", json={"name": "x", "cas": "103-79-8"}, headers=tokens["nl_focal"])
    assert bad.status_code == 422 and "check digit" in bad.text


def test_a_private_operator_sees_nothing_and_may_do_nothing(client: TestClient, parties):
    tokens = parties["tokens"]
    assert _ok(client.get("/api/substances", headers=tokens["terminal"]))["total"] == 0
    assert _ok(client.get("/api/alerts", headers=tokens["terminal"]))["total"] == 0
    refused = client.post("/api/substances", json={"name": "Anything"}, headers=tokens["terminal"])
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/substances").status_code == 401
