"""The tracking API: DCSA batches in (3.0 and 2.2), feedback per bad event, timelines and the alert inbox, with
authentication and access checks on every route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer
from tests.tracking.conftest import BOX, clean_import, dcsa

DCSA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dcsa"


@pytest.fixture
def terminal(make_user):
    return make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)


def test_every_tracking_route_needs_authentication(client):
    assert client.post("/api/tracking/events", json={"events": [dcsa("DISC")]}).status_code == 401
    assert client.get(f"/api/tracking/containers/{BOX}").status_code == 401
    assert client.get("/api/tracking/alerts").status_code == 401
    assert client.post("/api/tracking/alerts/alr_x/ack").status_code == 401


def test_a_haulier_without_port_security_role_cannot_post(client, db, make_user):
    admin = make_user(Role.ORG_ADMIN, kind=OrgKind.HAULIER)
    r = client.post("/api/tracking/events", json={"events": [dcsa("DISC")]}, headers=bearer(db, admin))
    assert r.status_code == 403 and "event:write" in r.json()["detail"]


def test_post_a_batch_then_read_the_timeline_and_alerts(client, db, terminal):
    h = bearer(db, terminal)
    rip = [*clean_import(), dcsa("DRO", 300, spot="YARD B12"), dcsa("DRC", 320)]
    r = client.post("/api/tracking/events", json={"events": rip}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["accepted"] == len(rip) and body["feedbackElements"] == []
    assert [a["detector"] for a in body["alerts"]] == ["door_open"]
    timeline = client.get(f"/api/tracking/containers/{BOX}", headers=h).json()
    assert [e["code"] for e in timeline["events"]][:2] == ["DISC", "LOC"]
    assert timeline["state"]["status"] == "gated out" and len(timeline["alerts"]) == 1
    alerts = client.get("/api/tracking/alerts", params={"status": "open"}, headers=h).json()
    assert alerts["total"] == 1
    alert_id = alerts["items"][0]["id"]
    acked = client.post(f"/api/tracking/alerts/{alert_id}/ack", json={"note": "checked on camera"}, headers=h).json()
    assert acked["status"] == "acknowledged" and acked["note"] == "checked on camera"
    assert client.get("/api/tracking/alerts", params={"status": "open"}, headers=h).json()["total"] == 0


def test_bad_events_get_feedback_and_a_batch_of_only_bad_events_is_422(client, db, terminal):
    h = bearer(db, terminal)
    bad = dcsa("DISC", 0)
    bad["equipmentDetails"]["equipmentReference"] = "NOT-A-BOX"
    r = client.post("/api/tracking/events", json={"events": [bad, dcsa("DISC", 1, empty=False)]}, headers=h)
    assert r.status_code == 200
    fb = r.json()["feedbackElements"]
    assert len(fb) == 1 and fb[0]["propertyPath"] == "$.events[0]" and "ISO 6346" in fb[0]["message"]
    r = client.post("/api/tracking/events", json={"events": [bad]}, headers=h)
    assert r.status_code == 422 and r.json()["feedbackElements"][0]["severity"] == "ERROR"
    assert (
        client.post(
            "/api/tracking/events", content=b"{not json", headers={**h, "Content-Type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/api/tracking/events", json={"events": []}, headers=h).status_code == 422
    out_of_range = dcsa("DISC", 0)
    out_of_range["eventDateTime"] = "1970-01-01T00:00:00Z"
    r = client.post("/api/tracking/events", json=[out_of_range], headers=h)
    assert r.status_code == 422 and "2000" in r.json()["feedbackElements"][0]["message"]


@pytest.mark.skipif(not DCSA.exists(), reason="the shared DCSA examples are not beside the checkout")
def test_the_dcsa_examples_of_both_versions_are_accepted(client, db, terminal):
    h = bearer(db, terminal)
    v30 = json.loads((DCSA / "tnt-300-example-equipment-event.json").read_text())["events"]
    v30 += json.loads((DCSA / "tnt-300-example-iot-event.json").read_text())["events"]
    v22 = json.loads((DCSA / "tnt-220-example-response.json").read_text())
    r = client.post("/api/tracking/events", json={"events": v30 + v22}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["accepted"] == len(v30) + len(v22)
    codes = [e["code"] for e in client.get("/api/tracking/containers/APZU4812090", headers=h).json()["events"]]
    assert "DRO" in codes and "LOAD" in codes
