"""Malformed input, one class per case: the precise error, and nothing of the file written (both back-ends)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from portguard.core.policy import Role
from tests.declarations.test_ingest import counts, declaration, load


def _lines(*records: Any) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _goods(**changes: Any) -> dict[str, Any]:
    d = declaration("R2")
    d["goods"][0].update(changes)
    return d


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return declaration("R2", voyage=value)


# name -> (file bytes, expected (row, field or None), a fragment of the reason)
CASES: dict[str, tuple[Callable[[], bytes], tuple[int | None, str | None], str]] = {
    "latin-1 encoding": (lambda: _lines(declaration("R1")) + "Café".encode("latin-1"), (2, None), "not UTF-8"),
    "NUL byte": (lambda: _lines(declaration("R1")) + b'{"ref": "R\x002"}\n', (2, None), "NUL byte"),
    "UTF-16 file": (lambda: _lines(declaration("R1")).decode().encode("utf-16"), (1, None), "NUL byte"),
    "empty file": (lambda: b"", (None, None), "empty"),
    "only blank lines": (lambda: b"\n\n  \n", (None, None), "empty"),
    "truncated file": (
        lambda: _lines(declaration("R1")) + json.dumps(declaration("R2")).encode()[:120],
        (2, None),
        "truncated",
    ),
    "JSON that is not an object": (lambda: _lines(declaration("R1"), [1, 2]), (2, None), "expected a JSON object"),
    "nesting too deep": (lambda: _lines(declaration("R1"), _nested(20)), (2, None), "nested deeper"),
    "huge line": (
        lambda: _lines(declaration("R1"), declaration("R2", voyage="x" * 1_100_000)),
        (2, None),
        "longer than",
    ),
    "unknown field": (
        lambda: _lines(declaration("R1"), {**declaration("R2"), "colour": "red"}),
        (2, "colour"),
        "Extra inputs are not permitted",
    ),
    "missing field": (
        lambda: _lines(declaration("R1"), {k: v for k, v in declaration("R2").items() if k != "goods"}),
        (2, "goods"),
        "Field required",
    ),
    "wrong type": (
        lambda: _lines(declaration("R1"), _goods(gross_mass_kg="heavy")),
        (2, "goods.0.gross_mass_kg"),
        "valid decimal",
    ),
    "impossible date": (
        lambda: _lines(declaration("R1"), declaration("R2", lodged_at="2026-02-30T10:00:00Z")),
        (2, "lodged_at"),
        "datetime",
    ),
    "date out of range": (
        lambda: _lines(declaration("R1"), declaration("R2", lodged_at="1899-01-01T00:00:00Z")),
        (2, "lodged_at"),
        "outside 2000",
    ),
    "negative mass": (
        lambda: _lines(declaration("R1"), _goods(net_mass_kg=-5)),
        (2, "goods.0.net_mass_kg"),
        "greater than or equal to 0",
    ),
    "net above gross": (
        lambda: _lines(declaration("R1"), _goods(gross_mass_kg=10, net_mass_kg=20)),
        (2, "goods.0"),
        "exceeds gross",
    ),
    "ISO 6346 check digit": (
        lambda: _lines(
            declaration("R1"),
            declaration(
                "R2",
                containers=[{"number": "CSQU3054385"}],
                goods=[{**declaration("R2")["goods"][0], "containers": []}],
            ),
        ),
        (2, "containers.0.number"),
        "check digit",
    ),
    "unknown country": (
        lambda: _lines(declaration("R1"), declaration("R2", country_of_departure="XK9")),
        (2, "country_of_departure"),
        "ISO 3166",
    ),
    "bad UN/LOCODE": (
        lambda: _lines(declaration("R1"), declaration("R2", port_of_discharge="NL-RTM")),
        (2, "port_of_discharge"),
        "UN/LOCODE",
    ),
    "HS code of wrong length": (
        lambda: _lines(declaration("R1"), _goods(hs_code="08039")),
        (2, "goods.0.hs_code"),
        "6, 8 or 10 digits",
    ),
    "duplicate ids in one file": (lambda: _lines(declaration("R1"), declaration("R1")), (2, "ref"), "duplicate"),
    "invalid IBAN": (
        lambda: _lines(
            declaration("R1"),
            declaration("R2", parties=[{"role": "consignee", "name": "X B.V.", "iban": "NL91ABNA0417164301"}]),
        ),
        (2, "parties.0.iban"),
        "IBAN",
    ),
    "bad IMO number": (
        lambda: _lines(declaration("R1"), declaration("R2", vessel_imo="9321484")),
        (2, "vessel_imo"),
        "IMO check digit",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_precisely_and_writes_nothing(db, make_user, tmp_path: Path, case: str):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    content, (row, field), fragment = CASES[case]
    path = tmp_path / "input.jsonl"
    path.write_bytes(content())
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert report.status == "rejected", case
    first = report.errors[0]
    assert (first.file, first.row, first.field) == ("input.jsonl", row, field), report.errors
    assert fragment in first.reason, first.reason
    assert counts(db) == {
        "declarations": 0,
        "goods_items": 0,
        "declaration_containers": 0,
        "declaration_parties": 0,
        "control_results": 0,
    }


def test_a_formula_in_a_description_is_stored_as_text(db, make_user, tmp_path: Path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    formula = '=HYPERLINK("http://evil.example","click")'
    path = tmp_path / "f.jsonl"
    path.write_bytes(_lines(_goods(description=formula)))
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert report.status == "committed"
    from portguard.declarations.models import GoodsItem

    with db.session() as s:
        assert s.get(GoodsItem, (f"{analyst.org_id}:R2", 1)).description == formula


def test_a_bom_is_accepted(db, make_user, tmp_path: Path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _lines(declaration("R1")))
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert (report.status, report.declarations) == ("committed", 1)


def test_mixed_line_endings_are_read(db, make_user, tmp_path: Path):
    analyst = make_user(Role.CUSTOMS_ANALYST)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(json.dumps(declaration("R1")).encode() + b"\r\n" + json.dumps(declaration("R2")).encode() + b"\n")
    report = load(db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="ics2")
    assert (report.status, report.declarations) == ("committed", 2)
