"""The sharing API: problem+json errors, pagination, who may administer what, and the response headers."""

from __future__ import annotations

from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer

PROBLEM = "application/problem+json"


def test_errors_are_rfc9457_problems(client, db, make_user):
    admin = make_user(Role.PLATFORM_ADMIN)
    headers = bearer(db, admin)
    missing = client.get("/api/orgs/org_nope", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    body = missing.json()
    assert body["status"] == 404 and body["title"] == "Not found" and "org_nope" in body["detail"]
    assert body["instance"] == "/api/orgs/org_nope"
    invalid = client.post("/api/orgs", json={"name": "X", "kind": "smugglers", "country": "N1"}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM
    fields = {tuple(e["loc"]) for e in invalid.json()["errors"]}
    assert ("body", "kind") in fields and ("body", "country") in fields


def test_lists_are_paginated_with_totals(client, db, make_user, make_org):
    admin = make_user(Role.PLATFORM_ADMIN)
    for i in range(7):
        make_org(name=f"Customs {i:02d}")
    headers = bearer(db, admin)
    first = client.get("/api/orgs?limit=3&offset=0", headers=headers).json()
    second = client.get("/api/orgs?limit=3&offset=3", headers=headers).json()
    assert first["total"] == second["total"] == 8  # seven plus the admin's own organisation
    assert (first["limit"], first["offset"], len(first["items"])) == (3, 0, 3)
    assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}
    too_big = client.get("/api/orgs?limit=501", headers=headers)
    assert too_big.status_code == 422


def test_only_platform_admins_register_organisations(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    admin = make_user(Role.PLATFORM_ADMIN)
    payload = {"name": "Port of Hamburg Customs", "kind": "customs_authority", "country": "de"}
    refused = client.post("/api/orgs", json=payload, headers=bearer(db, analyst))
    assert refused.status_code == 403
    assert refused.json()["permission"] == "org:manage"
    created = client.post("/api/orgs", json=payload, headers=bearer(db, admin))
    assert created.status_code == 201 and created.json()["country"] == "DE"
    again = client.post("/api/orgs", json=payload, headers=bearer(db, admin))
    assert again.status_code == 409


def test_org_admin_creates_users_only_in_own_org_and_only_allowed_roles(client, db, make_user, make_org):
    org_admin = make_user(Role.ORG_ADMIN, kind=OrgKind.TERMINAL_OPERATOR)
    other_org = make_org(kind=OrgKind.CUSTOMS_AUTHORITY)
    headers = bearer(db, org_admin)
    user = {
        "username": "gate.guard",
        "display_name": "Gate Guard",
        "password": "long enough secret",
        "org_id": org_admin.org_id,
        "roles": ["port_security"],
    }
    assert client.post("/api/users", json=user, headers=headers).status_code == 201
    police_role = client.post(
        "/api/users", json={**user, "username": "guard.x1", "roles": ["police_analyst"]}, headers=headers
    )
    assert police_role.status_code == 422 and "terminal_operator" in police_role.json()["detail"]
    elsewhere = client.post("/api/users", json={**user, "username": "guard.x2", "org_id": other_org}, headers=headers)
    assert elsewhere.status_code == 403
    escalate = client.post(
        "/api/users", json={**user, "username": "guard.x3", "roles": ["platform_admin"]}, headers=headers
    )
    assert escalate.status_code == 403
    listed = client.get("/api/users", headers=headers).json()
    assert {u["org_id"] for u in listed["items"]} == {org_admin.org_id}


def test_me_reports_roles_and_permissions(client, db, make_user):
    officer = make_user(Role.INSPECTION_OFFICER)
    me = client.get("/api/me", headers=bearer(db, officer)).json()
    assert me["roles"] == ["inspection_officer"]
    assert me["permissions"] == [
        "control:read",
        "control:write",
        "declaration:read",
        "event:read",
        "event:write",
        "model:read",
        "note:read",
        "port_alert:ack",
        "port_alert:read",
        "release:customs",
        "release:read",
        "rule:read",
        "substance:read",
    ]


def test_security_headers_on_every_answer(client, db, make_user):
    for response in (client.get("/login"), client.get("/api/me"), client.get("/health")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"


def test_openapi_needs_a_signed_in_user(client, db, make_user):
    anonymous = client.get("/api/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="portguard"'
    doc = client.get("/api/openapi.json", headers=bearer(db, make_user(Role.CUSTOMS_ANALYST))).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/notes" in doc["paths"]
    errors = doc["paths"]["/api/notes"]["post"]["responses"]
    assert {"401", "403", "404", "422"} <= set(errors)
    assert "application/problem+json" in errors["422"]["content"]


def test_led_note_refuses_private_recipients(client, db, make_user):
    police = make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE)
    guard = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    note = {"title": "t", "body": "b", "handling": "RED", "recipient_ids": [guard.user_id]}
    refused = client.post("/api/notes", json={**note, "legal_regime": "LED"}, headers=bearer(db, police))
    assert refused.status_code == 422 and "private-sector" in refused.json()["detail"]
    allowed = client.post("/api/notes", json={**note, "legal_regime": "GDPR"}, headers=bearer(db, police))
    assert allowed.status_code == 201


def test_an_unparseable_body_from_nobody_is_answered_401(client):
    r = client.post(
        "/api/declarations/ingest",
        content=b"--b\r\n[]--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 401
