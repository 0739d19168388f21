"""Learned targeting over HTTP: training models and who may read or train them, a declaration's score and its
explanation, the daily selection with its control orders, the office's exploration share, and no access without
credentials; on both back-ends.

The labelled data are the first rows of the public KCS training file, uploaded by a customs analyst: their fraud
labels become control results (lodged 2020-01-01 to 2020-01-06, offices KR020, KR040, ...).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from portguard.controls.models import ControlOrder
from portguard.core.policy import OrgKind, Role
from tests.conftest import bearer
from tests.declarations.test_ingest import declaration
from tests.risk.test_api import _upload

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "customs-declarations"
TRAIN = DATA / "df_syn_train_eng.csv"
needs_data = pytest.mark.skipif(
    not TRAIN.is_file() and not os.environ.get("CI"), reason="KCS data set not in ../shared/data/customs-declarations"
)

ROWS = 400  # lodged 2020-01-01 .. 2020-01-06, 82 with a finding
WINDOW = {"from": "2020-01-01", "to": "2020-01-07"}
DAY, OFFICE = "2020-01-03", "KR040"  # 36 of the sample's declarations
REASONS = {"rules", "campaign", "model", "rule score", "uncertainty", "random"}
REASON_KIND = {
    "rules": "rule",
    "campaign": "rule",
    "model": "model",
    "rule score": "rule",
    "uncertainty": "random",
    "random": "random",
}
MEASURES = {f"{m}@{n}%" for m in ("precision", "recall", "critical_recall") for n in (1, 2, 5, 10)}


def _sample() -> tuple[bytes, list[dict[str, str]]]:
    """The header and first ROWS rows of the KCS training file, and those rows."""
    with TRAIN.open(encoding="utf-8", newline="") as f:
        lines = list(islice(f, ROWS + 1))
    return "".join(lines).encode(), list(csv.DictReader(lines))


def _count(rows: list[dict[str, str]], day: str, office: str) -> int:
    return sum(1 for r in rows if r["Date"] == day and f"KR{int(r['Office ID']):03d}" == office)


def _ingest_kcs(client, headers) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    content, rows = _sample()
    response = client.post(
        "/api/declarations/ingest", headers=headers, files={"file": ("kcs.csv", content)}, data={"format": "kcs"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "committed", response.text
    return rows


def _train(client, headers, **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/api/models/train", headers=headers, json=WINDOW | body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _problem(response, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


@pytest.fixture
def analyst(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.CUSTOMS_ANALYST)


@pytest.fixture
def labelled(client, db, analyst) -> tuple[dict[str, str], list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    """The analyst's API headers, after uploading the KCS sample into the analyst's organisation."""
    headers = bearer(db, analyst)
    return headers, _ingest_kcs(client, headers)


@needs_data
def test_training_keeps_an_active_model_with_its_measures_and_retires_the_previous(client, analyst, labelled):
    headers, rows = labelled
    first = _train(client, headers, name="first")
    assert first["status"] == "active" and first["name"] == "first" and first["owner_org_id"] == analyst.org_id
    assert first["id"].startswith("mdl")
    assert first["train_from"].startswith("2020-01-01") and first["train_to"].startswith("2020-01-07")
    metrics = first["metrics"]
    assert first["rows_train"] + first["rows_valid"] == metrics["controlled"] == ROWS
    assert first["rows_train"] > first["rows_valid"] > 0
    assert metrics["base_rate"] == pytest.approx(sum(int(r["Fraud"]) for r in rows) / ROWS)
    valid = metrics["valid"]
    assert valid["n"] == first["rows_valid"] and 0 < valid["positives"] < valid["n"]
    assert valid.keys() >= MEASURES
    for key in MEASURES:
        assert valid[key] is None or 0.0 <= valid[key] <= 1.0, key
    assert valid["roc_auc"] is None or 0.0 <= valid["roc_auc"] <= 1.0
    curve = metrics["curve"]
    assert len(curve) == 50 and [p["share"] for p in curve[:2]] == [0.01, 0.02]
    assert all(0.0 <= p["precision"] <= 1.0 and 0.0 <= p["recall"] <= 1.0 for p in curve)
    assert [p["recall"] for p in curve] == sorted(p["recall"] for p in curve)  # the top n % only grows
    importance = metrics["importance"]
    assert 0 < len(importance) <= 20
    assert all(feature in first["features"] and gain >= 0 for feature, gain in importance)
    assert [g for _, g in importance] == sorted((g for _, g in importance), reverse=True)

    second = _train(client, headers)
    assert second["status"] == "active" and second["name"] == "2020-01-01..2020-01-07"  # the default name
    listed = client.get("/api/models", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [(m["id"], m["status"]) for m in listed.json()] == [(second["id"], "active"), (first["id"], "retired")]
    assert client.get(f"/api/models/{first['id']}", headers=headers).json()["status"] == "retired"

    # a window with too few control results, and an empty window: refused, nothing trained
    few = _problem(
        client.post("/api/models/train", headers=headers, json={"from": "2020-01-01", "to": "2020-01-02"}), 422
    )
    assert "26 controlled declarations" in few["detail"] and "at least 50" in few["detail"]
    for window in ({"from": "2020-01-07", "to": "2020-01-07"}, {"from": "2020-01-07", "to": "2020-01-01"}):
        empty = _problem(client.post("/api/models/train", headers=headers, json=window), 422)
        assert "'to' must be after 'from'" in str(empty["errors"]), empty
    assert _problem(client.post("/api/models/train", headers=headers, json={"from": "2020-01-01"}), 422)
    assert _problem(client.post("/api/models/train", headers=headers, json=WINDOW | {"seed": 1}), 422)  # extra=forbid
    assert len(client.get("/api/models", headers=headers).json()) == 2


@needs_data
def test_a_one_day_window_with_enough_control_results_trains(client, labelled):
    headers, rows = labelled
    assert sum(1 for r in rows if r["Date"] == "2020-01-02") == 210  # 40 with a finding: both outcomes
    response = client.post("/api/models/train", headers=headers, json={"from": "2020-01-02", "to": "2020-01-03"})
    assert response.status_code == 201, response.text  # rows tied in time are split by position, 85 / 15
    assert (response.json()["rows_train"], response.json()["rows_valid"]) == (178, 32)


@needs_data
def test_models_are_read_by_their_organisation_and_trained_by_its_analysts(client, db, analyst, make_user, labelled):
    headers, _ = labelled
    other = make_user(Role.CUSTOMS_ANALYST)  # customs too, another organisation
    officer = make_user(Role.INSPECTION_OFFICER, org_id=analyst.org_id)
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    police = make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE)
    h_other, h_officer, h_terminal, h_police = (bearer(db, u) for u in (other, officer, terminal, police))
    model = _train(client, headers)
    path = f"/api/models/{model['id']}"

    assert client.get(path, headers=headers).json() == model
    assert client.get(path, headers=h_officer).json() == model  # model:read
    assert [m["id"] for m in client.get("/api/models", headers=h_officer).json()] == [model["id"]]
    refused = _problem(client.post("/api/models/train", headers=h_officer, json=WINDOW), 403)  # no model:write
    assert "model:write" in refused["detail"]

    assert "no model" in _problem(client.get(path, headers=h_other), 404)["detail"]  # a protected record
    assert client.get("/api/models", headers=h_other).json() == []
    assert _problem(client.get("/api/models/mdl_nothing", headers=headers), 404)
    for h in (h_terminal, h_police):  # no model permission at all
        assert "model:read" in _problem(client.get("/api/models", headers=h), 403)["detail"]
        assert _problem(client.get(path, headers=h), 403)
        assert _problem(client.post("/api/models/train", headers=h, json=WINDOW), 403)
    assert [m["id"] for m in client.get("/api/models", headers=headers).json()] == [model["id"]]


@needs_data
def test_a_declarations_score_is_explained_by_the_active_model(client, db, analyst, make_user, labelled):
    headers, rows = labelled
    decl_id = f"{analyst.org_id}:{rows[350]['Declaration ID']}"  # lodged 2020-01-04
    path = f"/api/declarations/{decl_id}/score"
    before = client.get(path, headers=headers)
    assert before.status_code == 200 and before.json() is None  # no model yet

    model = _train(client, headers)
    score = client.get(path, headers=headers)
    assert score.status_code == 200, score.text
    body = score.json()
    assert body["model_id"] == model["id"] and body["model_name"] == model["name"]
    assert 0.0 <= body["probability"] <= 1.0
    assert 0 < len(body["contributions"]) <= 6
    for c in body["contributions"]:
        assert {"feature", "value", "contribution"} <= c.keys(), c
        assert c["feature"] in model["features"] and isinstance(c["contribution"], float)
    magnitudes = [abs(c["contribution"]) for c in body["contributions"]]
    assert magnitudes == sorted(magnitudes, reverse=True)  # what moved it most first
    assert body["rules"] == []  # no published rule
    officer = make_user(Role.INSPECTION_OFFICER, org_id=analyst.org_id)
    assert client.get(path, headers=bearer(db, officer)).json() == body  # same organisation, same model

    # another customs organisation, with a model of its own, cannot read the declaration: 404, not its score
    other = make_user(Role.CUSTOMS_ANALYST)
    h_other = bearer(db, other)
    _ingest_kcs(client, h_other)
    _train(client, h_other)
    assert "no declaration" in _problem(client.get(path, headers=h_other), 404)["detail"].lower()
    assert _problem(client.get(f"/api/declarations/{analyst.org_id}:nothing/score", headers=headers), 404)
    # an organisation without a model: null for its own declaration
    third = make_user(Role.CUSTOMS_ANALYST)
    h_third = bearer(db, third)
    _upload(client, h_third, declaration("NOMODEL1"))
    plain = client.get(f"/api/declarations/{third.org_id}:NOMODEL1/score", headers=h_third)
    assert plain.status_code == 200 and plain.json() is None
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    assert _problem(client.get(path, headers=bearer(db, terminal)), 403)


def _select(client, headers, **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/api/selection", headers=headers, json={"date": DAY, "office": OFFICE} | body)
    assert response.status_code == 201, response.text
    return dict(response.json())


@needs_data
def test_selection_orders_controls_with_their_reasons_and_leaves_out_what_is_ordered(client, db, labelled):
    headers, rows = labelled
    model = _train(client, headers)
    n = _count(rows, DAY, OFFICE)
    assert n == 36

    run = _select(client, headers, capacity=10, exploration=0.2)
    assert run["id"].startswith("sel") and run["office"] == OFFICE and run["day"].startswith(DAY)
    assert (run["capacity"], run["exploration"], run["declarations"], run["model_id"]) == (10, 0.2, n, model["id"])
    items = run["items"]
    assert len(items) == 10  # within capacity, and there are more declarations than that
    assert all(i["reason"] in REASONS and i["order_id"] for i in items), items
    assert len({i["declaration_id"] for i in items}) == len({i["order_id"] for i in items}) == 10
    # no published rule: 2 of 10 kept for exploration (1 least certain, 1 at random), the model ranks the rest
    assert Counter(i["reason"] for i in items) == {"model": 8, "uncertainty": 1, "random": 1}
    assert run["counts"] == {
        "rules": 0,
        "campaign": 0,
        "model": 8,
        "rule score": 0,
        "uncertainty": 1,
        "random": 1,
        "already ordered": 0,
    }
    ranked = [i["score"] for i in items if i["reason"] == "model"]
    assert ranked == sorted(ranked, reverse=True) and all(0.0 <= s <= 1.0 for s in ranked)
    others = [i["score"] for i in items if i["reason"] != "model"]
    assert all(s <= min(ranked) for s in others)  # exploration picks what the ranking left
    assert client.get(f"/api/selection/{run['id']}", headers=headers).json() == run

    # each pick is an open control order of the declaration, with its reason and the run
    first = items[0]
    controls = client.get(f"/api/controls/declarations/{first['declaration_id']}", headers=headers)
    assert controls.status_code == 200, controls.text
    [order] = controls.json()["orders"]
    assert order["id"] == first["order_id"] and order["status"] == "open" and order["kind"] == "scan"
    assert order["reason_kind"] == "model" and order["reasons"]["selection"] == run["id"]
    assert order["reasons"]["reason"] == "model" and order["reasons"]["score"] == first["score"]
    with db.session() as session:
        orders = {o.id: o for o in session.scalars(select(ControlOrder)).all()}
    assert set(orders) == {i["order_id"] for i in items}
    for item in items:
        order = orders[item["order_id"]]
        assert order.declaration_id == item["declaration_id"] and order.status == "open"
        assert order.reason_kind == REASON_KIND[item["reason"]] and order.reasons["selection"] == run["id"]
        assert order.reasons["reason"] == item["reason"]

    # the same day again: what has an open order already is left out
    again = _select(client, headers, capacity=10, exploration=0.2)
    assert again["counts"]["already ordered"] == 10 and again["declarations"] == n - 10
    assert len(again["items"]) == 10
    assert not {i["declaration_id"] for i in again["items"]} & {i["declaration_id"] for i in items}
    assert again["id"] != run["id"]

    refused = [
        {"capacity": 0},
        {"capacity": 10_001},
        {"capacity": True},  # strict numbers: true is not 1, false not a share of 0
        {"capacity": "5"},
        {"capacity": 5, "exploration": 0.9},
        {"capacity": 5, "exploration": -0.1},
        {"capacity": 5, "exploration": False},
        {"capacity": 5, "office": ""},
        {"capacity": 5, "office": "X" * 13},
        {"capacity": 5, "seed": 1},
    ]
    for body in refused:
        assert _problem(
            client.post("/api/selection", headers=headers, json={"date": DAY, "office": OFFICE} | body), 422
        )
    assert _problem(client.post("/api/selection", headers=headers, json={"date": DAY, "office": OFFICE}), 422)
    assert _problem(client.get("/api/selection/sel_nothing", headers=headers), 404)
    with db.session() as session:
        assert len(session.scalars(select(ControlOrder)).all()) == 20  # the refused runs made no order


@needs_data
def test_officers_select_and_analysts_set_the_offices_exploration_share(client, db, analyst, make_user, labelled):
    headers, rows = labelled
    officer = make_user(Role.INSPECTION_OFFICER, org_id=analyst.org_id)
    h_officer = bearer(db, officer)
    office, day = "KR020", "2020-01-02"
    n = _count(rows, day, office)
    assert n == 75

    # without a model the rules' score ranks (no rule here), with the default exploration share
    plain = _select(client, h_officer, date=day, office=office, capacity=10)
    assert plain["model_id"] is None and plain["exploration"] == 0.1 and plain["declarations"] == n
    assert len(plain["items"]) == 10 and {i["reason"] for i in plain["items"]} == {"rule score", "random"}
    assert all(i["score"] is None for i in plain["items"])
    assert plain["counts"]["random"] == 1 and plain["counts"]["uncertainty"] == 0  # nothing to be uncertain about

    # the share is the analyst's to set (model:write), per office; a later run without one uses it
    setting = "/api/selection/settings/" + office
    assert "model:write" in _problem(client.put(setting, headers=h_officer, json={"exploration": 0.3}), 403)["detail"]
    answer = client.put(setting, headers=headers, json={"exploration": 0.3})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"office": office, "exploration": 0.3}
    for body in ({"exploration": 0.9}, {"exploration": -0.1}, {}):
        assert _problem(client.put(setting, headers=headers, json=body), 422)
    assert _problem(client.put("/api/selection/settings/" + "X" * 13, headers=headers, json={"exploration": 0.2}), 422)

    model = _train(client, headers)
    run = _select(client, h_officer, date=day, office=office, capacity=10)
    assert run["exploration"] == 0.3 and run["model_id"] == model["id"]
    assert run["counts"]["already ordered"] == 10 and run["declarations"] == n - 10
    assert Counter(i["reason"] for i in run["items"]) == {"model": 7, "uncertainty": 1, "random": 2}
    assert _select(client, h_officer, date=DAY, capacity=5)["exploration"] == 0.1  # another office: the default
    assert _select(client, h_officer, date=day, office=office, capacity=5, exploration=0.0)["exploration"] == 0.0
    assert client.get(f"/api/selection/{run['id']}", headers=headers).json()["id"] == run["id"]

    # other organisations do not see the run; without control:write or model:read there is no selecting
    other = make_user(Role.CUSTOMS_ANALYST)
    assert _problem(client.get(f"/api/selection/{run['id']}", headers=bearer(db, other)), 404)
    other_run = _select(client, bearer(db, other), date=day, office=office, capacity=5)
    assert other_run["declarations"] == 0 and other_run["items"] == []  # none of its declarations there
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    police = make_user(Role.POLICE_ANALYST, kind=OrgKind.POLICE)
    for h in (bearer(db, terminal), bearer(db, police)):
        assert _problem(
            client.post("/api/selection", headers=h, json={"date": day, "office": office, "capacity": 5}), 403
        )
        assert _problem(client.get(f"/api/selection/{run['id']}", headers=h), 403)
        assert _problem(client.put(setting, headers=h, json={"exploration": 0.2}), 403)


def test_no_access_without_credentials(client, db, make_user):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    decl = f"{analyst.org_id}:X"
    for method, path, kwargs in (
        ("GET", "/api/models", {}),
        ("GET", "/api/models/mdl_x", {}),
        ("POST", "/api/models/train", {"json": WINDOW}),
        ("GET", f"/api/declarations/{decl}/score", {}),
        ("POST", "/api/selection", {"json": {"date": DAY, "office": OFFICE, "capacity": 5}}),
        ("GET", "/api/selection/sel_x", {}),
        ("PUT", f"/api/selection/settings/{OFFICE}", {"json": {"exploration": 0.2}}),
    ):
        answer = client.request(method, path, **kwargs)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        forged = client.request(method, path, headers={"Authorization": "Bearer not-a-token"}, **kwargs)
        assert forged.status_code == 401, (method, path)
