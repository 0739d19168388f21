"""The `substances` commands on both back-ends: seed, register, screen, export and import, draft and send an alert,
answer it, and work the delivery queue — each acting `--as` a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from portguard.core.policy import OrgKind, Role
from portguard.core.settings import Settings
from portguard.substances import cli as substances_cli
from portguard.substances import service
from portguard.substances.models import AlertRecipient, Delivery, SubscriptionIn
from tests.substances.conftest import DATA


@pytest.fixture
def people(db, make_user, make_org):
    eu = make_org(kind=OrgKind.EU_AGENCY, country="PT")
    nl = make_org(country="NL")
    return {
        "eu": make_user(Role.ALERT_FOCAL_POINT, Role.CUSTOMS_ANALYST, org_id=eu, username="eu.cli"),
        "nl_focal": make_user(Role.ALERT_FOCAL_POINT, org_id=nl, username="nl.focal.cli"),
    }


@pytest.fixture
def run(db, monkeypatch: pytest.MonkeyPatch, precursors) -> Any:
    """Invoke `portguard substances ARGS...` on the test database, with the shared data folder."""
    monkeypatch.setattr(substances_cli, "from_settings", lambda: db)
    monkeypatch.setattr(
        substances_cli, "get_settings", lambda: Settings(shared_data_dir=DATA, nats_url="nats://127.0.0.1:1")
    )
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(substances_cli.app, list(args))

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.stdout)


def test_seed_register_screen_and_round_trip_from_the_command_line(run, people, tmp_path: Path, precursors):
    seeded = _json(run("seed", "--as", "eu.cli", "--json"))
    assert seeded["created"] == len(precursors.records)
    assert _json(run("seed", "--as", "eu.cli", "--json"))["created"] == 0
    new = _json(
        run(
            "register",
            "Methyl 3-oxo-4-phenylbutanoate",
            "--smiles",
            "COC(=O)CC(=O)Cc1ccccc1",
            "--as",
            "eu.cli",
            "--json",
        )
    )
    assert new["kind"] == "designer_precursor" and "decarboxylation" in new["parent_reason"]
    hits = _json(run("screen", "--description", "CAS 103-79-7 in drums", "--as", "eu.cli", "--json"))
    assert hits[0]["method"] == "identifier" and hits[0]["substance"] == "1-Phenyl-2-propanone"
    human = run("screen", "--description", "Fresh bananas", "--as", "eu.cli")
    assert human.exit_code == 0 and "No hit." in human.stdout
    out = tmp_path / "registry.sdf"
    assert run("export", str(out), "--as", "eu.cli").exit_code == 0
    imported = _json(run("import", str(out), "--as", "nl.focal.cli", "--json"))
    assert imported["created"] == len(precursors.records) + 1
    listed = _json(run("list", "--as", "nl.focal.cli", "--q", "MAPA", "--json"))
    assert {r["name"] for r in listed} == {"Methyl alpha-phenylacetoacetate"}


def test_an_alert_from_a_file_is_sent_answered_and_its_delivery_retried(run, db, people, tmp_path: Path):
    with db.session() as s:
        service.subscribe(
            s,
            actor=people["nl_focal"].principal,
            data=SubscriptionIn(name="all", nats_subject="portguard.alerts.cli-test"),
        )
    alert = tmp_path / "alert.json"
    alert.write_text(
        json.dumps(
            {"type": "advisory", "title": "Safrole-rich oils", "risk_type": "MDMA precursor", "risk_origin": "SE Asia"}
        ),
        encoding="utf-8",
    )
    sent = _json(run("alert", str(alert), "--as", "eu.cli", "--send", "--json"))
    assert sent["status"] == "sent" and sent["recipients"] == [people["nl_focal"].org_id]
    with db.session() as s:  # the CLI tried at once; no NATS answers on port 1, so the attempt failed and waits
        (queued,) = s.scalars(select(Delivery)).all()
        assert (queued.attempts, queued.status) == (1, "pending") and "NATS" in (queued.last_error or "")
    inbox = _json(run("alerts", "--as", "nl.focal.cli", "--box", "inbox", "--json"))
    assert [a["id"] for a in inbox] == [sent["id"]]
    answered = run("decide", sent["id"], "clear", "--as", "nl.focal.cli", "--note", "nothing here")
    assert answered.exit_code == 0, answered.output
    with db.session() as s:
        recipient = s.get(AlertRecipient, (sent["id"], people["nl_focal"].org_id))
        assert recipient.decision == "clear" and recipient.acknowledged_at is not None
    report = _json(run("deliver", "--json"))  # not yet due again: nothing attempted
    assert report["attempted"] == 0


def test_bad_input_is_refused_with_the_reason(run, people, tmp_path: Path):
    result = run("import", str(tmp_path / "missing.csv"), "--as", "eu.cli")
    assert result.exit_code != 0 and "no such file" in str(result.exception)
    bad = tmp_path / "alert.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run("alert", str(bad), "--as", "eu.cli")
    assert result.exit_code != 0 and "alert.json" in str(result.exception)
