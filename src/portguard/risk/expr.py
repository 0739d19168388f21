"""Rule conditions: a small SQL-like language, parsed and checked by sqlglot, compiled to DuckDB and Spark SQL.

A rule's `when` is one boolean expression over the documented declaration view (`COLUMNS`), for example

    hs_chapter IN ('08', '09') AND in_list('cocaine_origins', origin) AND value_per_kg < 0.6

Why sqlglot and a whitelist: rules are written by analysts of many authorities and shared between them, so their
text is untrusted input that ends up inside a query. Every expression is parsed into sqlglot's syntax tree and
every node is checked against the whitelist below (node kinds, column names, function names and their arity);
anything else — a subquery, a statement, an unknown column, a function we did not allow — is refused with a message
that points at the token. Only the checked tree is turned back into SQL, by sqlglot, so no user text reaches a
database unparsed. The same tree transpiles to Spark SQL for batch scoring at scale.

Watch lists are named sets of values (countries, HS codes, party names), used as `in_list('name', column)`; the
name must be a string literal, and the compiled SQL reads the list from a `watch_lists(list, value)` relation that
the engine supplies. On a list-valued column (`route_countries`) it means "any element is on the list".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError


@dataclass(frozen=True)
class Column:
    """A column of the declaration view rules are written against."""

    name: str
    type: str  # text | number | integer | timestamp | boolean | text[]
    doc: str


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("declaration_id", "text", "the declaration's id (`<org>:<reference>`)"),
        Column("ref", "text", "the declaration's reference (LRN/MRN)"),
        Column("type", "text", "declaration type (ENS, IM, ...)"),
        Column("office", "text", "customs office of lodgement"),
        Column("lodged_at", "timestamp", "when it was lodged (UTC)"),
        Column("transport_mode", "text", "UN/ECE Rec. 19 mode: 1 sea, 2 rail, 3 road, 4 air, 5 post, 9 unknown"),
        Column("port_of_loading", "text", "UN/LOCODE"),
        Column("port_of_discharge", "text", "UN/LOCODE"),
        Column("departure", "text", "country of departure (ISO 3166-1 alpha-2)"),
        Column("route_countries", "text[]", "countries of routing, in order"),
        Column("origin", "text", "country of origin of the (first) goods item"),
        Column("hs6", "text", "HS code of the goods item, six digits"),
        Column("hs4", "text", "HS heading, four digits"),
        Column("hs_chapter", "text", "HS chapter, two digits ('08' fruit, '09' coffee, '18' cocoa, ...)"),
        Column("description", "text", "goods description as declared"),
        Column("gross_mass_kg", "number", "gross mass of the goods item"),
        Column("net_mass_kg", "number", "net mass of the goods item"),
        Column("value", "number", "declared value of the goods item"),
        Column("currency", "text", "currency of the value"),
        Column("value_per_kg", "number", "value / net mass (gross mass when no net mass); NULL when unknown"),
        Column("goods_items", "integer", "number of goods items"),
        Column("containers", "integer", "number of containers"),
        Column("consignee", "text", "consignee name (the importer when there is no consignee)"),
        Column("consignee_country", "text", "consignee country"),
        Column("consignee_age_days", "integer", "days since the consignee's first declaration (0: first one)"),
        Column("consignee_declarations", "integer", "earlier declarations of the consignee"),
        Column("consignee_controls", "integer", "control results on the consignee's earlier declarations"),
        Column("consignee_irregularities", "integer", "irregularities (seizures included) among those"),
        Column("consignee_seizures", "integer", "seizures among those"),
        Column(
            "party_network_risk",
            "number",
            "highest network risk (0-1) among the declaration's parties: how close they sit to seizures in the newest"
            " network run before the declaration",
        ),
        Column(
            "precursor_hit",
            "number",
            "strongest precursor-screening hit (0-1) on the declaration's goods lines: 1 an exact identifier, about"
            " 0.9 a name, 0.8 a designer form by unmasking, at most 0.5 similarity; 0 no hit",
        ),
        Column(
            "precursor_category",
            "text",
            "the most controlled EU precursor category among the hits ('1', '2A', '2B', '3', '4'); NULL without",
        ),
        Column("consignor", "text", "consignor name (the seller when there is no consignor)"),
        Column("consignor_country", "text", "consignor country"),
    )
}

# function -> (min args, max args); in_list is handled apart (its first argument names a watch list)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "lower": (1, 1),
    "upper": (1, 1),
    "length": (1, 1),
    "abs": (1, 1),
    "coalesce": (2, 8),
    "starts_with": (2, 2),
    "contains": (2, 2),
    "in_list": (2, 2),
}
_SQLGLOT_FUNCTIONS = {  # how sqlglot names the known ones in its tree
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Abs: "abs",
    exp.Coalesce: "coalesce",
    exp.StartsWith: "starts_with",
}
_ALLOWED = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.LT,
    exp.LTE,
    exp.GT,
    exp.GTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Neg,
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Tuple,
)
_PREDICATES = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.LT,
    exp.LTE,
    exp.GT,
    exp.GTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Boolean,
)
MAX_LENGTH = 4000
MAX_DEPTH = 30


class RuleSyntaxError(ValueError):
    """A rule condition that is not allowed, with where: `line`, `column` (1-based) and the offending text `near`."""

    def __init__(self, message: str, *, text: str, start: int | None = None, near: str | None = None) -> None:
        self.message, self.text, self.start, self.near = message, text, start, near
        if start is not None:
            self.line = text.count("\n", 0, start) + 1
            self.column = start - (text.rfind("\n", 0, start) + 1) + 1
        else:
            self.line = self.column = None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line else ""
        return f"{self.message}{where}"

    def caret(self) -> str:
        """The offending line with a caret under the token."""
        if self.line is None:
            return self.text
        line = self.text.splitlines()[self.line - 1] if self.text.splitlines() else ""
        return f"{line}\n{' ' * (self.column - 1)}^"

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "line": self.line, "column": self.column, "near": self.near}


def _position(text: str, word: str) -> int | None:
    """Where `word` first appears as a token of `text`."""
    try:
        tokens = sqlglot.tokenize(text, read="duckdb")
    except TokenError:
        return None
    for token in tokens:
        if token.text.lower() == word.lower():
            return token.start
    return None


def _refuse(text: str, message: str, word: str | None) -> RuleSyntaxError:
    return RuleSyntaxError(message, text=text, start=_position(text, word) if word else None, near=word)


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    for kind, name in _SQLGLOT_FUNCTIONS.items():
        if type(node) is kind:
            return name
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _arguments(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [
        a
        for a in (node.args.get("this"), *(node.args.get("expressions") or ()), node.args.get("expression"))
        if isinstance(a, exp.Expression)
    ]


def _check(text: str, tree: exp.Expression, watch_lists: frozenset[str] | None) -> None:
    for node in tree.walk():
        name = _function_name(node)
        if name is not None and not isinstance(node, _ALLOWED):
            if name not in FUNCTIONS:
                raise _refuse(text, f"unknown function {name}(); allowed: {', '.join(sorted(FUNCTIONS))}", name)
            low, high = FUNCTIONS[name]
            args = _arguments(node)
            if not low <= len(args) <= high:
                raise _refuse(text, f"{name}() takes {low}{'' if low == high else f' to {high}'} arguments", name)
            if name == "in_list":
                first, column = args
                if not (isinstance(first, exp.Literal) and first.is_string):
                    raise _refuse(text, "in_list() takes the list name as a string: in_list('name', column)", name)
                if watch_lists is not None and first.this not in watch_lists:
                    raise _refuse(text, f"unknown watch list {first.this!r}", first.this)
                if not isinstance(column, exp.Column):
                    raise _refuse(text, "in_list() checks a column: in_list('name', column)", name)
            continue
        if isinstance(node, exp.Column):
            if node.table:
                raise _refuse(text, "columns are named without a table", node.table)
            if node.name.lower() not in COLUMNS:
                raise _refuse(text, f"unknown column {node.name!r}; see the declaration view", node.name)
            continue
        if isinstance(node, exp.Identifier) and isinstance(node.parent, exp.Column):
            continue
        if isinstance(node, exp.Identifier) and _function_name(node.parent) is not None:
            continue
        if not isinstance(node, _ALLOWED):
            word = node.key.upper() if not isinstance(node, exp.Select | exp.Subquery) else "SELECT"
            raise _refuse(text, f"{node.key.upper()} is not allowed in a rule condition", word)


@lru_cache(maxsize=4096)
def _parse(text: str) -> exp.Expression:
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = first.get("line"), first.get("col")
        start = None
        if line:
            lines = text.split("\n")
            start = sum(len(x) + 1 for x in lines[: line - 1]) + max(0, (col or 1) - 1)
        description = first.get("description") or "cannot parse"
        raise RuleSyntaxError(description, text=text, start=start, near=first.get("highlight")) from None
    except TokenError as exc:
        raise RuleSyntaxError(f"cannot read the expression: {exc}", text=text) from None
    if statements == [None] or not statements:
        raise RuleSyntaxError("the condition is empty", text=text)
    if len(statements) != 1 or statements[0] is None:
        raise RuleSyntaxError("a condition is one expression (no ';')", text=text, start=text.find(";"), near=";")
    return statements[0]


def parse(text: str, *, watch_lists: frozenset[str] | None = None) -> exp.Expression:
    """The checked syntax tree of a rule condition; `RuleSyntaxError` for anything outside the whitelist.

    `watch_lists`, when given, are the list names `in_list()` may use. Checked trees are cached (rules run again
    and again); each call returns its own copy."""
    return _checked(text, watch_lists).copy()


@lru_cache(maxsize=4096)
def _checked(text: str, watch_lists: frozenset[str] | None) -> exp.Expression:
    if not text or not text.strip():
        raise RuleSyntaxError("the condition is empty", text=text or "")
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(f"the condition is longer than {MAX_LENGTH} characters", text=text[:200])
    try:
        commented = [t for t in sqlglot.tokenize(text, read="duckdb") if t.comments]
    except TokenError as exc:
        raise RuleSyntaxError(f"cannot read the expression: {exc}", text=text) from None
    if commented:  # a comment could hide text from a reviewer of the rule
        raise RuleSyntaxError("comments are not allowed in a rule condition", text=text, start=commented[0].end + 1)
    depth = deepest = 0
    for char in text:  # parentheses only; sqlglot's recursive parser is the other guard (RecursionError below)
        depth += (char == "(") - (char == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise RuleSyntaxError(f"the condition is nested deeper than {MAX_DEPTH} parentheses", text=text)
    try:
        tree = _parse(text)
        root = tree.unnest() if isinstance(tree, exp.Paren) else tree
        if not (isinstance(root, _PREDICATES) or _function_name(root) in ("in_list", "starts_with", "contains")):
            raise RuleSyntaxError(
                "a condition must be true or false (a comparison, IN, LIKE, IS NULL, in_list(), ... joined by AND/OR)",
                text=text,
                start=0,
            )
        _check(text, tree, watch_lists)
        _check_types(text, tree)
    except RecursionError:
        raise RuleSyntaxError("the condition is nested too deeply", text=text) from None
    return tree


_SQL_TYPES = {
    "text": "VARCHAR",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
    "text[]": "VARCHAR[]",
    "boolean": "BOOLEAN",
}
_local = threading.local()


@lru_cache(maxsize=4096)
def _type_error(statement: str) -> str | None:
    """DuckDB's complaint when `statement` (a count over `features`) runs on one row of the view, all NULL.

    Names and shapes are checked on the tree; types are checked by the engine that will run the rule, so that a
    condition such as `origin > 5` or `length(value) > 2` is refused when it is written, not when one published
    rule would stop every rule of the batch from running."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        nulls = ", ".join(f"NULL::{_SQL_TYPES[c.type]} AS {c.name}" for c in COLUMNS.values())
        con.execute(f"CREATE TABLE features AS SELECT {nulls}")
        con.execute("CREATE TABLE watch_lists (list VARCHAR, value VARCHAR)")
    try:
        con.execute(statement).fetchall()
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    return None


