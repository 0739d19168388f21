"""The `personnel` commands on both back-ends: import the register and the access logs from files, list, show and the
signals, acting `--as` the terminal's security officer and as the police (who must give `--justification`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from portguard.core.errors import InvalidInput, JustificationRequired
from portguard.personnel import cli as personnel_cli
from tests.personnel.conftest import Staff, at, box, placed, track
from tests.personnel.test_service import GOOD, REASON


@pytest.fixture
def run(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke `portguard personnel ARGS...` on the test database."""
    monkeypatch.setattr(personnel_cli, "from_settings", lambda: staff.db)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(personnel_cli.app, list(args))

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.stdout)


def test_register_logs_and_signals_from_the_command_line(run: Any, staff: Staff, tmp_path: Path):
    register = tmp_path / "staff.csv"
    register.write_text(GOOD.replace("DCT-0102,pending,", "DCT-0102,refused,"), encoding="utf-8")
    imported = _json(
        run("import", str(register), "--as", "delta.security", "--sharing-group", staff.group_id, "--json")
    )
    assert (imported["created"], imported["rows"]) == (3, 3)
    human = run(
        "import", str(register), "--as", "delta.security", "--sharing-group", "Delta terminal security partners"
    )
    assert human.exit_code == 0 and "0 registered, 0 updated, 3 unchanged" in " ".join(human.stdout.split())
    strict = _json(run("import", str(register), "--as", "delta.security", "--json"))  # the sharing is the file's too
    assert strict["updated"] == 3

    reefer = box(1)
    track(staff, placed(reefer, 0, "YARD R07-12-3"))
    logs = tmp_path / "access.csv"
    logs.write_text(
        "badge_id,at,kind,zone,system,action,container_number\n"
        f"DCT-0101,{at(1).isoformat()},system,,N4,container inquiry,{reefer}\n"
        f"DCT-0101,{at(20).isoformat()},badge,QUAY 4,,,\n",
        encoding="utf-8",
    )
    stored = _json(run("events", str(logs), "--as", "delta.security", "--json"))
    assert (stored["accepted"], stored["employees"]) == (2, 1)

    listed = _json(run("list", "--as", "delta.security", "--json"))
    assert listed["total"] == 3
    anouk = next(r for r in listed["items"] if r["badge_id"] == "DCT-0101")
    assert anouk["signals"] == {"outside_shift": 1, "lookup_outside_area": 1, "near_seized_container": 0}
    assert {r["badge_id"]: r["vetting"] for r in listed["items"]}["DCT-0102"] == "refused"
    table = run("list", "--as", "delta.security", "--vetting", "refused")
    assert table.exit_code == 0 and "Employees (1)" in table.stdout and "Anouk" not in table.stdout

    shown = _json(run("show", anouk["id"], "--as", "delta.security", "--json"))
    assert shown["access_events"] == 2 and shown["screening"] is None
    assert [s["kind"] for s in shown["signals"]] == ["lookup_outside_area", "outside_shift"]
    human = run("show", anouk["id"], "--as", "delta.security")
    assert human.exit_code == 0 and "Not screened by your organisation yet." in human.stdout

    signals = _json(run("signals", "--as", "delta.security", "--json", "--tolerance", "0"))
    assert len(signals) == 2 and signals[0]["evidence"]["container_number"] == reefer

    # the police: only with a reason
    refused = run("list", "--as", "police.analyst")
    assert refused.exit_code != 0 and isinstance(refused.exception, JustificationRequired)
    assert _json(run("list", "--as", "police.analyst", "--justification", REASON, "--json"))["total"] == 0
    _json(run("import", str(register), "--as", "delta.security", "--sharing-group", staff.group_id, "--json"))
    police = _json(run("list", "--as", "police.analyst", "--justification", REASON, "--json"))
    assert police["total"] == 3


def test_bad_files_are_refused_with_their_rows(run: Any, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace(",NL,6,14", ",XX,6,14"), encoding="utf-8")
    result = run("import", str(bad), "--as", "delta.security")
    assert result.exit_code != 0 and isinstance(result.exception, InvalidInput)
    assert "row 2, country" in " ".join(result.output.split())
    missing = run("events", str(tmp_path / "nope.jsonl"), "--as", "delta.security")
    assert isinstance(missing.exception, InvalidInput) and "no such file" in str(missing.exception)


def test_generate_writes_files_the_imports_read(run: Any, tmp_path: Path):
    result = run("generate", str(tmp_path / "out"), "--n", "12", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert (
        _json(run("import", str(tmp_path / "out" / "staff.csv"), "--as", "delta.security", "--json"))["created"] == 12
    )
    logged = _json(run("events", str(tmp_path / "out" / "access.jsonl"), "--as", "delta.security", "--json"))
    assert logged["accepted"] > 12 * 3 and logged["duplicates"] == 0
