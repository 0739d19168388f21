"""The rule condition language: what sqlglot lets through the whitelist, what it refuses and where it points."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.risk import expr

SQL_TYPES = {
    "text": "VARCHAR",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "timestamp": "TIMESTAMPTZ",
    "text[]": "VARCHAR[]",
    "boolean": "BOOLEAN",
}
GOOD = [
    "hs_chapter = '08'",
    "hs_chapter IN ('08', '09') AND in_list('origins', origin)",
    "value_per_kg < 0.6 OR value / net_mass_kg > 100",
    "NOT (consignee_seizures > 0)",
    "description LIKE '%banana%' AND lower(consignee) LIKE '%fruit%'",
    "net_mass_kg BETWEEN 1000 AND 20000",
    "port_of_loading IS NULL",
    "in_list('hubs', route_countries)",
    "contains(route_countries, 'PA')",
    "coalesce(net_mass_kg, gross_mass_kg, 0) > 100",
    "starts_with(hs6, '0803')",
    "length(description) < 10 AND abs(value) > 1",
    "-value < -3",
    "TRUE",
]

REFUSED = [
    # text, message fragment, line, column, near
    ("origin = (SELECT 1)", "SUBQUERY is not allowed", 1, 11, "SELECT"),
    ("foo > 1", "unknown column 'foo'", 1, 1, "foo"),
    ("origin = 'EC' AND\n  weight > 3", "unknown column 'weight'", 2, 3, "weight"),
    ("drop_table(1) = 1", "unknown function drop_table()", 1, 1, "drop_table"),
    ("read_csv('/etc/passwd') IS NULL", "unknown function read_csv()", 1, 1, "read_csv"),
    ("origin = 'EC'; DROP TABLE declarations", "one expression", 1, 14, ";"),
    ("in_list(origin, origin)", "list name as a string", 1, 1, "in_list"),
    ("in_list('nope', origin)", "unknown watch list 'nope'", 1, 9, "nope"),
    ("in_list('origins', upper(origin))", "checks a column", 1, 1, "in_list"),
    ("declarations.origin = 'EC'", "without a table", 1, 1, "declarations"),
    ("origin IN (", "Expecting )", 1, 11, "("),
    ("value > 1 -- hide", "comments are not allowed", 1, None, None),
    ("origin", "must be true or false", 1, 1, None),
    ("value + 1", "must be true or false", 1, 1, None),
    ("lower(origin, origin) = 'x'", "maximum number of supported arguments (1)", 1, 21, ")"),
    ("upper() = 'x'", "missing", 1, 7, None),
    ("origin = 'EC' AND EXISTS (SELECT 1)", "unknown function exists()", 1, 19, "exists"),
    # types, checked by DuckDB on one all-NULL row of the view: one bad rule must not stop the whole batch
    ("origin > 5", "type error: Cannot compare values of type VARCHAR", 1, 1, None),
    ("contains(description, 'BANANA')", "type error", 1, 1, None),
    ("length(value) > 2", "type error", 1, 1, None),
    ("value LIKE '1%'", "type error", 1, 1, None),
    ("upper(route_countries) = 'X'", "type error", 1, 1, None),
    ("lodged_at > 'soon'", "type error: invalid timestamp", 1, 1, None),
]


@pytest.mark.parametrize("text", GOOD)
def test_good_conditions_parse_compile_and_run_in_duckdb_and_spark(text: str) -> None:
    tree = expr.parse(text, watch_lists=frozenset({"origins", "hubs"}))
    sql = expr.compile_sql(tree)
    con = duckdb.connect()
    con.execute("CREATE TABLE watch_lists (list VARCHAR, value VARCHAR)")
    columns = ", ".join(f"NULL::{SQL_TYPES[c.type]} AS {c.name}" for c in expr.COLUMNS.values())
    con.execute(f"CREATE TABLE features AS SELECT {columns}")
    con.execute(f"SELECT count(*) FROM features WHERE {sql}").fetchall()  # binds: every name and type resolves
    sqlglot.parse_one(expr.compile_sql(tree, dialect="spark"), read="spark")  # transpiles to valid Spark SQL


@pytest.mark.parametrize(("text", "fragment", "line", "column", "near"), REFUSED)
def test_refusals_name_the_token(text: str, fragment: str, line: int, column: int | None, near: str | None) -> None:
    with pytest.raises(expr.RuleSyntaxError) as info:
        expr.parse(text, watch_lists=frozenset({"origins"}))
    error = info.value
    assert fragment in error.message
    assert error.line == line
    if column is not None:
        assert error.column == column
    if near is not None:
        assert error.near == near
        assert "^" in error.caret()


def test_limits() -> None:
    with pytest.raises(expr.RuleSyntaxError, match="empty"):
        expr.parse("   ")
    with pytest.raises(expr.RuleSyntaxError, match="longer than"):
        expr.parse("origin = 'EC' AND " * 300 + "TRUE")


def test_quotes_inside_literals_stay_literals() -> None:
    tree = expr.parse("description = 'x'' OR 1=1 --'")
    sql = expr.compile_sql(tree)
    assert sql == "description = 'x'' OR 1=1 --'"
    con = duckdb.connect()
    con.execute("CREATE TABLE features (description VARCHAR)")
    con.execute("INSERT INTO features VALUES ('x'' OR 1=1 --'), ('other')")
    assert con.execute(f"SELECT count(*) FROM features WHERE {sql}").fetchone() == (1,)


def test_columns_and_lists_used() -> None:
    tree = expr.parse("in_list('a', origin) AND value_per_kg < 1 OR in_list('b', route_countries)")
    assert expr.columns_used(tree) == {"origin", "value_per_kg", "route_countries"}
    assert expr.lists_used(tree) == {"a", "b"}


# ---------------------------------------------------------------- generated conditions

_text = [c.name for c in expr.COLUMNS.values() if c.type == "text"]
_num = [c.name for c in expr.COLUMNS.values() if c.type in ("number", "integer")]
_literal = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_atoms = st.one_of(
    st.builds(lambda c, v: f"{c} = {_quote(v)}", st.sampled_from(_text), _literal),
    st.builds(
        lambda c, op, n: f"{c} {op} {n}",
        st.sampled_from(_num),
        st.sampled_from(["<", "<=", ">", ">=", "<>"]),
        st.integers(-(10**6), 10**6),
    ),
    st.builds(
        lambda c, vs: f"{c} IN ({', '.join(_quote(v) for v in vs)})",
        st.sampled_from(_text),
        st.lists(_literal, min_size=1, max_size=4),
    ),
    st.builds(lambda c: f"{c} IS NOT NULL", st.sampled_from(_text + _num)),
    st.builds(lambda c: f"in_list('origins', {c})", st.sampled_from(_text)),
)
_conditions = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a: f"NOT ({a})", inner),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(_conditions)
def test_generated_conditions_parse_compile_and_bind(text: str) -> None:
    """Whatever the grammar allows parses, and its compiled SQL binds and runs in DuckDB against the view."""
    sql = expr.compile_sql(expr.parse(text, watch_lists=frozenset({"origins"})))
    con = duckdb.connect()
    con.execute("CREATE TABLE watch_lists AS SELECT 'origins' AS list, 'EC' AS value")
    columns = ", ".join(f"NULL::{SQL_TYPES[c.type]} AS {c.name}" for c in expr.COLUMNS.values())
    con.execute(f"CREATE TABLE features AS SELECT {columns}")
    assert con.execute(f"SELECT count(*) FROM features WHERE {sql}").fetchone() in ((0,), (1,))


def test_every_view_column_and_function_is_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    missing = [c for c in expr.COLUMNS if f"| `{c}` |" not in text]
    missing += [f for f in expr.FUNCTIONS if f"`{f}" not in text]
    assert not missing, f"not in docs/rules.md: {missing}"
