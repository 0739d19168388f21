"""The `portguard` command against each back-end: schema, organisations, users, tokens, the audit chain, demo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner, Result

from portguard import cli, demo
from portguard.api import create_app
from portguard.controls import cli as controls_cli
from portguard.core import audit, migrate
from portguard.core import db as core_db
from portguard.core.audit import GENESIS, AuditEntry
from portguard.core.db import Database
from portguard.core.settings import Settings, get_settings
from portguard.declarations import cli as declarations_cli
from portguard.network import cli as network_cli
from portguard.personnel import cli as personnel_cli
from portguard.sharing import auth, service
from portguard.sharing import cli as sharing_cli
from portguard.sharing.models import Organisation, User
from portguard.substances import cli as substances_cli

NEW_PASSWORD = "a long enough password"
KCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "customs-declarations"
Run = Callable[..., Result]


def _flat(s: str) -> str:
    """Rich wraps long lines at the console width (and colours them on a terminal): compare the bare words."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", s).split())


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """PORTGUARD_* pointing at this test's data directory; databases the CLI opens are disposed afterwards."""
    monkeypatch.delenv("PORTGUARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("PORTGUARD_NEW_PASSWORD", raising=False)
    monkeypatch.setenv("PORTGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORTGUARD_SECRET_KEY", "cli-test-secret-" + "k" * 24)
    monkeypatch.setenv("PORTGUARD_SHARED_DATA_DIR", str(tmp_path / "shared"))  # empty unless a test fills it
    opened: list[Database] = []
    original = core_db.from_settings

    def tracking(settings: Settings | None = None) -> Database:
        database = original(settings)
        opened.append(database)
        return database

    monkeypatch.setattr(core_db, "from_settings", tracking)
    monkeypatch.setattr(sharing_cli, "from_settings", tracking)
    monkeypatch.setattr(declarations_cli, "from_settings", tracking)
    monkeypatch.setattr(controls_cli, "from_settings", tracking)
    monkeypatch.setattr(network_cli, "from_settings", tracking)
    monkeypatch.setattr(personnel_cli, "from_settings", tracking)
    monkeypatch.setattr(substances_cli, "from_settings", tracking)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
    for database in opened:
        database.dispose()


@pytest.fixture
def on_db(cli_env: Path, db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The CLI configured for the test database (both back-ends)."""
    monkeypatch.setenv("PORTGUARD_DATABASE_URL", db.url)
    get_settings.cache_clear()
    return db


@pytest.fixture
def run() -> Run:
    """Invoke `portguard ARGS...` in-process; exceptions are left in `result.exception`."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        get_settings.cache_clear()
        return runner.invoke(cli.app, list(args), input=input, env=env)

    return invoke


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real entry point `main()` (the one that turns PortGuardError into exit 1)."""
    monkeypatch.setattr(sys, "argv", ["portguard", *args])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        cli.main()
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), captured.out, captured.err


def _make_org(run: Run, name: str, kind: str, country: str = "NL") -> dict:  # type: ignore[type-arg]
    return json.loads(ok(run("org", "create", name, "--kind", kind, "--country", country, "--json")).stdout)


def _make_user(run: Run, username: str, org: str, *roles: str) -> dict:  # type: ignore[type-arg]
    args = ["user", "create", username, "--org", org, "--json"]
    for role in roles:
        args += ["--role", role]
    return json.loads(ok(run(*args, env={"PORTGUARD_NEW_PASSWORD": NEW_PASSWORD})).stdout)


def _chain_length(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


# ---------------------------------------------------------------- db upgrade


def test_db_upgrade_creates_the_default_sqlite_file_and_is_idempotent(cli_env: Path, run: Run):
    first = ok(run("db", "upgrade"))
    path = cli_env / "portguard.db"
    assert path.exists()
    database = Database(f"sqlite:///{path.resolve()}")
    try:
        head = migrate.current(database.engine)
        assert head is not None
        assert head in first.output and "sqlite" in first.output
        second = ok(run("db", "upgrade"))
        assert _flat(second.output) == _flat(first.output)
        assert migrate.current(database.engine) == head
        with database.session() as session:  # the schema is usable
            assert audit.verify(session).ok
    finally:
        database.dispose()


def test_db_upgrade_on_a_migrated_database_is_a_no_op(on_db: Database, run: Run):
    head = migrate.current(on_db.engine)
    result = ok(run("db", "upgrade"))
    assert head in result.output
    assert on_db.dialect in result.output
    ok(run("db", "upgrade"))
    assert migrate.current(on_db.engine) == head


# ---------------------------------------------------------------- organisations and users


def test_org_create_and_list_json(on_db: Database, run: Run):
    created = _make_org(run, "Dutch Customs", "customs_authority")
    assert created["name"] == "Dutch Customs"
    assert created["kind"] == "customs_authority"
    assert created["country"] == "NL"
    assert created["member"] is True
    ok(run("org", "create", "Northsea Line", "--kind", "shipping_line", "--country", "DK", "--non-member"))
    listed = json.loads(ok(run("org", "list", "--json")).stdout)
    by_name = {o["name"]: o for o in listed}
    assert set(by_name) == {"Dutch Customs", "Northsea Line"}
    assert by_name["Dutch Customs"]["id"] == created["id"]
    assert by_name["Northsea Line"]["member"] is False
    human = ok(run("org", "list"))
    assert "Dutch Customs" in human.output
    assert _chain_length(on_db) == 2  # each creation is audited


def test_org_create_duplicate_name_is_a_clear_error(on_db: Database, run: Run, monkeypatch, capsys):
    _make_org(run, "Twice", "police")
    code, _, err = run_main(monkeypatch, capsys, "org", "create", "Twice", "--kind", "police", "--country", "NL")
    assert code == 1
    assert "error:" in err and "exists already" in _flat(err)


def test_user_create_with_password_from_env_and_list_json(on_db: Database, run: Run):
    org = _make_org(run, "Seaport Police", "police")
    user = _make_user(run, "f.bakker", "Seaport Police", "police_analyst", "alert_focal_point")  # org by name
    assert user["username"] == "f.bakker"
    assert user["org_id"] == org["id"]
    assert sorted(user["roles"]) == ["alert_focal_point", "police_analyst"]
    _make_user(run, "other", org["id"], "org_admin")  # org by id
    with on_db.session() as session:
        stored = session.scalar(select(User).where(User.username == "f.bakker"))
        assert stored is not None
        assert stored.password_hash and NEW_PASSWORD not in stored.password_hash
        assert auth.verify_password(stored.password_hash, NEW_PASSWORD)
        assert not auth.verify_password(stored.password_hash, "wrong password!!")
    listed = json.loads(ok(run("user", "list", "--json")).stdout)
    assert {u["username"] for u in listed} == {"f.bakker", "other"}
    assert all("password" not in key for u in listed for key in u)
    in_org = json.loads(ok(run("user", "list", "--org", "Seaport Police", "--json")).stdout)
    assert len(in_org) == 2


def test_user_create_prompts_for_the_password(on_db: Database, run: Run):
    _make_org(run, "Prompted", "customs_authority")
    result = ok(
        run(
            "user",
            "create",
            "prompted.user",
            "--org",
            "Prompted",
            "--role",
            "customs_analyst",
            input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
        )
    )
    assert NEW_PASSWORD not in result.output  # hidden input is not echoed
    with on_db.session() as session:
        stored = session.scalar(select(User).where(User.username == "prompted.user"))
        assert stored is not None and auth.verify_password(stored.password_hash, NEW_PASSWORD)


def test_role_not_allowed_for_org_kind_exits_1_with_a_clear_message(on_db: Database, run: Run, monkeypatch, capsys):
    _make_org(run, "Delta Terminal", "terminal_operator")
    monkeypatch.setenv("PORTGUARD_NEW_PASSWORD", NEW_PASSWORD)
    code, out, err = run_main(
        monkeypatch, capsys, "user", "create", "x.police", "--org", "Delta Terminal", "--role", "police_analyst"
    )
    assert code == 1
    message = _flat(err)
    assert message.startswith("error:")
    assert "role police_analyst cannot be held in a terminal_operator organisation" in message
    assert "Traceback" not in err + out
    with on_db.session() as session:
        assert session.scalar(select(User).where(User.username == "x.police")) is None
    assert _chain_length(on_db) == 1  # only the organisation


def test_unknown_org_and_unknown_user_exit_1(on_db: Database, monkeypatch, capsys):
    monkeypatch.setenv("PORTGUARD_NEW_PASSWORD", NEW_PASSWORD)
    code, _, err = run_main(monkeypatch, capsys, "user", "create", "nobody", "--org", "Atlantis", "--role", "org_admin")
    assert code == 1 and "no organisation with id or name 'Atlantis'" in _flat(err)
    code, _, err = run_main(monkeypatch, capsys, "token", "create", "ghost")
    assert code == 1 and "no user 'ghost'" in _flat(err)
    code, _, err = run_main(monkeypatch, capsys, "token", "revoke", "tok_missing")
    assert code == 1 and "no token tok_missing" in _flat(err)


def test_installed_entry_point_exits_1_on_a_refused_role(on_db: Database, run: Run, tmp_path: Path):
    """The console script itself, in a fresh process: one red line on stderr, exit status 1."""
    _make_org(run, "Polder Haulage", "haulier")
    script = Path(sys.executable).with_name("portguard")
    assert script.exists()
    env = {
        **os.environ,
        "PORTGUARD_DATABASE_URL": on_db.url,
        "PORTGUARD_DATA_DIR": str(tmp_path / "data"),
        "PORTGUARD_NEW_PASSWORD": NEW_PASSWORD,
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(script), "user", "create", "h.focal", "--org", "Polder Haulage", "--role", "alert_focal_point"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "error: role alert_focal_point cannot be held in a haulier organisation" in _flat(done.stderr)
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- tokens


def test_token_create_works_as_bearer_and_revoke_gives_401(on_db: Database, run: Run, settings: Settings):
    _make_org(run, "NL Customs", "customs_authority")
    _make_user(run, "nl.analyst", "NL Customs", "customs_analyst")
    created = json.loads(ok(run("token", "create", "nl.analyst", "--name", "ci", "--days", "7", "--json")).stdout)
    assert created["user"] == "nl.analyst"
    assert created["token"].startswith(auth.TOKEN_PREFIX)
    assert created["id"]
    app = create_app(settings=settings, db=on_db)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {created['token']}"}
        me = client.get("/api/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "nl.analyst"
        revoked = json.loads(ok(run("token", "revoke", created["id"], "--json")).stdout)
        assert revoked["id"] == created["id"]
        assert revoked["revoked_at"]
        after = client.get("/api/me", headers=headers)
        assert after.status_code == 401
        assert after.headers["content-type"].startswith("application/problem+json")
    again = ok(run("token", "revoke", created["id"], "--json"))  # revoking twice is harmless
    assert json.loads(again.stdout)["revoked_at"] == revoked["revoked_at"]
    with on_db.session() as session:
        ops = [
            e.detail.get("op") for e in session.scalars(select(AuditEntry).where(AuditEntry.object_type == "api_token"))
        ]
    assert ops == ["create", "revoke"]


def test_token_create_human_output_prints_the_secret_once(on_db: Database, run: Run):
    _make_org(run, "Org T", "police")
    _make_user(run, "t.user", "Org T", "police_analyst")
    result = ok(run("token", "create", "t.user"))
    secrets_printed = [w for w in result.stdout.split() if w.startswith(auth.TOKEN_PREFIX)]
    assert len(secrets_printed) == 1
    with on_db.session() as session:
        assert auth.token_user_id(session, secret=secrets_printed[0]) is not None
    assert "shown only now" in _flat(result.stderr)


# ---------------------------------------------------------------- audit


def _fill_chain(run: Run) -> None:
    _make_org(run, "Audit Org", "customs_authority")
    _make_user(run, "a.one", "Audit Org", "customs_analyst")
    _make_user(run, "a.two", "Audit Org", "org_admin")
    ok(run("token", "create", "a.one", "--json"))


def test_audit_verify_ok_then_broken_after_tampering(on_db: Database, run: Run):
    _fill_chain(run)
    n = _chain_length(on_db)
    assert n == 4
    intact = ok(run("audit", "verify"))
    assert f"intact: {n} entries" in _flat(intact.output)
    as_json = json.loads(ok(run("audit", "verify", "--json")).stdout)
    head = as_json.pop("head")
    assert as_json == {"ok": True, "checked": n, "broken_seq": None, "reason": None}
    assert head.startswith(f"{n}:") and len(head.split(":")[1]) == 64
    assert "Head (keep it elsewhere" in _flat(intact.output)
    ok(run("audit", "verify", "--anchor", head))

    with on_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET object_id = 'tampered' WHERE seq = 3"))
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    message = _flat(broken.output)
    assert "broken at entry 3" in message
    assert "2 entries intact before it" in message
    broken_json = run("audit", "verify", "--json")
    assert broken_json.exit_code == 1
    payload = json.loads(broken_json.stdout)
    assert payload["ok"] is False and payload["broken_seq"] == 3 and payload["checked"] == 2
    malformed = run("audit", "verify", "--anchor", "3:not-a-hash")
    assert malformed.exit_code == 2 and "SEQ:HASH" in _flat(malformed.output)


def test_audit_verify_names_a_deleted_entry(on_db: Database, run: Run):
    _fill_chain(run)
    with on_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "broken at entry 2" in _flat(broken.output) and "missing" in _flat(broken.output)


def test_audit_export_writes_verifiable_json_lines(on_db: Database, run: Run, tmp_path: Path):
    _fill_chain(run)
    out = tmp_path / "chain.jsonl"
    result = ok(run("audit", "export", "-o", str(out)))
    lines = out.read_text(encoding="utf-8").splitlines()
    n = _chain_length(on_db)
    assert len(lines) == n
    assert f"{n} entries written" in _flat(result.stderr)
    entries = [json.loads(line) for line in lines]
    with on_db.session() as session:
        stored = {e.seq: e.hash for e in session.scalars(select(AuditEntry))}
        assert audit.verify(session).checked == n
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):  # a copy verifies on its own, without the database
        assert entry["seq"] == expected_seq
        assert entry["prev_hash"] == prev
        body = {k: v for k, v in entry.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == entry["hash"] == stored[entry["seq"]]
        prev = entry["hash"]

    to_stdout = ok(run("audit", "export"))
    assert to_stdout.stdout.splitlines() == lines

    # --org selects the entries of actors in that organisation (the CLI itself acts as "system", without one)
    assert ok(run("audit", "export", "--org", "Audit Org")).stdout == ""
    with on_db.session() as session:
        org_id = session.scalar(select(Organisation.id).where(Organisation.name == "Audit Org"))
        actor = service.load_principal(session, user_id=service.find_user_id(session, username="a.one"))
        audit.append(session, actor=actor, action=audit.AuditAction.CONSULT, object_type="note", object_id="n1")
    org_lines = [json.loads(line) for line in ok(run("audit", "export", "--org", "Audit Org")).stdout.splitlines()]
    assert [(e["seq"], e["org_id"], e["username"]) for e in org_lines] == [(n + 1, org_id, "a.one")]


def test_audit_export_of_an_empty_chain(on_db: Database, run: Run, tmp_path: Path):
    out = tmp_path / "empty.jsonl"
    ok(run("audit", "export", "-o", str(out)))
    assert out.read_text() == ""
    assert ok(run("audit", "verify", "--json")).stdout.strip().startswith("{")


# ---------------------------------------------------------------- demo


def test_demo_no_serve_loads_once_and_is_idempotent(on_db: Database, run: Run):
    first = ok(run("demo", "--no-serve"))
    assert "Demo data loaded." in _flat(first.output)
    assert demo.DEMO_PASSWORD in first.output and "nl.analyst" in first.output
    with on_db.session() as session:
        orgs = session.scalar(select(func.count()).select_from(Organisation))
        users = session.scalar(select(func.count()).select_from(User))
    entries = _chain_length(on_db)
    assert (orgs, users) == (len(demo.ORGS), len(demo.USERS))
    second = ok(run("demo", "--no-serve"))
    assert "already present" in _flat(second.output)
    assert "Demo data loaded." not in second.output
    with on_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == orgs
        assert session.scalar(select(func.count()).select_from(User)) == users
        assert _ok_count(audit.verify(session)) == (True, entries)
    listed = json.loads(ok(run("user", "list", "--json")).stdout)
    assert {u["username"] for u in listed} == {u[0] for u in demo.USERS}


def test_demo_on_a_fresh_sqlite_data_dir(cli_env: Path, run: Run):
    first = ok(run("demo", "--no-serve"))
    assert "No public KCS set" in _flat(first.output)
    assert (cli_env / "portguard.db").exists()
    assert "already present" in _flat(ok(run("demo", "--no-serve")).output)
    assert "intact" in ok(run("audit", "verify")).output


@pytest.mark.skipif(
    not (KCS / "df_syn_train_eng.csv").is_file() and not os.environ.get("CI"), reason="KCS set not in ../shared/data"
)
def test_demo_loads_the_public_kcs_set_when_present(cli_env: Path, run: Run):
    """The first rows of each public file stand in for the set: loaded for the partner org, shared with both
    customs authorities, labels as control results, and covered by the starter pack's backtest."""
    from portguard.controls.models import ControlResult
    from portguard.declarations.models import Declaration
    from portguard.risk.models import Backtest

    folder = cli_env.parent / "shared" / "customs-declarations"
    folder.mkdir(parents=True)
    for name in demo.KCS_FILES:
        lines = (KCS / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / name).write_text("".join(lines[:101]), encoding="utf-8")
    ok(run("demo", "--no-serve"))
    database = Database(f"sqlite:///{cli_env / 'portguard.db'}")
    try:
        with database.session() as session:
            kcs_org = session.scalar(select(Organisation).where(Organisation.name == demo.ORGS[-1][1]))
            assert kcs_org is not None and not kcs_org.member
            rows = session.execute(
                select(Declaration.sharing_group_id).where(Declaration.owner_org_id == kcs_org.id)
            ).all()
            assert len(rows) == 300 and len({r[0] for r in rows}) == 1 and rows[0][0] is not None
            labelled = session.scalar(
                select(func.count()).select_from(ControlResult).where(ControlResult.owner_org_id == kcs_org.id)
            )
            assert labelled == 300
            backtest = session.scalars(select(Backtest)).one()
            # the starter pack's backtest (by Dutch customs) covers the shared KCS rows and NL's own 1,500 generated
            # ones; Belgium's 800 are AMBER without a group, so not NL's to see
            assert backtest.period_from.year == 2020 and backtest.declarations == 300 + 1500
    finally:
        database.dispose()


def _ok_count(result: audit.VerifyResult) -> tuple[bool, int]:
    return result.ok, result.checked


# ---------------------------------------------------------------- declarations and controls


def test_ingest_then_order_record_and_list_a_control(on_db: Database, run: Run, tmp_path: Path, monkeypatch, capsys):
    from tests.declarations.test_ingest import declaration

    org = _make_org(run, "Douane Rotterdam CLI", "customs_authority")
    _make_user(run, "inspector.cli", org["id"], "inspection_officer")
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps(declaration(ref)) for ref in ("CLI-1", "CLI-2")) + "\n", encoding="utf-8")
    loaded = json.loads(ok(run("declarations", "ingest", str(path), "--org", org["id"], "--json")).stdout)
    assert (loaded["status"], loaded["declarations"]) == ("committed", 2)

    ordered = json.loads(
        ok(
            run("controls", "order", "CLI-1", "--kind", "scan", "--as", "inspector.cli", "--rule", "R-7", "--json")
        ).stdout
    )
    assert (ordered["kind"], ordered["status"], ordered["reasons"]) == ("scan", "open", {"rules": ["R-7"]})
    recorded = json.loads(
        ok(
            run(
                "controls", "record", "CLI-1", "--outcome", "seizure", "--as", "inspector.cli",
                "--order", ordered["id"], "--goods", "cocaine bricks", "--drug-type", "cocaine",
                "--quantity-kg", "212.5", "--concealment", "rip-on/rip-off", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert recorded["outcome"] == "seizure" and recorded["critical"] is True  # a seizure is always critical
    assert recorded["officer"] == "inspector.cli" and recorded["declaration_id"] == f"{org['id']}:CLI-1"

    listed = json.loads(ok(run("controls", "list", "CLI-1", "--as", "inspector.cli", "--json")).stdout)
    assert [o["status"] for o in listed["orders"]] == ["done"]  # the result closed its order
    assert [(r["drug_type"], float(r["quantity_kg"])) for r in listed["results"]] == [("cocaine", 212.5)]
    assert json.loads(ok(run("controls", "list", "CLI-2", "--as", "inspector.cli", "--json")).stdout) == {
        "orders": [],
        "results": [],
    }

    code, _, err = run_main(
        monkeypatch, capsys, "controls", "record", "CLI-1", "--outcome", "seizure", "--as", "nobody"
    )
    assert code == 1 and "no user 'nobody'" in _flat(err)
    code, _, err = run_main(
        monkeypatch, capsys, "controls", "record", "CLI-1", "--outcome", "seizure", "--as", "inspector.cli",
        "--quantity-kg", "-3",
    )  # fmt: skip
    assert code == 1 and "quantity_kg" in _flat(err)
