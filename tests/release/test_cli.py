"""The `release` commands on both back-ends: the chain from the command line, acting `--as` each party; the gate's
exit code; the token read from the environment, never from an argument."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from portguard.release import cli as release_cli
from tests.release.test_service import Port, container, port  # noqa: F401 - the fixture


@pytest.fixture
def run(port: Port, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    """Invoke `portguard release ARGS...` on the test database."""
    monkeypatch.setattr(release_cli, "from_settings", lambda: port.db)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return runner.invoke(release_cli.app, list(args), env=env, input=input)

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.stdout)


def test_the_chain_from_the_command_line(run: Any, port: Port):  # noqa: F811
    number = container(1)
    right = _json(
        run(
            "issue",
            number,
            "--document",
            "NSLU-BL-1",
            "--consignee",
            "Fresh Fruit Imports BV",
            "--terminal",
            "Delta Container Terminal",
            "--group",
            "Rotterdam port community",
            "--as",
            "line",
            "--json",
        )
    )
    rid = right["id"]
    assert right["lights"] == {"commercial": True, "customs": False, "terminal": False}
    assert _json(run("transfer", rid, "--to", "Polder Haulage", "--as", "line", "--json"))["holder_org_id"] == (
        port.haulier.org_id
    )
    refused = run("transfer", rid, "--to", "Dune Trucking", "--as", "line")
    assert refused.exit_code != 0 and "held by Polder Haulage" in str(refused.exception)

    driver = _json(run("register-driver", "Jan de Rijder", "--document", "NL123", "--as", "haulier", "--json"))
    token = driver["token"]
    assert token.startswith("pgd_")
    listed = _json(run("drivers", "--as", "haulier", "--json"))
    assert [d["id"] for d in listed] == [driver["id"]] and "token" not in listed[0]
    assert _json(run("assign", rid, "--driver", driver["id"], "--as", "haulier", "--json"))["status"] == "at_driver"
    assert _json(run("lights", rid, "--customs", "green", "--as", "customs", "--json"))["customs"] is True
    assert _json(run("lights", rid, "--terminal", "green", "--as", "terminal", "--json")) == {
        "commercial": True,
        "customs": True,
        "terminal": True,
    }
    shown = run("lights", rid, "--as", "police")
    assert shown.exit_code == 0 and "commercial:green customs:green terminal:green" in shown.stdout

    wrong = run("gate", number, "--as", "terminal", env={"PORTGUARD_DRIVER_TOKEN": "pgd_guess"})
    assert wrong.exit_code == 2 and "DENIED" in wrong.stdout and "identity token" in wrong.stdout
    allowed = run("gate", number, "--as", "terminal", "--json", env={"PORTGUARD_DRIVER_TOKEN": token})
    decision = _json(allowed)
    assert decision["allowed"] is True and decision["right_id"] == rid
    prompted = run("gate", number, "--as", "terminal", input=f"{token}\n")  # asked for, without echo
    assert prompted.exit_code == 2 and "already used" in prompted.stdout and token not in prompted.stdout

    listing = run("list", "--as", "customs")
    assert listing.exit_code == 0 and "Release rights (1)" in listing.stdout
    listed = _json(run("list", "--as", "customs", "--status", "used", "--json"))
    assert [(r["id"], r["container_number"], r["status"]) for r in listed["items"]] == [(rid, number, "used")]
    assert _json(run("list", "--as", "outsider", "--json")) == {"items": [], "total": 0}
    chain = _json(run("show", rid, "--as", "police", "--json"))["chain"]
    assert [s["action"] for s in chain] == [
        "issued",
        "transferred",
        "assigned",
        "light",
        "light",
        "gate_denied",
        "gate_allowed",
        "gate_denied",
    ]
    text = run("show", rid, "--as", "line")
    assert text.exit_code == 0 and "Polder Haulage" in text.stdout


def test_revoke_from_the_command_line(run: Any, port: Port):  # noqa: F811
    number = container(2)
    rid = _json(
        run(
            "issue",
            number,
            "--document",
            "B2",
            "--consignee",
            "ACME",
            "--terminal",
            port.terminal.org_id,
            "--group",
            port.group_id,
            "--as",
            "line",
            "--json",
        )
    )["id"]
    assert run("revoke", rid, "--reason", "x", "--as", "haulier").exit_code != 0
    assert _json(run("revoke", rid, "--reason", "cargo dispute", "--as", "line", "--json"))["status"] == "revoked"
