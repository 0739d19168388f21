"""`portguard model train|list|evaluate` and `portguard select` through the CLI, on the public KCS set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from portguard.core.policy import Role
from tests.risk.test_cli import cli_env, on_db, run  # noqa: F401 - fixtures
from tests.test_cli import _make_org, ok

KCS = Path(__file__).resolve().parents[3] / "shared" / "data" / "customs-declarations"
pytestmark = pytest.mark.skipif(
    not (KCS / "df_syn_train_eng.csv").is_file() and not os.environ.get("CI"), reason="KCS set not in ../shared/data"
)


def _sample(tmp_path: Path, rows: int) -> Path:
    lines = (KCS / "df_syn_train_eng.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "kcs_sample.csv"
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return path


def test_train_list_and_select_from_the_command_line(on_db, run, tmp_path, make_user):  # noqa: F811
    org = _make_org(run, "Korea Customs CLI", "customs_authority", "KR")
    analyst = make_user(Role.CUSTOMS_ANALYST, org_id=org["id"], username="kcs.analyst")
    ok(run("declarations", "ingest", str(_sample(tmp_path, 600)), "--format", "kcs", "--org", org["id"]))
    bad = run("model", "train", "--from", "2020-02-01", "--to", "2020-01-01", "--org", org["id"])
    assert bad.exit_code == 1
    trained = json.loads(ok(run("model", "train", "--from", "2020-01-01", "--to", "2020-02-01", "--org", org["id"],
                                "--json")).stdout)  # fmt: skip
    assert trained["status"] == "active" and trained["rows_train"] + trained["rows_valid"] > 50
    assert 0 <= trained["metrics"]["valid"]["roc_auc"] <= 1 and trained["metrics"]["curve"]
    listed = json.loads(ok(run("model", "list", "--json")).stdout)
    assert [m["id"] for m in listed] == [trained["id"]]
    day = "2020-01-02"
    office = "KR030"
    selected = json.loads(ok(run("select", "--date", day, "--office", office, "--capacity", "5",
                                 "--as", analyst.username, "--json")).stdout)  # fmt: skip
    assert selected["model_id"] == trained["id"] and 0 < len(selected["items"]) <= 5
    assert {i["reason"] for i in selected["items"]} <= {"model", "uncertainty", "random", "rules", "campaign"}
    human = ok(run("select", "--date", day, "--office", office, "--capacity", "5", "--as", analyst.username))
    assert "already ordered" in human.output or "selected" in human.output


def test_evaluate_on_the_public_set_beats_the_published_figures(cli_env, run):  # noqa: F811
    out = json.loads(ok(run("model", "evaluate", "--dataset", "kcs", "--data", str(KCS), "--seeds", "1",
                            "--json")).stdout)  # fmt: skip
    assert out["rows"] == {"train": 37385, "valid": 8134, "test": 8481}
    full, reduced = out["variants"]["all features"], out["variants"]["without mass and value"]
    assert full["precision@5%"]["mean"] > out["published"]["LightGBM, data-set paper"]["precision@5%"]
    assert full["precision@10%"]["mean"] > out["published"]["LightGBM, data-set paper"]["precision@10%"]
    assert reduced["precision@5%"]["mean"] < full["precision@5%"]["mean"]  # the mass/value history matters
    assert reduced["features"] < full["features"]
    unknown = run("model", "evaluate", "--dataset", "nope")
    assert unknown.exit_code != 0