def _check_types(text: str, tree: exp.Expression) -> None:
    statement = exp.select(exp.Count(this=exp.Star())).from_("features").where(compile_tree(tree, "duckdb"))
    problem = _type_error(statement.sql(dialect="duckdb"))
    if problem is not None:
        hint = problem.split(": ", 1)[-1]
        raise RuleSyntaxError(f"type error: {hint}", text=text, start=0)


INLINE_MAX = 64  # watch lists up to this size are written into the query as literals


def compile_tree(
    tree: exp.Expression, dialect: str, *, inline: Mapping[str, Sequence[str]] | None = None
) -> exp.Expression:
    """The checked tree with in_list() and contains() rewritten to plain SQL over `watch_lists(list, value)`.

    Lists given in `inline` with at most INLINE_MAX values become literal `IN (...)` lists instead of a subquery
    (measured at 1M rows: each subquery is a hash join the whole row passes through; a short literal list is a
    vectorised comparison). The literals are quoted by sqlglot."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        name = _function_name(node)
        if name == "in_list":
            list_name, column = _arguments(node)
            values = (inline or {}).get(list_name.this)
            if values is not None and len(values) <= INLINE_MAX:
                literals = [exp.Literal.string(v) for v in values] or [exp.Null()]
                if COLUMNS[column.name.lower()].type == "text[]":
                    wanted = exp.Array(expressions=literals)
                    if dialect == "spark":
                        return exp.func("arrays_overlap", exp.column(column.name.lower()), wanted)
                    return exp.ArrayOverlaps(this=exp.column(column.name.lower()), expression=wanted)
                return exp.column(column.name.lower()).isin(*literals)
            values = (
                exp.select("value")
                .from_("watch_lists")
                .where(exp.column("list").eq(exp.Literal.string(list_name.this)))
            )
            if COLUMNS[column.name.lower()].type == "text[]":
                wanted = (
                    exp.select(exp.ArrayAgg(this=exp.column("value")))
                    .from_("watch_lists")
                    .where(exp.column("list").eq(exp.Literal.string(list_name.this)))
                )
                if dialect == "spark":  # sqlglot writes && for Spark, which Spark does not know
                    return exp.func("arrays_overlap", exp.column(column.name.lower()), exp.Subquery(this=wanted))
                return exp.ArrayOverlaps(this=exp.column(column.name.lower()), expression=exp.Subquery(this=wanted))
            return exp.In(this=column.copy(), query=exp.Subquery(this=values))
        if name == "contains":
            haystack, needle = _arguments(node)
            return exp.ArrayContains(this=haystack.copy(), expression=needle.copy())
        if isinstance(node, exp.Column):
            return exp.column(node.name.lower())
        return node

    return tree.copy().transform(rewrite)


def compile_sql(tree: exp.Expression, *, dialect: str = "duckdb") -> str:
    """SQL text of a checked condition for `dialect` (duckdb, spark, ...), generated by sqlglot from the tree."""
    return compile_tree(tree, dialect).sql(dialect=dialect)


def columns_used(tree: exp.Expression) -> set[str]:
    """The view columns a condition reads."""
    return {c.name.lower() for c in tree.find_all(exp.Column)}


def lists_used(tree: exp.Expression) -> set[str]:
    """The watch lists a condition reads."""
    out = set()
    for node in tree.walk():
        if _function_name(node) == "in_list":
            first = _arguments(node)[0]
            out.add(first.this)
    return out
