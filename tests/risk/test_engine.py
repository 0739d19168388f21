"""All rules in one DuckDB query: the same hits as evaluating each rule alone, scores and lanes per declaration."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.risk import engine, expr

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _features(rows: list[dict]) -> pa.Table:
    kinds = {"text": pa.string(), "number": pa.float64(), "integer": pa.int64(),
             "timestamp": pa.timestamp("us", tz="UTC"), "text[]": pa.list_(pa.string())}  # fmt: skip
    return pa.table({c.name: pa.array([r.get(c.name) for r in rows], kinds[c.type]) for c in expr.COLUMNS.values()})


ROWS = [
    {"declaration_id": "a", "office": "NL1", "port_of_discharge": "NLRTM", "lodged_at": T0, "origin": "EC",
     "hs_chapter": "08", "value_per_kg": 0.4, "route_countries": ["EC", "PA"]},
    {"declaration_id": "b", "office": "NL1", "port_of_discharge": "NLRTM", "lodged_at": T0, "origin": "CN",
     "hs_chapter": "85", "value_per_kg": 9.0, "route_countries": ["CN"]},
    {"declaration_id": "c", "office": "BE1", "port_of_discharge": "BEANR", "lodged_at": T0.replace(month=5),
     "origin": "CO", "hs_chapter": "08", "value_per_kg": None, "route_countries": ["CO"]},
]  # fmt: skip
LISTS = {"coc": ["EC", "CO"], "hubs": ["PA"]}


def test_hits_scores_and_lanes() -> None:
    rules = [
        engine.ActiveRule("R1", 1, "hs_chapter = '08' AND in_list('coc', origin)", 2.0, "red"),
        engine.ActiveRule("R2", 3, "value_per_kg < 1", 1.0, "yellow"),
        engine.ActiveRule("R3", 1, "in_list('hubs', route_countries)", 0.5, "scan", offices=("NL1",)),
        engine.ActiveRule("R4", 1, "hs_chapter = '08'", 1.0, "blue", ports=("BEANR",)),
        engine.ActiveRule("R5", 1, "hs_chapter = '08'", 1.0, "notify", valid_to=T0.replace(month=4)),
        engine.ActiveRule("R6", 1, "origin = 'XX'", 9.0, "red"),  # hits nothing
    ]
    result = engine.run(_features(ROWS), rules, watch_lists=LISTS)
    assert sorted((h["declaration_id"], h["rule_id"], h["version"]) for h in result.hits.to_pylist()) == [
        ("a", "R1", 1), ("a", "R2", 3), ("a", "R3", 1), ("a", "R5", 1), ("c", "R1", 1), ("c", "R4", 1),
    ]  # fmt: skip
    # c: value_per_kg is NULL, so R2's condition is NULL: not a hit; R5 expired before c was lodged
    assert sorted(result.scores.to_pylist(), key=lambda r: r["declaration_id"]) == [
        {"declaration_id": "a", "score": 4.5, "rules": ["R1", "R2", "R3", "R5"], "lane": "red"},
        {"declaration_id": "c", "score": 3.0, "rules": ["R1", "R4"], "lane": "red"},
    ]


def test_lane_is_the_most_demanding_hit() -> None:
    rules = [engine.ActiveRule(f"R{lane}", 1, "TRUE", 1.0, lane) for lane in ("notify", "blue", "scan", "yellow")]
    scores = engine.run(_features(ROWS[:1]), rules).scores.to_pylist()
    assert scores[0]["lane"] == "scan" and scores[0]["score"] == 4.0
    for lane in engine.LANES:  # each lane alone comes back as itself
        only = engine.run(_features(ROWS[:1]), [engine.ActiveRule("R", 1, "TRUE", 1.0, lane)]).scores.to_pylist()
        assert only[0]["lane"] == lane


def test_no_rules_no_hits() -> None:
    result = engine.run(_features(ROWS), [])
    assert result.hits.num_rows == 0 and result.scores.num_rows == 0


def test_a_refused_condition_never_runs() -> None:
    try:
        engine.run(_features(ROWS), [engine.ActiveRule("X", 1, "origin = (SELECT 'EC')")])
    except expr.RuleSyntaxError as exc:
        assert "SUBQUERY" in str(exc)
    else:
        raise AssertionError("a subquery was run")


def test_scope_literals_are_quoted_by_sqlglot() -> None:
    rule = engine.ActiveRule("R", 1, "TRUE", offices=("NL1' OR '1'='1",))
    assert engine.run(_features(ROWS), [rule]).hits.num_rows == 0


# ---------------------------------------------------------------- against one query per rule

_CONDITIONS = [
    "hs_chapter = '08'", "origin IN ('EC', 'CO', 'PE')", "value_per_kg < 1", "value_per_kg >= 5",
    "in_list('coc', origin)", "in_list('hubs', route_countries)", "NOT in_list('coc', origin)",
    "consignee_seizures > 0", "consignee_age_days < 30 AND consignee_declarations < 3",
    "description LIKE '%BANANA%'", "net_mass_kg BETWEEN 1000 AND 20000", "port_of_loading IS NULL",
    "office = 'NL1' OR office = 'BE1'",
]  # fmt: skip


def _random_rows(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        net = rng.choice([None, rng.uniform(1, 30000)])
        value = rng.uniform(0, 50000)
        rows.append({
            "declaration_id": f"d{i:04d}", "office": rng.choice(["NL1", "BE1", "DE1"]), "lodged_at": T0,
            "hs_chapter": rng.choice(["08", "09", "85", None]), "origin": rng.choice(["EC", "CO", "CN", "PE", None]),
            "route_countries": rng.sample(["EC", "PA", "ES", "CN"], rng.randint(0, 3)),
            "value_per_kg": None if not net else value / net, "net_mass_kg": net,
            "consignee_seizures": rng.choice([0, 0, 1]), "consignee_age_days": rng.randint(0, 400),
            "consignee_declarations": rng.randint(0, 5),
            "description": rng.choice(["BANANAS", "FRESH BANANA", "TVS", None]),
            "port_of_loading": rng.choice(["ECGYE", None]), "port_of_discharge": rng.choice(["NLRTM", "BEANR"]),
        })  # fmt: skip
    return rows


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.sampled_from(_CONDITIONS), min_size=1, max_size=8))
def test_one_query_equals_each_rule_alone(rng: random.Random, conditions: list[str]) -> None:
    rows = _random_rows(rng, 60)
    rules = [
        engine.ActiveRule(f"R{i}", 1, c, weight=1 + i, lane=rng.choice(list(engine.LANES)),
                          offices=rng.choice([(), ("NL1",), ("BE1", "DE1")]))
        for i, c in enumerate(conditions)
    ]  # fmt: skip
    features = _features(rows)
    result = engine.run(features, rules, watch_lists=LISTS)
    con = duckdb.connect()
    con.register("features", features)
    pairs = [(k, v) for k, vs in LISTS.items() for v in vs]
    con.register("watch_lists", pa.table({"list": [k for k, _ in pairs], "value": [v for _, v in pairs]}))
    expected = set()
    for rule in rules:
        sql = expr.compile_sql(expr.parse(rule.condition))
        scope = f"office IN ({', '.join(repr(o) for o in rule.offices)}) AND " if rule.offices else ""
        for (decl,) in con.execute(f"SELECT declaration_id FROM features WHERE {scope}({sql})").fetchall():
            expected.add((decl, rule.rule_id))
    got = {(h["declaration_id"], h["rule_id"]) for h in result.hits.to_pylist()}
    assert got == expected
    weights = {r.rule_id: r.weight for r in rules}
    for score in result.scores.to_pylist():
        assert score["score"] == sum(weights[r] for r in score["rules"])
        assert score["rules"] == sorted(r for d, r in expected if d == score["declaration_id"])


def test_the_compiled_query_transpiles_to_spark_sql() -> None:
    import sqlglot

    rules = [
        engine.ActiveRule("R1", 1, "hs_chapter = '08' AND in_list('coc', origin)", offices=("NL1",), valid_to=T0),
        engine.ActiveRule("R2", 1, "in_list('hubs', route_countries) OR contains(route_countries, 'PA')"),
        engine.ActiveRule("R3", 1, "lower(description) LIKE '%banana%' AND value / net_mass_kg < 0.5"),
    ]
    spark = engine.build_query(rules, watch_lists=frozenset(LISTS), dialect="spark").sql(dialect="spark")
    tree = sqlglot.parse_one(spark, read="spark")  # parses as Spark SQL
    assert "EXPLODE(FILTER(ARRAY(" in spark and "ARRAYS_OVERLAP" in spark and "ARRAY_CONTAINS" in spark
    assert "LIST_DISTINCT" not in spark and "&&" not in spark  # DuckDB-only spellings do not leak into Spark
    assert len(list(tree.find_all(sqlglot.exp.Case))) == 3
