"""Authentication end to end, on SQLite and PostgreSQL: the login form, throttling and lock-out, CSRF, sessions,
API tokens (revocation, expiry, ownership) and how credentials are stored.

Time is moved with `clock.advance()`, never slept; the `_real_clock` fixture puts it back after each test.
Password hashing runs with the cheap argon2id parameters `conftest` installs; the production parameters are checked
in a separate interpreter, where nothing is patched.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from portguard.core import audit, clock
from portguard.core.audit import AuditAction, AuditEntry
from portguard.core.policy import OrgKind, Role
from portguard.web.pages import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import PASSWORD, bearer, login

PROBLEM = "application/problem+json"
WRONG = "not the right password"


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "login form has no CSRF token"
    return match.group(1)


def attempt(client: TestClient, username: str, password: str, *, next: str | None = None):  # type: ignore[no-untyped-def]
    """One sign-in through the form (fresh form token each time); the raw response, redirects not followed."""
    token = _form_token(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, follow_redirects=False)


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def _login_audit(db, username: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == AuditAction.LOGIN.value).order_by(AuditEntry.seq)
        ).all()
        return [
            {**e.detail, "user_id": e.user_id, "object_id": e.object_id}
            for e in entries
            if e.detail.get("username") == username or e.username == username
        ]


# ---------------------------------------------------------------- the login form


def test_login_success_sets_session_cookie_and_home_shows_user(client, make_user):
    user = make_user(Role.CUSTOMS_ANALYST)
    assert client.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303

    response = attempt(client, user.username, PASSWORD)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    set_cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith(f"{SESSION_COOKIE}="))
    assert "httponly" in session_cookie.lower()
    assert "samesite=lax" in session_cookie.lower()
    assert client.cookies.get(SESSION_COOKIE)
    home = client.get("/")
    assert home.status_code == 200
    assert f"Welcome, {user.username}" in home.text
    assert client.get("/api/me").json()["user_id"] == user.user_id


def test_wrong_password_is_401_page_with_message(client, make_user):
    user = make_user()
    response = attempt(client, user.username, WRONG)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Wrong username or password." in response.text
    assert client.cookies.get(SESSION_COOKIE) is None
    # an unknown user gets exactly the same answer (no user enumeration)
    unknown = attempt(client, "nobody-here", WRONG)
    assert unknown.status_code == 401
    assert "Wrong username or password." in unknown.text


def test_ip_throttle_then_allowed_after_a_minute(client, make_user, settings):
    user = make_user()
    limit = settings.login_ip_attempts_per_minute
    # distinct unknown usernames, so only the per-IP throttle (not the per-account lock-out) can trigger
    for i in range(limit):
        assert attempt(client, f"ghost{i}", WRONG).status_code == 401
    throttled = attempt(client, user.username, PASSWORD)
    assert throttled.status_code == 429
    assert "too many attempts" in throttled.text.lower()
    assert client.cookies.get(SESSION_COOKIE) is None

    clock.advance(61)
    assert attempt(client, user.username, PASSWORD).status_code == 303
    assert client.get("/api/me").status_code == 200


def test_lockout_after_consecutive_failures_then_unlocks(client, make_user, settings):
    user = make_user()
    for _ in range(settings.login_max_failures):
        assert attempt(client, user.username, WRONG).status_code == 401
    locked = attempt(client, user.username, PASSWORD)
    assert locked.status_code == 423
    assert "locked" in locked.text.lower()
    assert " UTC" in locked.text  # says until when
    assert client.cookies.get(SESSION_COOKIE) is None

    clock.advance(settings.login_lockout_minutes * 60 - 30)
    assert attempt(client, user.username, PASSWORD).status_code == 423  # not yet

    clock.advance(31)
    ok = attempt(client, user.username, PASSWORD)
    assert ok.status_code == 303, ok.text
    assert client.get("/api/me").json()["username"] == user.username


def test_success_resets_the_failure_count(client, make_user, settings):
    user = make_user()
    for _ in range(settings.login_max_failures - 1):
        assert attempt(client, user.username, WRONG).status_code == 401
    assert attempt(client, user.username, PASSWORD).status_code == 303
    # failures before the success no longer count towards a lock
    assert attempt(client, user.username, WRONG).status_code == 401
    assert attempt(client, user.username, PASSWORD).status_code == 303


def test_failures_and_success_are_in_the_audit_chain(client, db, make_user):
    user = make_user()
    admin = make_user(Role.PLATFORM_ADMIN)
    assert attempt(client, user.username, WRONG).status_code == 401
    assert attempt(client, "nobody-at-all", WRONG).status_code == 401
    assert attempt(client, user.username, PASSWORD).status_code == 303

    entries = _login_audit(db, user.username)
    assert [e["success"] for e in entries] == [False, True]
    failure, success = entries
    assert failure["ip"] == "testclient"
    assert failure["object_id"] == user.user_id
    assert failure["user_id"] is None  # nobody was signed in
    assert success["user_id"] == user.user_id
    unknown = _login_audit(db, "nobody-at-all")
    assert unknown == [
        {"username": "nobody-at-all", "success": False, "ip": "testclient", "user_id": None, "object_id": None}
    ]
    with db.session() as session:
        assert audit.verify(session).ok

    # and a platform administrator sees them through the API
    response = TestClient(client.app).get("/api/audit", params={"action": "login"}, headers=bearer(db, admin))
    assert response.status_code == 200
    details = [i["detail"] for i in response.json()["items"]]
    assert {"username": user.username, "success": False, "ip": "testclient"} in details


def test_login_form_without_csrf_is_403(client, make_user):
    user = make_user()
    # no form token and no cookie
    response = client.post("/login", data={"username": user.username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "form expired" in response.text
    # a form token but no signed cookie (a cross-site post)
    token = _form_token(TestClient(client.app).get("/login").text)
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.cookies.get(SESSION_COOKIE) is None


def test_login_form_with_wrong_csrf_is_403(client, make_user):
    user = make_user()
    client.get("/login")
    assert client.cookies.get(LOGIN_CSRF_COOKIE)
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": "forged-token"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.cookies.get(SESSION_COOKIE) is None
    # a tampered cookie signature is refused too
    token = _form_token(client.get("/login").text)
    client.cookies.set(LOGIN_CSRF_COOKIE, client.cookies.get(LOGIN_CSRF_COOKIE) + "x")
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.cookies.get(SESSION_COOKIE) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("//evil.example", "/"),
        ("//evil.example/notes", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("evil.example", "/"),
        ("/notes", "/notes"),
    ],
)
def test_open_redirect_guard_on_next(client, make_user, target, expected):
    user = make_user()
    response = attempt(client, user.username, PASSWORD, next=target)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_login_page_sanitises_next(client):
    page = client.get("/login", params={"next": "//evil.example"})
    assert 'name="next" value="/"' in page.text
    # a 401 on a page sends the browser to sign in, coming back to where it was
    redirect = client.get("/notes", headers={"Accept": "text/html"}, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login?next=/notes"


# ---------------------------------------------------------------- CSRF on cookie-authenticated writes


def test_cookie_post_needs_csrf_header(client, make_user):
    user = make_user()
    csrf = login(client, user.username)

    missing = client.post("/api/tokens", json={"name": "cli", "days": 7})
    body = assert_problem(missing, 403)
    assert "CSRF" in body["detail"]
    assert_problem(client.post("/api/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": "wrong"}), 403)

    created = client.post("/api/tokens", json={"name": "cli", "days": 7}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert created.json()["token"].startswith("pgt_")
    # reads need no CSRF token
    assert [t["name"] for t in client.get("/api/tokens").json()] == ["cli"]


def test_cookie_form_post_accepts_csrf_field(client, make_user):
    user = make_user(Role.CUSTOMS_ANALYST)
    csrf = login(client, user.username)
    form = {"title": "t", "body": "b", "handling": "AMBER", "legal_regime": "GDPR"}
    refused = client.post("/notes", data=form, headers={"Accept": "text/html"}, follow_redirects=False)
    assert refused.status_code == 403
    accepted = client.post("/notes", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/notes"


def test_bearer_post_needs_no_csrf(client, db, make_user):
    user = make_user()
    response = client.post("/api/tokens", json={"name": "ci"}, headers=bearer(db, user))
    assert response.status_code == 201, response.text
    assert client.cookies.get(SESSION_COOKIE) is None


# ---------------------------------------------------------------- API tokens


def test_revoked_token_is_refused(client, db, make_user):
    user = make_user()
    created = client.post("/api/tokens", json={"name": "short-lived"}, headers=bearer(db, user)).json()
    auth_header = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/me", headers=auth_header).status_code == 200

    revoked = client.delete(f"/api/tokens/{created['id']}", headers=auth_header)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None

    assert_problem(client.get("/api/me", headers=auth_header), 401)
    # revoking again is idempotent for whoever may see it
    again = client.delete(f"/api/tokens/{created['id']}", headers=bearer(db, user))
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_expired_token_is_refused(client, db, make_user):
    user = make_user()
    auth_header = bearer(db, user, days=1)
    assert client.get("/api/me", headers=auth_header).status_code == 200
    expires_at = client.get("/api/tokens", headers=auth_header).json()[0]["expires_at"]
    assert expires_at

    clock.advance(24 * 3600 - 60)
    assert client.get("/api/me", headers=auth_header).status_code == 200
    clock.advance(61)
    assert_problem(client.get("/api/me", headers=auth_header), 401)


def test_plain_user_cannot_revoke_anothers_token(client, db, make_user):
    owner = make_user(Role.CUSTOMS_ANALYST)
    colleague = make_user(Role.CUSTOMS_ANALYST, org_id=owner.org_id)
    stranger = make_user(Role.CUSTOMS_ANALYST)
    foreign_admin = make_user(Role.ORG_ADMIN)
    owner_auth = bearer(db, owner)
    token_id = client.get("/api/tokens", headers=owner_auth).json()[0]["id"]

    for intruder in (colleague, stranger, foreign_admin):
        body = assert_problem(client.delete(f"/api/tokens/{token_id}", headers=bearer(db, intruder)), 404)
        assert token_id in body["detail"]
    assert client.get("/api/me", headers=owner_auth).status_code == 200
    # an unknown id looks the same as someone else's
    assert_problem(client.delete("/api/tokens/tok_doesnotexist", headers=bearer(db, stranger)), 404)

    # the owner's organisation administrator may revoke it
    org_admin = make_user(Role.ORG_ADMIN, org_id=owner.org_id)
    assert client.delete(f"/api/tokens/{token_id}", headers=bearer(db, org_admin)).status_code == 200
    assert_problem(client.get("/api/me", headers=owner_auth), 401)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer pgt_" + "A" * 43,
        "Bearer ",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token pgt_abc",
        "bearer   ",
    ],
)
def test_garbage_or_unknown_bearer_is_401(client, db, make_user, header):
    make_user()
    body = assert_problem(client.get("/api/me", headers={"Authorization": header}), 401)
    assert body["instance"] == "/api/me"
    assert_problem(client.post("/api/tokens", json={"name": "x"}, headers={"Authorization": header}), 401)


def test_bearer_header_wins_over_a_session_cookie(client, db, make_user):
    user = make_user()
    login(client, user.username)
    assert client.get("/api/me").status_code == 200
    # a bad Authorization header is not rescued by a valid cookie
    assert_problem(client.get("/api/me", headers={"Authorization": "Bearer garbage"}), 401)


# ---------------------------------------------------------------- sessions


def test_logout_revokes_the_session(client, db, make_user):
    user = make_user()
    csrf = login(client, user.username)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie

    # logout is a write: CSRF applies
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.cookies.get(SESSION_COOKIE) is None

    # replaying the old cookie does not work: the session is revoked server-side
    replay = TestClient(client.app, cookies={SESSION_COOKIE: cookie})
    assert_problem(replay.get("/api/me"), 401)
    assert replay.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    with db.session() as session:
        revoked = session.execute(
            text("SELECT revoked_at FROM web_sessions WHERE user_id = :u"), {"u": user.user_id}
        ).scalar_one()
        assert revoked is not None
        logouts = session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.LOGOUT.value)).all()
        assert [e.user_id for e in logouts] == [user.user_id]


def test_session_expires(client, make_user, settings):
    user = make_user()
    login(client, user.username)
    clock.advance(settings.session_hours * 3600 + 1)
    assert_problem(client.get("/api/me"), 401)


def test_forged_session_cookie_is_refused(client, make_user):
    user = make_user()
    login(client, user.username)
    cookie = client.cookies.get(SESSION_COOKIE)
    payload, _, signature = cookie.rpartition(".")
    forged = TestClient(client.app, cookies={SESSION_COOKIE: f"{payload}.{'A' * len(signature)}"})
    assert_problem(forged.get("/api/me"), 401)
    # a well-formed but unknown session id, signed with another key
    from itsdangerous import URLSafeSerializer

    alien = URLSafeSerializer("some other key", salt="session").dumps("no-such-session")
    assert_problem(TestClient(client.app, cookies={SESSION_COOKIE: alien}).get("/api/me"), 401)


# ---------------------------------------------------------------- how credentials are stored


def test_password_hashes_are_argon2id(db, make_user):
    users = [make_user(), make_user(Role.ORG_ADMIN, kind=OrgKind.PORT_AUTHORITY)]
    with db.session() as session:
        rows = session.execute(text("SELECT username, password_hash FROM users")).all()
    assert {r.username for r in rows} == {u.username for u in users}
    for row in rows:
        assert row.password_hash.startswith("$argon2id$"), row.password_hash
        assert PASSWORD not in row.password_hash
    assert rows[0].password_hash != rows[1].password_hash  # salted


def test_production_password_hashing_cost():
    """Unpatched, in a fresh interpreter: argon2id with at least the OWASP minimum cost (m=19 MiB, t=2)."""
    code = "from portguard.sharing import auth; h = auth.hash_password('pw'); print(h, auth.verify_password(h, 'pw'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    password_hash, verified = out.stdout.split()
    assert verified == "True"
    assert password_hash.startswith("$argon2id$v=19$")
    params = dict(p.split("=") for p in password_hash.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2


def test_token_secrets_are_stored_only_as_sha256(client, db, make_user):
    user = make_user()
    created = client.post("/api/tokens", json={"name": "stored"}, headers=bearer(db, user))
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("pgt_")
    assert len(secret) >= 40  # 256 bits of randomness, urlsafe base64

    with db.session() as session:
        row = (
            session.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": created.json()["id"]})
            .one()
            ._mapping
        )
        everything = " ".join(str(v) for v in row.values())
        assert row["token_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in everything
        assert secret.removeprefix("pgt_") not in everything
        # the secret is not in the audit chain either
        details = " ".join(str(d) for d in session.scalars(select(AuditEntry.detail)).all())
        assert secret.removeprefix("pgt_") not in details
    # and never shown again
    listed = client.get("/api/tokens", headers={"Authorization": f"Bearer {secret}"}).json()
    assert all("token" not in t for t in listed)
