"""`portguard rules ...` against each back-end: check, import, backtest, publish, list, diff, export and score."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from portguard import cli
from portguard.controls import cli as controls_cli
from portguard.controls.models import Outcome
from portguard.core import db as core_db
from portguard.core.db import Database
from portguard.core.errors import InvalidInput
from portguard.core.policy import Role
from portguard.core.settings import Settings, get_settings
from portguard.declarations import cli as declarations_cli
from portguard.risk import cli as risk_cli
from portguard.risk import service
from portguard.sharing import cli as sharing_cli
from tests.risk.test_features import control, goods, parties, simple, store
from tests.test_cli import _flat, ok, run_main

Run = Callable[..., Result]
STARTER = service.STARTER_PACK
CAMPAIGN = STARTER.with_name("campaign_fruit_q1.yaml")
KEYS = ["COC-001", "COC-002", "COC-003", "COC-004", "COC-005", "VAL-001", "VAL-002"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """PORTGUARD_* pointing at this test's data directory; databases the CLI opens are disposed afterwards (as in
    tests/test_cli.py, with the rules CLI patched too)."""
    monkeypatch.delenv("PORTGUARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("PORTGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORTGUARD_SECRET_KEY", "cli-test-secret-" + "k" * 24)
    opened: list[Database] = []
    original = core_db.from_settings

    def tracking(settings: Settings | None = None) -> Database:
        database = original(settings)
        opened.append(database)
        return database

    for module in (core_db, sharing_cli, declarations_cli, controls_cli, risk_cli):
        monkeypatch.setattr(module, "from_settings", tracking)
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
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(cli.app, list(args))

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


@pytest.fixture
def nl(on_db, make_org, make_user, tmp_path) -> Any:
    """An analyst of "Douane NL" with three declarations: D1 (fruit from Ecuador via Panama, a new consignee,
    seized), D2 (laptops from China) and D3 (fruit for D1's consignee, lodged after the seizure)."""
    org = make_org(name="Douane NL")
    user = make_user(Role.CUSTOMS_ANALYST, org_id=org)
    laptops = goods(
        {"hs_code": "847130", "description": "Laptops", "country_of_origin": "CN", "net_mass_kg": 1000, "value": 50000}
    )
    records = [
        simple("D1", datetime(2026, 3, 2, 8, tzinfo=UTC), parties=parties(eori="NL123456789")),
        simple(
            "D2",
            datetime(2026, 3, 2, 9, tzinfo=UTC),
            goods=laptops,
            country_of_departure="CN",
            port_of_loading="CNSHA",
            route_countries=["CN", "NL"],
            parties=parties(consignee="Laptop Traders B.V.", eori="NL987654321"),
        ),
        simple("D3", datetime(2026, 3, 3, 8, tzinfo=UTC), parties=parties(eori="NL123456789")),
    ]
    store(on_db, user, records, tmp_path)
    control(on_db, user, f"{org}:D1", Outcome.SEIZURE, datetime(2026, 3, 2, 12, tzinfo=UTC))
    return user


# ---------------------------------------------------------------- check


def test_check_passes_the_starter_files(cli_env, run):
    result = ok(run("rules", "check", str(STARTER), str(CAMPAIGN)))
    out = _flat(result.output)
    assert f"ok {STARTER}: 7 rules" in out and f"ok {CAMPAIGN}: 1 rules" in out
    report = as_json(run("rules", "check", str(STARTER), str(CAMPAIGN), "--json"))
    assert [(r["ok"], r["rules"], r["problems"]) for r in report] == [(True, 7, []), (True, 1, [])]


def test_check_fails_with_line_and_column(cli_env, run, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = STARTER.read_text(encoding="utf-8").replace(
        "when: consignee_seizures > 0", "when: consignee_seizures > 0 AND weight_kg > 5"
    )
    bad.write_text(text, encoding="utf-8")
    result = run("rules", "check", str(STARTER), str(bad))
    assert result.exit_code == 1
    out = _flat(result.output)
    assert "rules[3] (COC-004).when: unknown column 'weight_kg'; see the declaration view (line 1, column 28)" in out
    assert f"ok {STARTER}" in out  # the good file is still reported
    report = json.loads(run("rules", "check", str(bad), "--json").stdout)
    assert report[0]["ok"] is False and report[0]["rules"] is None
    assert report[0]["problems"] == [
        {
            "where": "rules[3] (COC-004).when",
            "message": "unknown column 'weight_kg'; see the declaration view",
            "line": 1,
            "column": 28,  # after "consignee_seizures > 0 AND "
            "near": "weight_kg",
        }
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\ntitle: Broken\nrules:\n  - id: R1\n\ttitle: tab\n", encoding="utf-8")
    result = run("rules", "check", str(broken))
    assert result.exit_code == 1
    assert "invalid YAML" in _flat(result.output) and "(line 5, column 1)" in _flat(result.output)


# ---------------------------------------------------------------- import, backtest, publish, list, score


def test_import_backtest_publish_list_and_score(nl, run, monkeypatch, capsys):
    org = nl.org_id
    set_id = f"{org}:starter-cocaine-routes"
    imported = as_json(run("rules", "import", str(STARTER), "--org", "Douane NL", "--json"))
    assert imported == {"id": set_id, "version": 1, "changes": [f"+{k}" for k in KEYS]}
    again = ok(run("rules", "import", str(STARTER), "--org", org))
    assert f"Saved {set_id} version 1: no change." in _flat(again.output)

    listed = as_json(run("rules", "list", "--json"))
    assert [(r["id"], r["version"], r["published"], r["draft"], r["backtested"]) for r in listed] == [
        (set_id, 1, 0, 7, False)
    ]

    # publishing before a backtest is refused
    refused = run("rules", "publish", "starter-cocaine-routes")
    assert refused.exit_code == 1 and isinstance(refused.exception, InvalidInput)
    code, _, err = run_main(monkeypatch, capsys, "rules", "publish", "starter-cocaine-routes")
    assert code == 1 and "no backtest on record" in _flat(err)
    assert as_json(run("rules", "list", "--json"))[0]["published"] == 0

    measured = as_json(
        run("rules", "backtest", "starter-cocaine-routes", "--from", "2026-03-01", "--to", "2026-04-01", "--json")
    )
    assert (measured["rule_set"], measured["version"]) == (set_id, 1)
    assert (measured["declarations"], measured["controlled"], measured["irregular"], measured["seizures"]) == (
        3,
        1,
        1,
        1,
    )
    assert sorted(measured["rules"]) == [f"{set_id}/{k}" for k in KEYS]
    hits = {k.split("/")[-1]: v["hits"] for k, v in measured["rules"].items()}
    assert hits == {"COC-001": 2, "COC-002": 2, "COC-003": 2, "COC-004": 1, "COC-005": 0, "VAL-001": 0, "VAL-002": 0}
    coc4 = measured["rules"][f"{set_id}/COC-004"]
    assert (coc4["controlled"], coc4["seizures"], coc4["overlap"]) == (0, 0, 1.0)
    # outside the data: nothing
    empty = as_json(
        run("rules", "backtest", "starter-cocaine-routes", "--from", "2025-01-01", "--to", "2025-02-01", "--json")
    )
    assert empty["declarations"] == 0
    human = ok(run("rules", "backtest", set_id, "--from", "2026-03-01", "--to", "2026-04-01"))
    assert "3 declarations, 1 controlled, base irregularity rate 100.0 %" in _flat(human.output)

    published = as_json(run("rules", "publish", set_id, "--json"))
    assert published == {"rule_set": set_id, "published": KEYS}
    listed = as_json(run("rules", "list", "--json"))
    assert [(r["published"], r["draft"], r["backtested"]) for r in listed] == [(7, 0, True)]

    scored = as_json(run("rules", "score", "--from", "2026-03-01", "--to", "2026-04-01", "--json"))
    assert (scored["declarations"], scored["hit"], scored["hits"]) == (3, 2, 7)
    assert scored["lanes"] == {"red": 1, "scan": 1}
    top = [(r["declaration_id"], r["score"], r["lane"], [x.split("/")[-1] for x in r["rules"]]) for r in scored["top"]]
    assert top == [
        (f"{org}:D3", 10.5, "red", ["COC-001", "COC-002", "COC-003", "COC-004"]),
        (f"{org}:D1", 6.5, "scan", ["COC-001", "COC-002", "COC-003"]),
    ]
    limited = as_json(run("rules", "score", "--from", "2026-03-01", "--to", "2026-04-01", "--top", "1", "--json"))
    assert [r["declaration_id"] for r in limited["top"]] == [f"{org}:D3"]
    assert as_json(run("rules", "score", "--from", "2026-03-03", "--to", "2026-03-04", "--json"))["hit"] == 1


def test_import_needs_an_owner(on_db, run, monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "rules", "import", str(STARTER))
    assert code == 1 and "--org" in _flat(err)
    code, _, err = run_main(monkeypatch, capsys, "rules", "import", str(STARTER), "--org", "Nobody")
    assert code == 1 and "Nobody" in _flat(err)


def test_import_of_a_bad_file_saves_nothing(on_db, make_org, run, tmp_path):
    make_org(name="Douane NL")
    bad = tmp_path / "bad.yaml"
    bad.write_text(STARTER.read_text(encoding="utf-8").replace("origin) OR", "origin) OR nope OR"), encoding="utf-8")
    result = run("rules", "import", str(bad), "--org", "Douane NL")
    assert result.exit_code == 1 and isinstance(result.exception, InvalidInput)
    assert "unknown column 'nope'" in _flat(result.output)
    assert as_json(run("rules", "list", "--json")) == []


def test_import_with_a_group_and_a_changed_file(on_db, make_org, run, tmp_path):
    from portguard.sharing import service as sharing
    from portguard.sharing.models import GroupIn

    nl_org, be_org = make_org(name="Douane NL"), make_org(name="Douane BE")
    with on_db.session() as session:
        group = sharing.create_group(session, actor=None, data=GroupIn(name="Alliance", org_ids=[nl_org, be_org])).id
    first = as_json(run("rules", "import", str(STARTER), "--org", "Douane NL", "--group", "Alliance", "--json"))
    changed = tmp_path / "changed.yaml"
    doc = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    doc["rules"][3]["when"] = "consignee_seizures > 1"
    del doc["rules"][6]
    changed.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    second = as_json(run("rules", "import", str(changed), "--org", "Douane NL", "--group", group, "--json"))
    assert (second["id"], second["version"], second["changes"]) == (first["id"], 2, ["~COC-004", "-VAL-002"])
    exported = yaml.safe_load(ok(run("rules", "export", first["id"])).stdout)
    assert (exported["owner"], exported["sharing_group"], exported["handling"]) == (nl_org, group, "AMBER")
    assert [r["id"] for r in exported["rules"]] == KEYS[:-1]


# ---------------------------------------------------------------- diff and export


def test_diff_shows_the_changed_rule(cli_env, run, tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        STARTER.read_text(encoding="utf-8").replace("when: consignee_seizures > 0", "when: consignee_seizures > 1"),
        encoding="utf-8",
    )
    result = ok(run("rules", "diff", str(STARTER), str(changed)))
    lines = [line.strip() for line in result.output.splitlines()]
    assert "--- a/COC-004" in lines and "+++ b/COC-004" in lines
    assert "-when: consignee_seizures > 0" in lines and "+when: consignee_seizures > 1" in lines
    assert not any("COC-001" in line or "VAL-00" in line for line in lines)
    assert "No differences." in ok(run("rules", "diff", str(STARTER), str(STARTER))).output
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    assert run("rules", "diff", str(STARTER), str(broken)).exit_code == 1


def test_export_round_trips_through_check(nl, run, tmp_path):
    set_id = as_json(run("rules", "import", str(STARTER), "--org", "Douane NL", "--json"))["id"]
    out = tmp_path / "exported.yaml"
    ok(run("rules", "export", "starter-cocaine-routes", "-o", str(out)))
    ok(run("rules", "check", str(out)))
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    original = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    assert exported["owner"] == nl.org_id and exported["example"] is True
    assert [r["id"] for r in exported["rules"]] == KEYS
    assert [" ".join(r["when"].split()) for r in exported["rules"]] == [
        " ".join(r["when"].split()) for r in original["rules"]
    ]
    assert {k: v["values"] for k, v in exported["watch_lists"].items()} == {
        k: [str(x) for x in v["values"]] for k, v in original["watch_lists"].items()
    }
    assert "No differences." in ok(run("rules", "diff", str(STARTER), str(out))).output
    # stdout is the same bundle, and importing the bundle (owner kept) changes nothing
    assert yaml.safe_load(ok(run("rules", "export", set_id)).stdout) == exported
    assert as_json(run("rules", "import", str(out), "--json")) == {"id": set_id, "version": 1, "changes": []}


def test_a_campaign_exports_its_window(on_db, make_org, run, tmp_path):
    make_org(name="Douane NL")
    set_id = as_json(run("rules", "import", str(CAMPAIGN), "--org", "Douane NL", "--json"))["id"]
    out = tmp_path / "campaign.yaml"
    ok(run("rules", "export", set_id, "-o", str(out)))
    ok(run("rules", "check", str(out)))
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert exported["kind"] == "campaign" and exported["min_control_rate"] == 0.05
    assert str(exported["valid_from"]).startswith("2026-01-01") and str(exported["valid_to"]).startswith("2026-04-01")


def test_unknown_rule_set_is_a_clear_error(on_db, run, monkeypatch, capsys):
    for args in (
        ("publish", "nope"),
        ("export", "nope"),
        ("backtest", "nope", "--from", "2026-01-01", "--to", "2026-02-01"),
    ):
        code, _, err = run_main(monkeypatch, capsys, "rules", *args)
        assert code == 1 and "no rule set with id or key 'nope'" in _flat(err), args
    result = run("rules", "score", "--from", "yesterday", "--to", "2026-01-01")
    assert result.exit_code == 2 and "not a date" in _flat(result.output)
