"""Model features without leakage, the LightGBM model (fit, calibration, explanation, round trip) and the measures.

Raw tables are built by hand here, so each test says exactly which control results exist and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.risk import engine, features, learning

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def raw_of(decls: list[dict], results: list[tuple[str, str, datetime, bool]]) -> features.Raw:
    """A Raw from declaration dicts (id, at, importer, hs, origin, mass, value) and results (id, outcome, at, crit)."""
    declarations = pa.table(
        {
            "id": [d["id"] for d in decls],
            "ref": [d["id"] for d in decls],
            "type": ["IM"] * len(decls),
            "office": [d.get("office", "NL000396") for d in decls],
            "lodged_at": pa.array([d["at"] for d in decls], features.TS),
            "transport_mode": ["1"] * len(decls),
            "port_of_loading": [None] * len(decls),
            "port_of_discharge": ["NLRTM"] * len(decls),
            "country_of_departure": [d.get("origin", "EC") for d in decls],
            "route_countries": pa.array([[] for _ in decls], pa.list_(pa.string())),
        }
    )
    goods = pa.table(
        {
            "declaration_id": [d["id"] for d in decls],
            "seq": [1] * len(decls),
            "hs_code": [d.get("hs", "080390") for d in decls],
            "description": ["goods"] * len(decls),
            "gross_mass_kg": [float(d.get("mass", 1000.0)) for d in decls],
            "net_mass_kg": [float(d.get("mass", 1000.0)) for d in decls],
            "value": [float(d.get("value", 900.0)) for d in decls],
            "currency": ["EUR"] * len(decls),
            "country_of_origin": [d.get("origin", "EC") for d in decls],
        }
    )
    parties = pa.table(
        {
            "declaration_id": [d["id"] for d in decls] * 2,
            "seq": [1] * len(decls) + [2] * len(decls),
            "role": ["consignee"] * len(decls) + ["declarant"] * len(decls),
            "name": [d.get("importer", "Fresh Fruit BV") for d in decls]
            + [d.get("declarant", "Broker") for d in decls],
            "eori": [None] * (2 * len(decls)),
            "country": ["NL"] * (2 * len(decls)),
        }
    )
    containers = pa.table({"declaration_id": pa.array([], pa.string()), "containers": pa.array([], pa.int64())})
    res = pa.table(
        {
            "declaration_id": [r[0] for r in results],
            "outcome": [r[1] for r in results],
            "recorded_at": pa.array([r[2] for r in results], features.TS),
            "critical": [r[3] for r in results],
        }
    )
    return features.Raw(declarations, goods, containers, parties, res)


def row(frame: learning.Frame, decl_id: str) -> dict:
    return frame.X.iloc[frame.ids.index(decl_id)].to_dict()


def test_history_counts_only_results_recorded_strictly_before_the_declaration():
    decls = [{"id": f"d{i}", "at": day(i)} for i in range(5)]
    results = [
        ("d0", "seizure", day(0), True),
        ("d1", "no_finding", day(1), False),
        ("d2", "irregularity", day(3), False),
    ]
    frame = learning.build_frame(raw_of(decls, results), start=day(0), end=day(10), label_cutoff=day(10))
    # d2's result is recorded on day 3, the same moment d3 is lodged: not yet known to d3
    assert [row(frame, f"d{i}")["h_importer_n"] for i in range(5)] == [0, 1, 2, 2, 3]
    prior = 2 / 3  # irregularity or seizure among the three results before the cutoff
    k, n = 1, 2  # what d3 knows: the seizure of d0 and the clean d1
    assert row(frame, "d3")["h_importer_rate"] == pytest.approx(
        (k + prior * learning.SMOOTHING) / (n + learning.SMOOTHING)
    )
    critical_prior = 1 / 3  # the seizure of d0 is the one critical finding
    assert row(frame, "d1")["h_importer_critical"] == pytest.approx((1 + critical_prior * 5) / (1 + 5))
    assert frame.controlled.tolist() == [True, True, True, False, False]
    assert frame.y.tolist()[:3] == [1, 0, 1] and frame.critical.tolist()[:3] == [True, False, False]


def test_results_after_the_label_cutoff_do_not_reach_the_features():
    decls = [{"id": f"d{i}", "at": day(i)} for i in range(6)]
    early = [("d0", "seizure", day(0), True)]
    late = [*early, ("d1", "seizure", day(4), True), ("d2", "seizure", day(4), True)]
    cutoff = day(3)
    a = learning.build_frame(raw_of(decls, early), start=day(0), end=day(10), label_cutoff=cutoff)
    b = learning.build_frame(raw_of(decls, late), start=day(0), end=day(10), label_cutoff=cutoff)
    history = [c for c in learning.FEATURES if c.startswith("h_")]
    assert a.X[history].equals(b.X[history])  # the later seizures change no feature of any row
    assert b.y.tolist()[:3] == [1, 1, 1]  # ... but they are labels of the rows they belong to


def test_history_is_per_key_and_missing_keys_get_none():
    decls = [
        {"id": "a1", "at": day(0), "importer": "Alpha BV"},
        {"id": "b1", "at": day(1), "importer": "Beta BV"},
        {"id": "a2", "at": day(2), "importer": "ALPHA B.V."},  # the same key once punctuation and case are gone
    ]
    frame = learning.build_frame(
        raw_of(decls, [("a1", "seizure", day(0.5), True)]), start=day(0), end=day(5), label_cutoff=day(5)
    )
    assert row(frame, "a2")["h_importer_n"] == 1 and row(frame, "b1")["h_importer_n"] == 0


def test_value_per_kg_deviation_uses_the_medians_before_the_cutoff_or_the_models_own():
    decls = [{"id": f"d{i}", "at": day(i), "value": v, "mass": 100.0} for i, v in enumerate([100, 200, 300, 3000])]
    frame = learning.build_frame(raw_of(decls, []), start=day(0), end=day(5), label_cutoff=day(3))
    assert frame.medians == {"080390|EUR": pytest.approx(2.0)}  # value per kg 1, 2, 3 before the cutoff
    assert row(frame, "d3")["value_per_kg_dev"] == pytest.approx(np.log(30 / 2))
    given_medians = learning.build_frame(
        raw_of(decls, []), start=day(0), end=day(5), label_cutoff=day(3), medians={"080390|EUR": 30.0}
    )
    assert row(given_medians, "d3")["value_per_kg_dev"] == pytest.approx(0.0)


def test_rule_score_and_hits_are_features():
    decls = [{"id": "d0", "at": day(0), "hs": "080390"}, {"id": "d1", "at": day(1), "hs": "090111"}]
    rules = [
        engine.ActiveRule("R1", 1, "hs_chapter = '08'", weight=3.0, lane="scan"),
        engine.ActiveRule("R2", 1, "hs6 = '080390'", weight=1.0, lane="red"),
    ]
    frame = learning.build_frame(raw_of(decls, []), start=day(0), end=day(2), label_cutoff=day(2), rules=rules)
    assert (row(frame, "d0")["rule_score"], row(frame, "d0")["rule_hits"]) == (4.0, 2.0)
    assert (row(frame, "d1")["rule_score"], row(frame, "d1")["rule_hits"]) == (0.0, 0.0)
    assert frame.rule_ids == [["R1", "R2"], []]


def planted(n: int, seed: int) -> learning.Frame:
    """Declarations where one importer is always irregular: a pattern the model must find."""
    rng = np.random.default_rng(seed)
    decls, results = [], []
    for i in range(n):
        bad = rng.random() < 0.3
        importer = "Crooked Imports BV" if bad else f"Clean {rng.integers(0, 40)} BV"
        decls.append(
            {"id": f"d{i:04d}", "at": day(i / 10), "importer": importer, "mass": float(rng.integers(100, 9000))}
        )
        outcome = "irregularity" if (bad or rng.random() < 0.05) else "no_finding"
        results.append((f"d{i:04d}", outcome, day(i / 10 + 0.05), False))
    return learning.build_frame(raw_of(decls, results), start=day(0), end=day(n), label_cutoff=day(n))


def test_fit_learns_a_planted_pattern_calibrates_explains_and_round_trips():
    frame = planted(600, seed=1)
    train, valid = frame.take(np.arange(len(frame)) < 450), frame.take(np.arange(len(frame)) >= 450)
    model = learning.fit(train, valid, seed=0)
    p = model.predict(valid.X)
    assert ((p >= 0) & (p <= 1)).all()
    m = learning.measures(valid.y, valid.critical, p)
    assert m["roc_auc"] > 0.9 and m["precision@10%"] > 0.9
    assert all(np.diff(model.calibration_y) >= 0)  # isotonic: non-decreasing
    again = learning.Model.from_dict(model.to_dict())
    assert np.allclose(again.predict(valid.X), p)
    bad = next(i for i in range(len(valid)) if valid.y[i] == 1)
    top = model.explain(valid.X.iloc[[bad]], top=3)[0]
    assert 1 <= len(top) <= 3 and top[0].feature.startswith("h_importer")  # the importer's record drives it
    assert abs(top[0].contribution) >= abs(top[-1].contribution)
    assert "h_importer_rate" in dict(model.importance()[:5])


def test_fit_without_mass_and_value_features_leaves_them_out():
    frame = planted(300, seed=2)
    model = learning.fit(
        frame.take(np.arange(300) < 200), frame.take(np.arange(300) >= 200), exclude=learning.MASS_VALUE
    )
    assert not set(model.features) & learning.MASS_VALUE and "h_goods_rate" in learning.MASS_VALUE
    assert "h_importer_rate" in model.features


def test_fit_refuses_training_data_with_one_outcome():
    decls = [{"id": f"d{i}", "at": day(i)} for i in range(30)]
    frame = learning.build_frame(
        raw_of(decls, [(f"d{i}", "no_finding", day(i), False) for i in range(30)]),
        start=day(0), end=day(40), label_cutoff=day(40),
    )  # fmt: skip
    with pytest.raises(ValueError, match="both outcomes"):
        learning.fit(frame, frame)


def test_measures_on_known_answers():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 1] * 10)
    critical = np.zeros(100, dtype=bool)
    critical[0] = True
    score = np.linspace(1, 0, 100)  # the first rows score highest
    m = learning.measures(y, critical, score)
    assert m["precision@1%"] == 1.0 and m["precision@5%"] == pytest.approx(2 / 5)
    assert m["recall@10%"] == pytest.approx(3 / 30) and m["critical_recall@1%"] == 1.0
    curve = learning.precision_curve(y, score, points=10)
    assert curve[0] == {"share": 0.01, "precision": 1.0, "recall": pytest.approx(1 / 30)}


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=300),
    share=st.sampled_from(learning.SHARES),
)
def test_top_n_takes_the_highest_scores(scores, share):
    score = np.array(scores)
    idx = learning.top_n(score, share)
    assert len(idx) == max(1, round(len(score) * share)) and len(set(idx.tolist())) == len(idx)
    rest = np.setdiff1d(np.arange(len(score)), idx)
    assert not len(rest) or score[idx].min() >= score[rest].max()
