"""Selection within capacity: red-lane rules, campaign minimums, exploration, then the ranking — the plan on its own
(pure), and `targeting.select` on the store making control orders."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portguard.controls.models import ControlOrder
from portguard.core.policy import Role
from portguard.risk import learning, targeting
from tests.declarations.test_ingest import declaration, load, write_jsonl
from tests.risk.test_service import rule, rule_file, save

CAMPAIGN = "org:campaign"


def scored(
    n: int, *, prob: list[float] | None, lanes: dict[int, str] | None = None, campaign: set[int] | None = None
) -> targeting.Scored:
    ids = [f"d{i:03d}" for i in range(n)]
    rule_ids = [[f"{CAMPAIGN}/C1"] if campaign and i in campaign else [] for i in range(n)]
    rule_score = [2.0 if lanes and i in lanes else 0.0 for i in range(n)]
    frame = learning.Frame(
        ids=ids,
        lodged_at=np.array([np.datetime64("2025-03-01")] * n, dtype="datetime64[us]"),
        office=np.array(["NL000396"] * n, dtype=object),
        X=pd.DataFrame({"rule_score": rule_score}),
        controlled=np.zeros(n, dtype=bool),
        y=np.zeros(n, dtype="int64"),
        critical=np.zeros(n, dtype=bool),
        rule_ids=rule_ids,
    )
    return targeting.Scored(
        frame,
        None if prob is None else np.array(prob),
        {ids[i]: lane for i, lane in (lanes or {}).items()},
        None,
    )


def reasons(picks: list[targeting.Pick]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in picks:
        out.setdefault(p.reason, []).append(p.declaration_id)
    return out


def test_red_lane_hits_come_first_then_the_model_with_exploration():
    prob = [i / 100 for i in range(100)]  # d099 scores highest
    day = scored(100, prob=prob, lanes={3: "red", 5: "red", 7: "scan"})
    picks = targeting.plan(day, capacity=20, exploration=0.1, campaigns={}, rng=random.Random(1))
    got = reasons(picks)
    assert got["rules"] == ["d005", "d003"]  # the higher score first; a scan-lane hit is not mandatory
    assert got["model"] == [f"d{i:03d}" for i in range(99, 83, -1)]  # 20 - 2 red - 2 exploration
    assert got["uncertainty"] == ["d050"]  # probability nearest 0.5 among what is left
    assert len(got["random"]) == 1 and got["random"][0] not in got["model"]
    assert [p.reason for p in picks][:2] == ["rules", "rules"] and len(picks) == 20


def test_a_campaign_gets_its_minimum_control_rate():
    prob = [0.9 if i >= 90 else 0.01 for i in range(100)]
    members = set(range(10, 30))  # 20 hits of the campaign, all scored low by the model
    day = scored(100, prob=prob, campaign=members)
    picks = targeting.plan(day, capacity=10, exploration=0.0, campaigns={CAMPAIGN: 0.2}, rng=random.Random(1))
    got = reasons(picks)
    assert len(got["campaign"]) == 4 and all(int(d[1:]) in members for d in got["campaign"])  # ceil(0.2 * 20)
    assert all(p.campaign == CAMPAIGN for p in picks if p.reason == "campaign")
    assert got["model"] == [f"d{i:03d}" for i in range(90, 96)]


def test_without_a_model_the_rules_score_ranks_and_exploration_is_random():
    day = scored(30, prob=None, lanes={4: "scan", 9: "yellow"})
    picks = targeting.plan(day, capacity=5, exploration=0.4, campaigns={}, rng=random.Random(3))
    got = reasons(picks)
    assert got["rule score"][:2] == ["d004", "d009"] and "uncertainty" not in got and len(got["random"]) == 2
    assert all(p.score is None for p in picks)


def test_capacity_above_the_day_selects_everything_once():
    picks = targeting.plan(scored(7, prob=[0.5] * 7), capacity=12, exploration=0.1, campaigns={}, rng=random.Random(1))
    assert sorted(p.declaration_id for p in picks) == [f"d{i:03d}" for i in range(7)]
    assert targeting.plan(scored(0, prob=[]), capacity=5, exploration=0.1, campaigns={}, rng=random.Random(1)) == []


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 60),
    capacity=st.integers(1, 40),
    exploration=st.floats(0, 0.5),
    with_model=st.booleans(),
)
def test_the_plan_respects_capacity_and_never_picks_twice(data, n, capacity, exploration, with_model):
    prob = data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)) if with_model else None
    red = data.draw(st.sets(st.integers(0, n - 1), max_size=n))
    day = scored(n, prob=prob, lanes=dict.fromkeys(red, "red"))
    picks = targeting.plan(day, capacity=capacity, exploration=exploration, campaigns={}, rng=random.Random(0))
    ids = [p.declaration_id for p in picks]
    assert len(ids) == len(set(ids)) == min(capacity, n)
    picked_red = [p for p in picks if p.reason == "rules"]
    assert len(picked_red) == min(capacity, len(red))  # red hits are never crowded out by exploration


def test_select_on_the_store_makes_orders_and_leaves_ordered_declarations_out(db, make_user, tmp_path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    decls = [declaration(f"S{i}", lodged_at=f"2026-03-02T{8 + i:02d}:00:00Z") for i in range(6)]
    decls[2]["goods"][0].update(hs_code="090111", description="Coffee")
    path = write_jsonl(tmp_path / "d.jsonl", decls)
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert report.status == "committed"
    set_id, _, _ = save(db, rule_file("sel", rules=[rule("RED", "hs_chapter = '09'", action="red")]),
                        actor=analyst.principal)  # fmt: skip
    from portguard.risk import service

    with db.session() as s:
        service.backtest(s, actor=analyst.principal, rule_set_id=set_id,
                         start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC))  # fmt: skip
        service.publish(s, actor=analyst.principal, rule_set_id=set_id)
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with db.session() as s:
        run = targeting.select(s, actor=analyst.principal, day=day, office="NL000396", capacity=3, seed=1)
        assert run.model_id is None and run.declarations == 6 and len(run.items) == 3
        first = run.items[0]
        assert first["reason"] == "rules" and first["declaration_id"].endswith(":S2")
        order = s.get(ControlOrder, first["order_id"])
        assert order is not None and order.kind == "physical" and order.reason_kind == "rule"
        assert order.reasons["selection"] == run.id and order.reasons["rules"] == [f"{set_id}/RED"]
    with db.session() as s:
        again = targeting.select(s, actor=analyst.principal, day=day, office="NL000396", capacity=10, seed=1)
        assert again.counts["already ordered"] == 3 and len(again.items) == 3  # the other three
        ordered = s.scalars(select(ControlOrder.declaration_id)).all()
        assert len(ordered) == len(set(ordered)) == 6
