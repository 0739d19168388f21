"""`core.export`: no exported cell can start a spreadsheet formula, numbers stay numbers, and the CSV chunks parse
back (RFC 4180) to the header and rows that went in."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from portguard.core.export import FORMULA_STARTS, csv_chunks, spreadsheet_safe

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

# text that is likely to start with one of the dangerous characters, and any text at all
risky_text = st.one_of(
    st.text(),
    st.builds(lambda head, tail: head + tail, st.sampled_from(DANGEROUS), st.text()),
    st.builds(lambda head, tail: head + tail, st.sampled_from(["'", " ", "\n", '"', ",", ";", "'="]), st.text()),
)


def test_the_dangerous_characters_are_the_owasp_ones():
    assert set(FORMULA_STARTS) >= set(DANGEROUS)


@given(risky_text)
@example('=HYPERLINK("http://evil.example/?x","click")')
@example("@SUM(1+1)*cmd|' /C calc'!A0")
@example("-2+3")
@example("+1")
@example("\t=1")
@example("\r=1")
@example("")
@example("'")
@example("'=already quoted")
def test_no_cell_starts_a_formula(text):
    safe = spreadsheet_safe(text)
    assert type(safe) is str
    assert not safe.startswith(DANGEROUS)


def _undo(text: str, safe: str) -> str:
    """Take out the apostrophes the export adds: at the start, and after a ';' (and blanks) before a formula start."""
    inner = safe[1:] if text.startswith(DANGEROUS) else safe
    return re.sub(r";(\s*)'(?=[=+\-@\t\r])", r";\1", inner)


@given(risky_text)
@example("Bananas;=1+1")
@example("x; @SUM(A1:A9)")
def test_the_only_change_is_an_added_apostrophe(text):
    assume(";'" not in text.replace(" ", ""))  # an apostrophe already there would be indistinguishable from ours
    safe = spreadsheet_safe(text)
    assert _undo(text, safe) == text
    if text.startswith(DANGEROUS):
        assert safe.startswith("'")
    if ";" not in text:
        assert safe == ("'" + text if text.startswith(DANGEROUS) else text)


@given(st.text().filter(lambda t: not t.startswith(DANGEROUS) and ";" not in t))
def test_text_that_starts_no_formula_is_unchanged(text):
    assert spreadsheet_safe(text) == text


class _Named:
    def __str__(self) -> str:
        return "=1+1"


def test_other_values_are_made_safe_through_their_text():
    assert spreadsheet_safe(_Named()) == "'=1+1"
    assert spreadsheet_safe(b"=x") == "b'=x'"


@given(st.integers())
@example(-1)
@example(-(10**30))
def test_integers_are_their_plain_text(number):
    assert spreadsheet_safe(number) == str(number)


@given(st.decimals(allow_nan=False, allow_infinity=False))
@example(Decimal("-18500.10"))
@example(Decimal("-0.001"))
@example(Decimal("-1E+3"))
def test_decimals_are_their_plain_text(number):
    assert spreadsheet_safe(number) == str(number)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_their_plain_text(number):
    assert spreadsheet_safe(number) == str(number)


def test_none_booleans_and_timestamps():
    assert spreadsheet_safe(None) == ""
    assert spreadsheet_safe(True) == "true" and spreadsheet_safe(False) == "false"
    at = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert spreadsheet_safe(at) == "2026-03-02T08:15:00+00:00"
    west = datetime(2026, 3, 2, 8, 15, tzinfo=timezone(-timedelta(hours=5)))
    assert spreadsheet_safe(west) == "2026-03-02T08:15:00-05:00"  # a date, not "-05:00" at the start


# ---------------------------------------------------------------- csv_chunks


def _parse(chunks: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(chunks), newline="")))


HEADER = ("id", "description", "value", "=header")

cell = st.one_of(
    st.none(),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    risky_text,
    st.sampled_from(["a,b", 'say "hi"', "two\nlines", "crlf\r\nline", "\r", ",", '"', "'", "=1,2", '@"x"']),
)


@given(st.lists(st.tuples(cell, cell, cell, cell), max_size=30), st.integers(min_value=1, max_value=7))
def test_chunks_parse_back_to_the_safe_header_and_rows(rows, per_chunk):
    chunks = list(csv_chunks(HEADER, rows, rows_per_chunk=per_chunk))
    assert all(isinstance(c, str) for c in chunks)
    parsed = _parse(chunks)
    assert parsed[0] == ["id", "description", "value", "'=header"]
    assert parsed[1:] == [[spreadsheet_safe(v) for v in row] for row in rows]
    for row, given_row in zip(parsed[1:], rows, strict=True):
        for value, original in zip(row, given_row, strict=True):
            assert isinstance(original, int | Decimal) or not value.startswith(DANGEROUS)  # numbers may be negative


def test_tricky_cells_survive_the_round_trip():
    rows = [
        ["D1", 'Bananas, "premium"', Decimal("-18500.10")],
        ["D2", "line one\nline two", None],
        ["D3", "crlf\r\nline", 0],
        ["D4", '=HYPERLINK("http://evil.example/?x","click")', -3],
        ["D5", "", "@SUM(1+1)"],
    ]
    text = "".join(csv_chunks(("id", "description", "value"), rows))
    assert text.startswith("id,description,value\r\n")
    assert _parse([text]) == [
        ["id", "description", "value"],
        ["D1", 'Bananas, "premium"', "-18500.10"],
        ["D2", "line one\nline two", ""],
        ["D3", "crlf\r\nline", "0"],
        ["D4", '\'=HYPERLINK("http://evil.example/?x","click")', "-3"],
        ["D5", "", "'@SUM(1+1)"],
    ]


@pytest.mark.parametrize(("n", "per_chunk"), [(0, 3), (1, 3), (3, 3), (7, 3), (1200, 500)])
def test_more_rows_than_a_chunk_are_streamed_in_several_chunks(n, per_chunk):
    rows = ([i, f"item, {i}", f"-{i}"] for i in range(n))  # a generator: read once, as it streams
    chunks = list(csv_chunks(("n", "text", "neg"), rows, rows_per_chunk=per_chunk))
    assert len([c for c in chunks if c]) == n // per_chunk + (1 if n % per_chunk or n == 0 else 0)
    assert chunks[0].startswith("n,text,neg\r\n")
    assert all(c.endswith("\r\n") for c in chunks if c)  # a chunk never ends inside a row
    parsed = _parse(chunks)
    assert parsed[0] == ["n", "text", "neg"]
    assert parsed[1:] == [[str(i), f"item, {i}", f"'-{i}"] for i in range(n)]


def test_chunks_are_produced_lazily():
    pulled = 0

    def rows():
        nonlocal pulled
        for i in range(10):
            pulled += 1
            yield [i]

    chunks = csv_chunks(("n",), rows(), rows_per_chunk=2)
    first = next(chunks)
    assert first == "n\r\n0\r\n1\r\n" and pulled == 2


# ---------------------------------------------------------------- a finding


def test_no_cell_starts_a_formula_when_read_with_semicolons():
    text = "".join(csv_chunks(("id", "description"), [["D1", "Bananas;=1+1"], ["D2", "x;@SUM(A1:A9)"]]))
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=";"):
        assert not any(value.startswith(DANGEROUS) for value in row), row
