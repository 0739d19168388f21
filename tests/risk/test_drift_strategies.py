"""The selection strategies and the injected shift of the drift benchmark (`benchmarks/selection_drift.py`), on
synthetic scores and tables: no data set, no model."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "selection_drift.py"
    spec = importlib.util.spec_from_file_location("selection_drift", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["selection_drift"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


drift = _load()
STRATEGY_NAMES = sorted(drift.STRATEGIES)

# scores as a calibrated model gives them: in [0, 1], with ties (isotonic plateaus) from a coarse grid
scores_st = st.integers(1, 300).flatmap(
    lambda n: arrays(np.float64, n, elements=st.sampled_from([i / 20 for i in range(21)]) | st.floats(0, 1))
)


def _parts(scores: np.ndarray, budget: int, strategy: str, seed: int) -> tuple[np.ndarray, ...]:
    picks = drift.select(scores, budget, strategy, np.random.default_rng(seed))
    n_exploit, n_random, n_uncertain = drift.split_budget(min(budget, len(scores)), strategy)
    exploit = picks[:n_exploit]
    uncertain = picks[n_exploit : n_exploit + n_uncertain]
    random = picks[n_exploit + n_uncertain :]
    assert len(random) == n_random
    return picks, exploit, uncertain, random


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, share=st.floats(0, 1.2), strategy=st.sampled_from(STRATEGY_NAMES), seed=st.integers(0, 99))
def test_budget_respected_without_duplicates(scores: np.ndarray, share: float, strategy: str, seed: int) -> None:
    budget = round(share * len(scores))
    picks = drift.select(scores, budget, strategy, np.random.default_rng(seed))
    assert len(picks) == min(budget, len(scores))
    assert len(set(picks.tolist())) == len(picks)
    assert all(0 <= i < len(scores) for i in picks)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, share=st.floats(0, 1), strategy=st.sampled_from(STRATEGY_NAMES), seed=st.integers(0, 99))
def test_exploit_part_is_the_top_scores(scores: np.ndarray, share: float, strategy: str, seed: int) -> None:
    budget = round(share * len(scores))
    picks, exploit, _, _ = _parts(scores, budget, strategy, seed)
    others = np.setdiff1d(np.arange(len(scores)), exploit)
    if len(exploit) and len(others):
        assert scores[exploit].min() >= scores[others].max()
    if strategy == "exploit":
        assert len(exploit) == len(picks)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, share=st.floats(0, 1), seed=st.integers(0, 99))
def test_random_part_is_within_the_rest(scores: np.ndarray, share: float, seed: int) -> None:
    budget = round(share * len(scores))
    for strategy in ("random-10", "mixed-10"):
        _, exploit, uncertain, random = _parts(scores, budget, strategy, seed)
        assert not set(random.tolist()) & set(exploit.tolist())
        assert not set(random.tolist()) & set(uncertain.tolist())
        assert all(0 <= i < len(scores) for i in random)


@settings(max_examples=150, deadline=None)
@given(scores=scores_st, share=st.floats(0, 1), seed=st.integers(0, 99))
def test_uncertainty_part_is_nearest_the_boundary(scores: np.ndarray, share: float, seed: int) -> None:
    budget = round(share * len(scores))
    for strategy in ("uncertainty-10", "mixed-10"):
        _, exploit, uncertain, _ = _parts(scores, budget, strategy, seed)
        assert not set(uncertain.tolist()) & set(exploit.tolist())
        rest = np.setdiff1d(np.arange(len(scores)), np.concatenate([exploit, uncertain]))
        if len(uncertain) and len(rest):  # nothing left out of the uncertainty picks is nearer the boundary
            distance = np.abs(scores - drift.BOUNDARY)
            assert distance[uncertain].max() <= distance[rest].min()


@settings(max_examples=60, deadline=None)
@given(scores=scores_st, share=st.floats(0, 1), strategy=st.sampled_from(STRATEGY_NAMES), seed=st.integers(0, 99))
def test_deterministic_with_a_seed(scores: np.ndarray, share: float, strategy: str, seed: int) -> None:
    budget = round(share * len(scores))
    first = drift.select(scores, budget, strategy, np.random.default_rng(seed))
    second = drift.select(scores, budget, strategy, np.random.default_rng(seed))
    assert first.tolist() == second.tolist()


def test_split_of_a_weekly_budget() -> None:
    assert drift.split_budget(70, "exploit") == (70, 0, 0)
    assert drift.split_budget(70, "random-10") == (63, 7, 0)
    assert drift.split_budget(70, "uncertainty-10") == (63, 0, 7)
    assert drift.split_budget(70, "mixed-10") == (62, 4, 4)  # 3.5 rounds up, both ways
    assert drift.split_budget(0, "mixed-10") == (0, 0, 0)


def test_examples() -> None:
    scores = np.array([0.9, 0.1, 0.52, 0.8, 0.3, 0.45, 0.95, 0.05, 0.6, 0.2])
    rng = np.random.default_rng(0)
    assert sorted(drift.select(scores, 3, "exploit", rng).tolist()) == [0, 3, 6]
    # 10 picks of 20: 9 exploit and one uncertainty pick, the score nearest 0.5 outside the top 9
    many = np.concatenate([scores, scores - 0.01])
    picks = drift.select(many, 10, "uncertainty-10", rng)
    assert many[picks[-1]] == pytest.approx(0.51)
    top9 = np.argsort(-many, kind="stable")[:9]
    assert set(picks[:9].tolist()) == set(top9.tolist())


def test_tiebreak_orders_equal_scores() -> None:
    scores = np.array([0.5, 0.5, 0.5, 0.5, 0.1])
    raw = np.array([0.2, 0.9, 0.4, 0.7, 0.0])
    picks = drift.select(scores, 2, "exploit", np.random.default_rng(3), tiebreak=raw)
    assert picks.tolist() == [1, 3]


# ---------------------------------------------------------------------------------------------------- the shift


def _table(n: int = 8000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "lodged_at": start + pd.to_timedelta(rng.integers(0, 364, n), unit="D"),
            "hs_chapter": rng.choice(["20", "39", "85"], n),
            "origin": rng.choice(["CN", "JP"], n),
            "fraud": (rng.random(n) < 0.05).astype("int64"),
            "critical": np.zeros(n, dtype=bool),
        }
    )


def test_shift_relabels_only_the_pair_after_the_middle() -> None:
    truth = _table()
    middle = pd.Timestamp("2020-07-01", tz="UTC")
    out = drift.inject_shift(truth, chapter="20", origin="CN", start=middle, rate=0.8, rng=np.random.default_rng(5))
    pair = (truth["hs_chapter"] == "20") & (truth["origin"] == "CN")
    segment = pair & (truth["lodged_at"] >= middle)
    assert out["segment"].tolist() == segment.tolist()
    changed = out["fraud"] != truth["fraud"]
    assert changed.any()
    assert not (changed & ~segment).any()  # nothing outside the pair after the middle moves
    assert (out["fraud"] >= truth["fraud"]).all()  # frauds stay frauds
    assert out["relabelled"].tolist() == changed.tolist()
    rate = out.loc[segment, "fraud"].mean()
    expected = 0.8 + 0.2 * truth.loc[segment, "fraud"].mean()
    assert abs(rate - expected) < 0.06, (rate, expected, int(segment.sum()))
    assert truth["fraud"].tolist() == _table()["fraud"].tolist()  # the input is not modified


def test_shift_with_rate_zero_marks_the_segment_only() -> None:
    truth = _table(n=500)
    middle = pd.Timestamp("2020-07-01", tz="UTC")
    out = drift.inject_shift(truth, chapter="39", origin="JP", start=middle, rate=0.0, rng=np.random.default_rng(0))
    assert out["fraud"].tolist() == truth["fraud"].tolist()
    assert not out["relabelled"].any()
    assert out["segment"].sum() == ((truth["hs_chapter"] == "39") & (truth["origin"] == "JP")
                                    & (truth["lodged_at"] >= middle)).sum()  # fmt: skip


def test_shift_is_deterministic_with_a_seed() -> None:
    truth = _table(n=2000)
    middle = pd.Timestamp("2020-07-01", tz="UTC")
    runs = [
        drift.inject_shift(truth, chapter="20", origin="CN", start=middle, rate=0.5, rng=np.random.default_rng(9))
        for _ in range(2)
    ]
    assert runs[0]["fraud"].tolist() == runs[1]["fraud"].tolist()


def test_choose_pair_takes_the_cleanest_pair_with_volume() -> None:
    truth = _table()
    middle = pd.Timestamp("2020-07-01", tz="UTC")
    first = truth["lodged_at"] < middle
    clean = (truth["hs_chapter"] == "39") & (truth["origin"] == "JP")
    truth.loc[clean & first, "fraud"] = 0
    chapter, origin, rate, share = drift.choose_pair(truth, middle=middle, min_share=0.01)
    assert (chapter, origin, rate) == ("39", "JP", 0.0)
    assert share == pytest.approx((clean & ~first).sum() / (~first).sum())
    with pytest.raises(ValueError, match="no HS chapter"):
        drift.choose_pair(truth, middle=middle, min_share=0.5)
