"""Shared fixtures: a migrated database per test on each back-end, an app, and small factories.

`db` is parametrised over SQLite and PostgreSQL. PostgreSQL tests skip, with the reason, only when no server
answers and `CI` is not set; under CI they fail instead. Each PostgreSQL test run migrates a schema of its own
once and truncates the tables between tests; each SQLite test gets a copy of a migrated template file.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from portguard.api import create_app
from portguard.core import clock, migrate
from portguard.core.db import Base, Database
from portguard.core.policy import OrgKind, Principal, Role
from portguard.core.settings import Settings
from portguard.models import load_all
from portguard.sharing import service
from portguard.sharing.models import OrgIn, UserIn

PG_URL = os.environ.get("PORTGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery"


def _pg_reason() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: no server here
        return f"PostgreSQL not reachable at {PG_URL.split('@')[-1]}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A migrated schema of this test run on the PostgreSQL server."""
    reason = _pg_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    schema = f"pgtest_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "portguard.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


def _truncate_all(db: Database) -> None:
    load_all()
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each back-end."""
    if request.param == "sqlite":
        path = tmp_path / "portguard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_schema_url"))
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with the cheapest parameters: production ones cost ~0.5 s a user on this machine."""
    from argon2 import PasswordHasher

    from portguard.sharing import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: its own data directory and secret key."""
    return Settings(data_dir=tmp_path, secret_key_value=secrets.token_urlsafe(32))


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    """The application on the test database."""
    return create_app(settings=settings, db=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app (no credentials)."""
    with TestClient(app) as c:
        yield c


@dataclass
class Made:
    """A user made by a factory: ids, principal and password."""

    user_id: str
    username: str
    org_id: str
    principal: Principal
    password: str = PASSWORD


@pytest.fixture
def make_org(db: Database) -> Callable[..., str]:
    """Create an organisation; returns its id."""

    def make(
        name: str | None = None,
        kind: OrgKind = OrgKind.CUSTOMS_AUTHORITY,
        country: str = "NL",
        member: bool = True,
    ) -> str:
        with db.session() as session:
            org = service.create_org(
                session,
                actor=None,
                data=OrgIn(name=name or f"org-{secrets.token_hex(4)}", kind=kind, country=country, member=member),
            )
            return org.id

    return make


@pytest.fixture
def make_user(db: Database, make_org: Callable[..., str]) -> Callable[..., Made]:
    """Create a user with roles (in a new organisation unless `org_id` is given)."""

    def make(
        *roles: Role,
        org_id: str | None = None,
        kind: OrgKind = OrgKind.CUSTOMS_AUTHORITY,
        username: str | None = None,
    ) -> Made:
        org_id = org_id or make_org(kind=kind)
        name = username or f"user{secrets.token_hex(4)}"
        with db.session() as session:
            user = service.create_user(
                session,
                actor=None,
                data=UserIn(
                    username=name,
                    display_name=name,
                    org_id=org_id,
                    roles=list(roles) or [Role.CUSTOMS_ANALYST],
                    password=PASSWORD,
                ),
            )
            principal = service.load_principal(session, user_id=user.id)
        assert principal is not None
        return Made(user.id, name, org_id, principal)

    return make


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form has no CSRF token"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)
    assert csrf
    return csrf.group(1)


def bearer(db: Database, user: Made, days: int = 30) -> dict[str, str]:
    """An Authorization header with a fresh API token for `user`."""
    from portguard.sharing import auth

    with db.session() as session:
        _, secret = auth.create_token(session, actor=None, user_id=user.user_id, name="test", days=days)
    return {"Authorization": f"Bearer {secret}"}
