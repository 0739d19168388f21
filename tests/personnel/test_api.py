"""The personnel API with bearer tokens, on both back-ends: register, list, read, change, import, access events and
signals through HTTP; who gets 403, 404 and 428 (as RFC 9457 problems); and the pages' forms (CSRF, refusals shown
on the page, the police's justification carried from page to page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, login
from tests.personnel.conftest import Staff, at, box, hire, placed, shared, track
from tests.personnel.test_service import GOOD, REASON

PROBLEM = "application/problem+json"


@pytest.fixture
def tokens(staff: Staff) -> dict[str, dict[str, str]]:
    """A bearer header per party."""
    names = ("security", "admin", "other_terminal", "customs", "police", "other_police")
    return {name: bearer(staff.db, getattr(staff, name)) for name in names}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return dict(body)


BODY = {
    "name": "Femke Bakker",
    "job_role": "yard planner",
    "badge_id": "DCT-0042",
    "vetting_status": "cleared",
    "vetting_expires": "2027-06-30",
    "country": "NL",
    "phone": "06 1234 5678",
    "shift_start": 8,
    "shift_end": 17,
    "shift_days": ["mon", "tue", "wed", "thu", "fri"],
    "work_areas": ["YARD"],
}


def test_the_register_through_the_api(client: TestClient, staff: Staff, tokens):
    created = _ok(client.post("/api/personnel/employees", json=BODY, headers=tokens["security"]), 201)
    assert (created["badge_id"], created["phone"], created["vetting_status"], created["handling"]) == (
        "DCT-0042",
        "+31612345678",
        "cleared",
        "AMBER+STRICT",
    )
    eid = created["id"]
    listed = _ok(client.get("/api/personnel/employees", headers=tokens["security"]))
    assert listed["total"] == 1 and listed["items"][0]["id"] == eid
    changed = _ok(
        client.patch(
            f"/api/personnel/employees/{eid}",
            json={"handling": "AMBER", "sharing_group_id": staff.group_id},
            headers=tokens["security"],
        )
    )
    assert (changed["handling"], changed["sharing_group_id"]) == ("AMBER", staff.group_id)

    # police: 428 without a reason, the record with one
    body = _problem(client.get(f"/api/personnel/employees/{eid}", headers=tokens["police"]), 428)
    assert "justification" in body["detail"]
    _problem(client.get("/api/personnel/employees", headers=tokens["police"]), 428)
    with_reason = tokens["police"] | {"X-Justification": REASON}
    assert _ok(client.get(f"/api/personnel/employees/{eid}", headers=with_reason))["name"] == "Femke Bakker"
    assert _ok(client.get("/api/personnel/employees", headers=with_reason))["total"] == 1
    _problem(client.patch(f"/api/personnel/employees/{eid}", json={"name": "X Y"}, headers=with_reason), 403)
    # another terminal in the group: not found; customs and the org admin: no employee:read
    _problem(client.get(f"/api/personnel/employees/{eid}", headers=tokens["other_terminal"]), 404)
    assert _ok(client.get("/api/personnel/employees", headers=tokens["other_terminal"]))["total"] == 0
    for who in ("customs", "admin"):  # no role of theirs grants employee:read: nobody to list, nobody to read
        assert _ok(client.get("/api/personnel/employees", headers=tokens[who]))["total"] == 0
        _problem(client.get(f"/api/personnel/employees/{eid}", headers=tokens[who]), 404)
        _problem(client.patch(f"/api/personnel/employees/{eid}", json={"name": "X Y"}, headers=tokens[who]), 403)
    _problem(
        client.get(f"/api/personnel/employees/{eid}", headers=tokens["other_police"] | {"X-Justification": REASON}), 404
    )
    # bad input: 422 problems naming the field
    bad = _problem(
        client.post("/api/personnel/employees", json=BODY | {"badge_id": "!"}, headers=tokens["security"]), 422
    )
    assert any(e["loc"][-1] == "badge_id" for e in bad["errors"])
    again = _problem(client.post("/api/personnel/employees", json=BODY, headers=tokens["security"]), 422)
    assert "already registered" in again["detail"]
    _problem(
        client.post("/api/personnel/employees", json=BODY | {"shift_start": True}, headers=tokens["security"]), 422
    )
    _problem(client.get("/api/personnel/employees?vetting=soon", headers=tokens["security"]), 422)


def test_imports_and_signals_through_the_api(client: TestClient, staff: Staff, tokens):
    files = {"file": ("staff.csv", GOOD.encode(), "text/csv")}
    report = _ok(client.post("/api/personnel/employees/import", files=files, headers=tokens["security"]))
    assert (report["created"], report["unchanged"]) == (3, 0)
    bad = GOOD.replace(",NL,6,14", ",XX,6,14")
    files = {"file": ("bad.csv", bad.encode(), "text/csv")}
    problem = _problem(client.post("/api/personnel/employees/import", files=files, headers=tokens["security"]), 422)
    assert problem["errors"] == [
        {
            "row": 2,
            "field": "country",
            "loc": [2, "country"],
            "msg": "'XX' is not an ISO 3166-1 alpha-2 country code",
            "type": "value_error",
        }
    ]
    files = {"file": ("latin1.csv", "name\n\xe9".encode("latin-1"), "text/csv")}
    _problem(client.post("/api/personnel/employees/import", files=files, headers=tokens["security"]), 422)

    reefer = box(1)
    track(staff, placed(reefer, 0, "YARD R07-12-3"))
    events = [
        {"badge_id": "DCT-0101", "at": at(1).isoformat(), "kind": "system", "system": "N4", "container_number": reefer},
        {"badge_id": "DCT-0101", "at": at(20).isoformat(), "kind": "badge", "zone": "QUAY 4"},
    ]
    stored = _ok(client.post("/api/personnel/events", json={"events": events}, headers=tokens["security"]))
    assert (stored["accepted"], stored["duplicates"]) == (2, 0)
    jsonl = "\n".join(__import__("json").dumps(e) for e in events)
    files = {"file": ("again.jsonl", jsonl.encode(), "application/x-ndjson")}
    again = _ok(client.post("/api/personnel/events/import", files=files, headers=tokens["security"]))
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    _problem(client.post("/api/personnel/events", json={"events": events}, headers=tokens["other_terminal"]), 422)

    signals = _ok(client.get("/api/personnel/signals", headers=tokens["security"]))
    assert sorted(s["kind"] for s in signals) == ["lookup_outside_area", "outside_shift"]
    anouk = next(s["employee_id"] for s in signals)
    mine = _ok(client.get(f"/api/personnel/employees/{anouk}/signals", headers=tokens["security"]))
    assert mine == [s for s in signals if s["employee_id"] == anouk]
    log = _ok(client.get(f"/api/personnel/employees/{anouk}/events", headers=tokens["security"]))
    assert [e["kind"] for e in log] == ["system", "badge"]
    assert _ok(client.get(f"/api/personnel/employees/{anouk}/screenings", headers=tokens["security"])) == []
    _problem(client.get("/api/personnel/signals?tolerance_minutes=-1", headers=tokens["security"]), 422)


# ---------------------------------------------------------------- pages


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_register_page_and_its_form(client: TestClient, staff: Staff):
    hire(staff, "DCT-0001", vetting_expires="2020-01-01", name="Lapsed Lucas")
    login(client, staff.security.username)
    page = client.get("/personnel")
    assert page.status_code == 200 and "Lapsed Lucas" in page.text and "row-expired" in page.text
    token = _form_token(page.text)
    form = {
        "csrf_token": token,
        "name": "Noor Visser",
        "job_role": "gate clerk",
        "badge_id": "DCT-0077",
        "country": "NL",
        "shift_start": "6",
        "shift_end": "14",
        "shift_days": ["mon", "tue"],
        "work_areas": "GATE IN; GATE OUT",
    }
    added = client.post("/personnel/employees", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    detail = client.get(added.headers["location"])
    assert detail.status_code == 200 and "Noor Visser" in detail.text and "GATE IN, GATE OUT" in detail.text
    assert "TLP:AMBER+STRICT" in detail.text
    group = form | {"badge_id": "DCT-0079", "sharing_group_id": staff.group_id}
    amber = client.get(client.post("/personnel/employees", data=group, follow_redirects=False).headers["location"])
    assert "TLP:AMBER<" in amber.text and "Delta terminal security partners" in amber.text
    refused = client.post("/personnel/employees", data=form | {"badge_id": "DCT-0078", "country": "XX"})
    assert refused.status_code == 422 and "ISO 3166-1" in refused.text and 'id="personnel-error"' in refused.text
    no_csrf = client.post("/personnel/employees", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert no_csrf.status_code == 403
    assert client.get("/personnel/screening").status_code == 200
    assert client.get("/personnel?vetting=expired").text.count('class="row-expired"') == 1


def test_police_pages_ask_for_a_reason_and_carry_it(client: TestClient, staff: Staff):
    eid = shared(staff, "DCT-0002", name="Shared Sam")
    login(client, staff.police.username)
    ask = client.get("/personnel")
    assert ask.status_code == 200 and 'id="reason-form"' in ask.text and "Shared Sam" not in ask.text
    assert 'id="reason-form"' in client.get(f"/personnel/{eid}").text
    shown = client.get("/personnel", params={"justification": REASON})
    assert "Shared Sam" in shown.text and "add-form" not in shown.text
    assert f"/personnel/{eid}?justification=case%20ROTT-2026-114" in shown.text
    detail = client.get(f"/personnel/{eid}", params={"justification": REASON})
    assert detail.status_code == 200 and REASON in detail.text
