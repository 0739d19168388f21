"""The `network` commands on both back-ends: run (with its progress bar), runs, link, entities, entity, communities,
path, export (each format written and audited as a disclosure) and decide, acting `--as` a person; another
organisation's analyst sees none of it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from portguard.controls.models import ControlResult
from portguard.core.audit import AuditEntry
from portguard.core.policy import Role
from portguard.network import cli as network_cli
from tests.network.test_service import AS_OF, consignee, seized_world  # noqa: F401 - the fixture


@pytest.fixture
def run(db, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke `portguard network ARGS...` on the test database."""
    monkeypatch.setattr(network_cli, "from_settings", lambda: db)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(network_cli.app, list(args))

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return json.loads(result.stdout)


def test_the_network_from_the_command_line(run: Any, db, seized_world, tmp_path: Path):  # noqa: F811
    w = seized_world
    me = w["analyst"].username
    runs = _json(run("runs", "--as", me, "--json"))
    assert runs["total"] == 1 and runs["items"][0]["id"] == w["run_id"]
    table = run("runs", "--as", me)
    assert table.exit_code == 0 and "Network runs (1)" in table.stdout

    listed = _json(run("entities", "--as", me, "--min-risk", "0.01", "--json"))
    assert listed["run_id"] == w["run_id"] and listed["total"] >= 1
    name = consignee(w["seized"])["name"]
    entity = next(e for e in listed["items"] if name in e["names"])
    assert entity["risk"] == 1.0 and entity["hops_to_seizure"] == 2

    shown = _json(run("entity", entity["id"], "--as", me, "--json"))
    assert shown["id"] == entity["id"] and shown["run_id"] == w["run_id"]
    assert [d["id"] for d in shown["declarations"] if d["seized"]] == [w["seized_id"]]
    human = run("entity", entity["id"], "--as", me)
    assert human.exit_code == 0 and "risk 1.000 · 2 links to a seizure" in " ".join(human.stdout.split())
    assert "Party records" in human.stdout

    communities = _json(run("communities", "--as", me, "--json"))
    assert communities["run_id"] == w["run_id"] and all(c["entities"] > 1 for c in communities["items"])

    node = f"entity:{entity['id']}"
    seizure = f"seizure:{_seizure_id(db)}"
    path = _json(run("path", node, seizure, "--as", me, "--json"))
    assert path["found"] and path["edge_kinds"] == ["party_to", "seized_in"]
    printed = run("path", node, seizure, "--as", me)
    assert printed.exit_code == 0 and "-[seized_in]-" in printed.stdout
    assert run("path", seizure, "phone:+1", "--as", me).exit_code == 2  # not linked

    for fmt in ("ftm", "graphml", "gexf", "i2"):
        summary = _json(run("export", node, "--as", me, "--format", fmt, "--out", str(tmp_path), "--json"))
        assert summary["format"] == fmt and summary["nodes"] > 1
        written = Path(summary["file"])
        assert written.parent == tmp_path and written.name.startswith(f"network-entity-{entity['id']}.")
        data = written.read_bytes()
        if fmt == "ftm":
            assert len(data.decode().splitlines()) == summary["nodes"] + summary["edges"]
        elif fmt == "graphml":
            assert nx.read_graphml(io.BytesIO(data)).number_of_nodes() == summary["nodes"]
        elif fmt == "gexf":
            assert nx.read_gexf(io.BytesIO(data)).number_of_nodes() == summary["nodes"]
        else:
            assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["entities.csv", "links.csv"]
    named = tmp_path / "case.graphml"
    assert _json(run("export", node, "--as", me, "--format", "graphml", "--out", str(named), "--json"))["file"] == str(
        named
    )
    with db.session() as s:
        disclosed = s.scalars(select(AuditEntry).where(AuditEntry.action == "disclose")).all()
    assert len(disclosed) == 5 and {e.username for e in disclosed} == {me}

    record = f"{w['seized_id']}#2"
    decided = _json(run("decide", "split", record, "--as", me, "--reason", "another VAT number", "--json"))
    assert decided["kind"] == "split" and decided["record"] == record
    refused = run("decide", "confirm", record, "--as", me, "--reason", "same person")
    assert refused.exit_code != 0 and "other record" in str(refused.exception)

    linked = _json(run("link", w["run_id"], "--as", me, "--json"))
    assert linked["records"] == 0
    again = _json(run("run", "--as", me, "--as-of", AS_OF.strftime("%Y-%m-%d"), "--json"))
    assert again["declarations"] == 150 and again["id"] != w["run_id"]
    said = run("run", "--as", me)
    assert said.exit_code == 0 and "entities" in said.stdout and "Network run net_" in said.stdout


def test_another_organisation_sees_none_of_it(run: Any, make_user, seized_world):  # noqa: F811
    w = seized_world
    other = make_user(Role.CUSTOMS_ANALYST).username
    assert _json(run("runs", "--as", other, "--json"))["total"] == 0
    hidden = run("entities", "--as", other, "--run", w["run_id"])
    assert hidden.exit_code != 0 and w["run_id"] in str(hidden.exception)
    inspector = make_user(Role.INSPECTION_OFFICER).username
    forbidden = run("run", "--as", inspector)
    assert forbidden.exit_code != 0 and "network:write" in str(forbidden.exception)


def _seizure_id(db) -> str:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return str(s.scalar(select(ControlResult.id).where(ControlResult.outcome == "seizure")))
