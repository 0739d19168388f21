"""The release API with bearer tokens, on both back-ends: the chain through HTTP, the driver token shown once, and the
401/403/404/422 answers as RFC 9457 problems; the pages' forms (CSRF, refusals shown on the page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portguard.release.models import ReleaseRight
from tests.conftest import bearer, login
from tests.release.test_service import Port, container, port  # noqa: F401 - the fixture

PROBLEM = "application/problem+json"


@pytest.fixture
def tokens(port: Port) -> dict[str, dict[str, str]]:  # noqa: F811
    """A bearer header per party of the port."""
    names = ("line", "forwarder", "haulier", "haulier2", "terminal", "customs", "police", "outsider", "other_terminal")
    return {name: bearer(port.db, getattr(port, name)) for name in names}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return dict(body)


def _issue(client: TestClient, port: Port, tokens: dict[str, dict[str, str]], number: str) -> dict[str, Any]:  # noqa: F811
    body = {
        "container_number": number,
        "transport_document": "NSLU-BL-77",
        "consignee": "Fresh Fruit Imports BV",
        "terminal_org_id": port.terminal.org_id,
        "sharing_group_id": port.group_id,
    }
    return dict(_ok(client.post("/api/release/rights", json=body, headers=tokens["line"]), 201))


def test_the_chain_through_the_api(client: TestClient, port: Port, tokens):  # noqa: F811
    number = container(1)
    right = _issue(client, port, tokens, number)
    assert right["status"] == "issued" and right["holder_org_id"] == port.line.org_id
    assert {k: v["ok"] for k, v in right["lights"].items()} == {"commercial": True, "customs": False, "terminal": False}
    rid = right["id"]

    _ok(
        client.post(
            f"/api/release/rights/{rid}/transfer", json={"to_org_id": port.haulier.org_id}, headers=tokens["line"]
        )
    )
    created = _ok(
        client.post(
            "/api/release/drivers", json={"name": "Jan", "document_number": "NL-123"}, headers=tokens["haulier"]
        ),
        201,
    )
    token = created["token"]
    assert token.startswith("pgd_")
    listed = _ok(client.get("/api/release/drivers", headers=tokens["haulier"]))
    assert [d["id"] for d in listed] == [created["id"]] and "token" not in listed[0]
    assert _ok(client.get("/api/release/drivers", headers=tokens["line"])) == []
    at_driver = _ok(
        client.post(f"/api/release/rights/{rid}/assign", json={"driver_id": created["id"]}, headers=tokens["haulier"])
    )
    assert at_driver["status"] == "at_driver" and at_driver["driver_id"] == created["id"]
    for who, light in (("customs", "customs"), ("terminal", "terminal")):
        _ok(client.post(f"/api/release/rights/{rid}/lights", json={"light": light, "ok": True}, headers=tokens[who]))

    gate = {"container_number": number.lower(), "driver_token": token}
    decision = _ok(client.post("/api/release/gate", json=gate, headers=tokens["terminal"]))
    assert decision["allowed"] is True and decision["right_id"] == rid and decision["container_number"] == number
    denied = _ok(client.post("/api/release/gate", json=gate, headers=tokens["terminal"]))
    assert denied["allowed"] is False and "already used" in denied["reason"] and len(denied["alert_ids"]) == 1

    detail = _ok(client.get(f"/api/release/rights/{rid}", headers=tokens["police"]))
    assert detail["status"] == "used" and detail["used_at"]
    assert [s["action"] for s in detail["chain"]] == [
        "issued",
        "transferred",
        "assigned",
        "light",
        "light",
        "gate_allowed",
        "gate_denied",
    ]
    page = _ok(client.get(f"/api/release/rights?container={number}&status=used", headers=tokens["customs"]))
    assert page["total"] == 1 and page["items"][0]["id"] == rid
    assert _ok(client.get("/api/release/rights?held=true", headers=tokens["line"]))["total"] == 0
    assert _ok(client.get("/api/release/rights?held=true", headers=tokens["haulier"]))["total"] == 1
    assert token not in str(detail) and token not in str(page)


def test_unauthenticated_requests_get_401(client: TestClient, port: Port):  # noqa: F811
    for method, path in (
        ("GET", "/api/release/rights"),
        ("POST", "/api/release/rights"),
        ("GET", "/api/release/rights/rel_x"),
        ("POST", "/api/release/gate"),
        ("POST", "/api/release/drivers"),
    ):
        _problem(client.request(method, path, json={}), 401)


def test_forbidden_steps_get_403_with_the_reason(client: TestClient, port: Port, tokens):  # noqa: F811
    rid = _issue(client, port, tokens, container(2))["id"]
    problem = _problem(
        client.post(
            f"/api/release/rights/{rid}/transfer", json={"to_org_id": port.haulier.org_id}, headers=tokens["forwarder"]
        ),
        403,
    )
    assert problem["detail"] == f"release right {rid} is held by Northsea Shipping Line, not by your organisation"
    body = {
        "container_number": container(3),
        "transport_document": "B1",
        "consignee": "ACME",
        "terminal_org_id": port.terminal.org_id,
        "sharing_group_id": port.group_id,
    }
    assert (
        "only a shipping line"
        in _problem(client.post("/api/release/rights", json=body, headers=tokens["haulier"]), 403)["detail"]
    )
    assert (
        "release:write"
        in _problem(client.post("/api/release/rights", json=body, headers=tokens["customs"]), 403)["detail"]
    )
    light = {"light": "customs", "ok": True}
    assert (
        "release:customs"
        in _problem(client.post(f"/api/release/rights/{rid}/lights", json=light, headers=tokens["terminal"]), 403)[
            "detail"
        ]
    )
    gate = {"container_number": container(2), "driver_token": "pgd_nothing"}
    assert (
        "terminal operator"
        in _problem(client.post("/api/release/gate", json=gate, headers=tokens["haulier"]), 403)["detail"]
    )
    driver = {"name": "Jan", "document_number": "NL-123"}
    assert (
        "by their haulier"
        in _problem(client.post("/api/release/drivers", json=driver, headers=tokens["line"]), 403)["detail"]
    )
    # nothing changed
    with port.session() as session:
        right = session.get(ReleaseRight, rid)
        assert right is not None and right.holder_org_id == port.line.org_id and not right.customs_ok


def test_a_right_outside_your_group_is_not_found(client: TestClient, port: Port, tokens):  # noqa: F811
    rid = _issue(client, port, tokens, container(4))["id"]
    _problem(client.get(f"/api/release/rights/{rid}", headers=tokens["outsider"]), 404)
    _problem(client.post(f"/api/release/rights/{rid}/revoke", json={"reason": "x"}, headers=tokens["outsider"]), 404)
    assert _ok(client.get("/api/release/rights", headers=tokens["outsider"]))["total"] == 0


def test_invalid_requests_get_422(client: TestClient, port: Port, tokens):  # noqa: F811
    rid = _issue(client, port, tokens, container(5))["id"]
    outside = _problem(
        client.post(
            f"/api/release/rights/{rid}/transfer", json={"to_org_id": port.outsider.org_id}, headers=tokens["line"]
        ),
        422,
    )
    assert "not in the right's sharing group" in outside["detail"] and outside["field"] == "to_org_id"
    body = {
        "container_number": "MSKU1234560",  # wrong check digit
        "transport_document": "B1",
        "consignee": "ACME",
        "terminal_org_id": port.terminal.org_id,
        "sharing_group_id": port.group_id,
    }
    bad = _problem(client.post("/api/release/rights", json=body, headers=tokens["line"]), 422)
    assert any(e["loc"][-1] == "container_number" for e in bad["errors"])
    extra = _problem(
        client.post(
            f"/api/release/rights/{rid}/transfer", json={"to_org_id": "x", "force": True}, headers=tokens["line"]
        ),
        422,
    )
    assert any(e["type"] == "extra_forbidden" for e in extra["errors"])
    _problem(
        client.post(
            f"/api/release/rights/{rid}/lights", json={"light": "commercial", "ok": True}, headers=tokens["line"]
        ),
        422,
    )
    _problem(
        client.post(
            "/api/release/gate", json={"container_number": "ABC", "driver_token": "t"}, headers=tokens["terminal"]
        ),
        422,
    )
    _problem(client.get("/api/release/rights?status=lost", headers=tokens["line"]), 422)
    conflict = _problem(
        client.post("/api/release/rights", json={**body, "container_number": container(5)}, headers=tokens["line"]), 409
    )
    assert rid in conflict["detail"]


# ---------------------------------------------------------------- pages (server-rendered forms)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_pages_take_steps_with_the_csrf_token_and_show_refusals(client: TestClient, port: Port, tokens):  # noqa: F811
    rid = _issue(client, port, tokens, container(6))["id"]
    csrf = login(client, "line")
    listing = client.get("/release")
    assert listing.status_code == 200 and rid in listing.text and 'id="issue-form"' in listing.text
    page = client.get(f"/release/{rid}")
    assert page.status_code == 200
    assert 'id="transfer-form"' in page.text and 'id="revoke-form"' in page.text and 'id="gate-form"' not in page.text
    assert "Polder Haulage" in page.text and "Shadow Forwarding" not in page.text  # targets: the group's only

    refused = client.post(f"/release/{rid}/transfer", data={"to_org_id": port.haulier.org_id}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    moved = client.post(
        f"/release/{rid}/transfer", data={"to_org_id": port.haulier.org_id, "csrf_token": csrf}, follow_redirects=False
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"/release/{rid}"
    again = client.post(f"/release/{rid}/transfer", data={"to_org_id": port.haulier2.org_id, "csrf_token": csrf})
    assert again.status_code == 403 and "held by Polder Haulage, not by your organisation" in again.text
    assert 'id="chain"' in again.text  # the refusal is shown on the chain page
    assert client.get(f"/release/{rid}").text.count('class="step step-') == 2

    issued = client.post(
        "/release/issue",
        data={
            "csrf_token": csrf,
            "container_number": container(7),
            "transport_document": "BL-9",
            "consignee": "ACME",
            "terminal_org_id": port.terminal.org_id,
            "sharing_group_id": port.group_id,
            "days": "3",
        },
        follow_redirects=False,
    )
    assert issued.status_code == 303 and issued.headers["location"].startswith("/release/rel_")
    bad = client.post("/release/issue", data={"csrf_token": csrf, "container_number": "nope", "days": "3"})
    assert bad.status_code == 422 and 'id="release-error"' in bad.text


def test_a_haulier_registers_a_driver_on_the_page_and_sees_the_token_once(client: TestClient, port: Port):  # noqa: F811
    csrf = login(client, "haulier")
    shown = client.post("/release/drivers", data={"csrf_token": csrf, "name": "Piet", "document_number": "NL-99"})
    assert shown.status_code == 201
    token = re.search(r'id="new-driver-token">([^<]+)<', shown.text)
    assert token and token.group(1).startswith("pgd_")
    later = client.get("/release")
    assert "Piet" in later.text and token.group(1) not in later.text
    forbidden = login(client, "line")
    refused = client.post("/release/drivers", data={"csrf_token": forbidden, "name": "X Y", "document_number": "NL-1"})
    assert refused.status_code == 403 and "by their haulier" in refused.text
