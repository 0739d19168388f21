"""CSV, Parquet and JSON Lines with a YAML column mapping: records, the documented example, and every error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portguard.core.policy import Role
from portguard.declarations import columnar, readers, tabular
from portguard.declarations.columnar import Columns, Valid
from portguard.declarations.models import Declaration, DeclarationIn
from portguard.declarations.readers import ReadError, RowError
from tests.declarations.test_columnar import assert_same_as_model, cells, nested
from tests.declarations.test_ingest import counts, load

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats" / "mapping.md"

MAPPING = """\
fields:
  ref: LRN
  lodged_at: Lodged
  office: {value: NL000396}
  transport_mode: {value: 1}
  country_of_departure: Departure
  route_countries: {column: Route, split: "|"}
  goods.0.hs_code: HS
  goods.0.description: Goods
  goods.0.gross_mass_kg: Gross kg
  goods.0.packages: Packages
  goods.0.containers: {column: Container, split: " "}
  containers.0.number: Container
  parties.consignee.name: Consignee
  parties.consignee.address.country: Consignee country
"""

COLUMNS = ["LRN", "Lodged", "Departure", "Route", "HS", "Goods", "Gross kg", "Packages", "Container", "Consignee"]
COLUMNS += ["Consignee country", "Unmapped"]
ROWS: list[dict[str, Any]] = [
    {
        "LRN": "A1",
        "Lodged": "2024-03-01T08:30:00Z",
        "Departure": "CN",
        "Route": "CN|SG|NL",
        "HS": "851713",
        "Goods": "Smartphones",
        "Gross kg": "1200.5",
        "Packages": "120",
        "Container": "MSCU1234566",
        "Consignee": "Acme BV",
        "Consignee country": "NL",
        "Unmapped": "x",
    },
    {
        "LRN": "A2",
        "Lodged": "2024-03-02T00:00:00Z",
        "Departure": "VN",
        "Route": "",
        "HS": "940350",
        "Goods": "Beds, wooden",
        "Gross kg": "8000",
        "Packages": "",
        "Container": "",
        "Consignee": "",
        "Consignee country": "",
        "Unmapped": "y",
    },
]


def _mapping(tmp_path: Path, text: str = MAPPING, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _csv_text(rows: list[dict[str, Any]], columns: list[str] = COLUMNS, sep: str = ",") -> str:
    def cell(value: Any) -> str:
        text = str(value)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in f'{sep}"\n\r') else text

    return "".join(
        sep.join(cell(r[c]) for c in columns) + "\n" for r in [dict(zip(columns, columns, strict=True)), *rows]
    )


def _read(path: Path, fmt: str, mapping: Path) -> list[Columns]:
    batches = list(readers.read(path, format=fmt, mapping=mapping))
    assert all(isinstance(b, Columns) for b in batches)
    return batches


def _one(path: Path, fmt: str, mapping: Path) -> Columns:
    """The file read as one batch."""
    (batch,) = _read(path, fmt, mapping)
    return batch


def _valid(batch: Columns) -> Valid:
    valid, errors = columnar.validate(batch, file="x")
    assert errors == []
    assert valid is not None
    return valid


def _errors(path: Path, fmt: str, mapping: Path) -> list[RowError]:
    with pytest.raises(ReadError) as exc:
        _read(path, fmt, mapping)
    return exc.value.errors


# ---------------------------------------------------------------- the documented example


def test_worked_example_of_the_docs(tmp_path: Path) -> None:
    blocks = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    data = next(b for lang, b in blocks if lang == "csv")
    mapping = [b for lang, b in blocks if lang == "yaml"][-1]
    expected = next(b for lang, b in blocks if lang == "json")
    (tmp_path / "acme.csv").write_text(data, encoding="utf-8")
    batch = _one(tmp_path / "acme.csv", "csv", _mapping(tmp_path, mapping, "acme.yaml"))
    assert batch.rows == [2, 3]
    assert nested(cells(batch, 0)) == json.loads(expected)
    assert batch.controls is None
    assert batch.sources["goods.0.gross_mass_kg"] == "Gross kg" and "office" not in batch.sources
    valid = _valid(batch)
    first, second = (DeclarationIn.model_validate(nested(cells(batch, i))) for i in range(2))
    assert_same_as_model(valid, 0, first)
    assert_same_as_model(valid, 1, second)
    assert valid.values["goods.0.gross_mass_kg"][0] == Decimal("1200.5")
    assert valid.parties == [("consignor", [True, False]), ("consignee", [True, True])]
    assert valid.containers == [(0, [True, False])]
    assert valid.values["goods.0.currency"][1] == "EUR"


def test_worked_example_through_ingest(db, make_user, tmp_path: Path) -> None:
    analyst = make_user(Role.CUSTOMS_ANALYST)
    blocks = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (tmp_path / "acme.csv").write_text(next(b for lang, b in blocks if lang == "csv"), encoding="utf-8")
    mapping = _mapping(tmp_path, [b for lang, b in blocks if lang == "yaml"][-1], "acme.yaml")
    report = load(
        db,
        actor=analyst.principal,
        owner_org_id=analyst.org_id,
        path=tmp_path / "acme.csv",
        format="csv",
        mapping=mapping,
    )
    assert (report.status, report.rows_read, report.declarations, report.errors) == ("committed", 2, 2, [])
    assert counts(db) == {
        "declarations": 2,
        "goods_items": 2,
        "declaration_containers": 1,
        "declaration_parties": 3,
        "control_results": 0,
    }
    with db.session() as s:
        first = s.get(Declaration, f"{analyst.org_id}:24NL0001")
        second = s.get(Declaration, f"{analyst.org_id}:24NL0002")
        assert first is not None and second is not None
        assert first.route_countries == ["CN", "SG", "NL"] and second.route_countries == []
        assert first.lodged_at.replace(tzinfo=UTC) == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
        assert [(c.number, c.seals) for c in first.containers] == [("MSCU1234566", ["SEAL1", "SEAL2"])]
        goods = first.goods[0]
        assert (goods.gross_mass_kg, goods.net_mass_kg, goods.currency) == (Decimal("1200.5"), Decimal(1100), "USD")
        assert goods.containers == ["MSCU1234566"]
        assert [
            (p.seq, p.role, p.name, p.eori, p.city, p.country) for p in sorted(first.parties, key=lambda p: p.seq)
        ] == [
            (1, "consignor", "Shenzhen Phone Co", None, None, "CN"),
            (2, "consignee", "Acme BV", "NL123456789", "Rotterdam", "NL"),
        ]
        assert [(p.seq, p.role) for p in second.parties] == [(1, "consignee")]
        assert (second.goods[0].currency, second.goods[0].containers, second.containers) == ("EUR", [], [])


def test_ingest_of_a_bad_csv_names_file_columns(db, make_user, tmp_path: Path) -> None:
    analyst = make_user(Role.CUSTOMS_ANALYST)
    path = tmp_path / "d.csv"
    path.write_text(_csv_text([ROWS[0], ROWS[1] | {"Container": "MSCU1234567"}]), encoding="utf-8")
    report = load(
        db, actor=analyst.principal, owner_org_id=analyst.org_id, path=path, format="csv", mapping=_mapping(tmp_path)
    )
    assert report.status == "rejected"
    assert [(e.row, e.field) for e in report.errors] == [(3, "Container"), (3, "Container")]  # both its targets
    assert report.errors[1].value == "MSCU1234567"  # containers.0.number (goods.0.containers holds a list)
    assert {e.reason for e in report.errors} == {"'MSCU1234567' fails the ISO 6346 check digit (expected 6)"}
    assert counts(db)["declarations"] == 0


# ---------------------------------------------------------------- the three formats


def test_csv_records(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(_csv_text(ROWS), encoding="utf-8")
    batch = _one(path, "csv", _mapping(tmp_path))
    assert batch.rows == [2, 3]
    assert batch.controls is None
    assert cells(batch, 0) == {
        "ref": "A1",
        "lodged_at": "2024-03-01T08:30:00Z",
        "office": "NL000396",
        "transport_mode": "1",  # an integer constant for a text field: its digits
        "country_of_departure": "CN",
        "route_countries": ["CN", "SG", "NL"],
        "goods.0.hs_code": "851713",
        "goods.0.description": "Smartphones",
        "goods.0.gross_mass_kg": "1200.5",
        "goods.0.packages": "120",
        "goods.0.containers": ["MSCU1234566"],
        "containers.0.number": "MSCU1234566",
        "parties.consignee.name": "Acme BV",
        "parties.consignee.address.country": "NL",
    }
    # empty cells are None
    assert cells(batch, 1) == {
        "ref": "A2",
        "lodged_at": "2024-03-02T00:00:00Z",
        "office": "NL000396",
        "transport_mode": "1",
        "country_of_departure": "VN",
        "route_countries": None,
        "goods.0.hs_code": "940350",
        "goods.0.description": "Beds, wooden",
        "goods.0.gross_mass_kg": "8000",
        "goods.0.packages": None,
        "goods.0.containers": None,
        "containers.0.number": None,
        "parties.consignee.name": None,
        "parties.consignee.address.country": None,
    }
    assert batch.sources == {
        "ref": "LRN",
        "lodged_at": "Lodged",
        "country_of_departure": "Departure",
        "route_countries": "Route",
        "goods.0.hs_code": "HS",
        "goods.0.description": "Goods",
        "goods.0.gross_mass_kg": "Gross kg",
        "goods.0.packages": "Packages",
        "goods.0.containers": "Container",
        "containers.0.number": "Container",
        "parties.consignee.name": "Consignee",
        "parties.consignee.address.country": "Consignee country",
    }
    # a party or container with only empty cells is left out
    valid = _valid(batch)
    assert valid.parties == [("consignee", [True, False])]
    assert valid.containers == [(0, [True, False])]
    assert valid.values["route_countries"] == [["CN", "SG", "NL"], []]
    assert valid.values["goods.0.packages"] == [120, None]
    assert valid.values["lodged_at"][1] == datetime(2024, 3, 2, tzinfo=UTC)
    for i in range(2):
        assert_same_as_model(valid, i, DeclarationIn.model_validate(nested(cells(batch, i))))


def test_csv_errors_name_the_file_column(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[1] | {"Gross kg": "heavy", "Consignee country": "NL"}, ROWS[0] | {"LRN": "A3", "HS": "85"}]
    path = tmp_path / "d.csv"
    path.write_text(_csv_text(rows), encoding="utf-8")
    valid, errors = columnar.validate(_one(path, "csv", _mapping(tmp_path)), file=path.name)
    assert valid is None
    assert [(e.file, e.row, e.field, e.value) for e in errors] == [
        ("d.csv", 3, "Gross kg", "heavy"),
        ("d.csv", 3, "Consignee", None),  # an address country but no name
        ("d.csv", 4, "HS", "85"),
    ]
    assert [e.reason for e in errors][1] == "Field required"


def test_the_three_formats_agree(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(_csv_text(ROWS), encoding="utf-8")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    mapping = _mapping(tmp_path)
    batches = {fmt: _one(tmp_path / f"d.{fmt}", fmt, mapping) for fmt in ("csv", "jsonl", "parquet")}
    valid = {fmt: _valid(batch) for fmt, batch in batches.items()}
    assert valid["csv"].values == valid["jsonl"].values == valid["parquet"].values
    assert valid["csv"].parties == valid["jsonl"].parties == valid["parquet"].parties
    assert valid["csv"].containers == valid["jsonl"].containers == valid["parquet"].containers
    assert valid["csv"].values["goods.0.gross_mass_kg"] == [Decimal("1200.5"), Decimal("8000")]
    assert batches["csv"].rows == [2, 3]
    assert batches["jsonl"].rows == [1, 2]
    assert batches["parquet"].rows == [1, 2]


def test_parquet_types_batches_and_mapped_columns_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 5
    table = pa.table(
        {
            "LRN": [f"P{i}" for i in range(n)],
            "Lodged": pa.array([datetime(2024, 3, 1, i, tzinfo=UTC) for i in range(n)], pa.timestamp("s", tz="UTC")),
            "HS": pa.array([851713, 940350, None, 851713, 940350], pa.int64()),
            "Goods": ["phones", "beds", "?", "phones", "beds"],
            "Gross kg": pa.array([1.5, 2.0, 3.25, None, 5.0], pa.float64()),
            "Packages": pa.array([1, 2, 3, 4, None], pa.int32()),
            "Big unmapped": ["z" * 1000] * n,
        }
    )
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=2)
    mapping = _mapping(
        tmp_path,
        "fields:\n  ref: LRN\n  lodged_at: Lodged\n  office: {value: NL000396}\n  goods.0.hs_code: HS\n"
        "  goods.0.description: Goods\n  goods.0.gross_mass_kg: Gross kg\n  goods.0.packages: Packages\n",
    )
    asked: list[Any] = []
    real = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)
    batches = _read(tmp_path / "d.parquet", "parquet", mapping)
    assert asked == [{"batch_size": 2, "columns": ["LRN", "Lodged", "HS", "Goods", "Gross kg", "Packages"]}]
    assert [b.rows for b in batches] == [[1, 2], [3, 4], [5]]
    first = cells(batches[0], 0)
    assert first["lodged_at"] == datetime(2024, 3, 1, 0, tzinfo=UTC)
    assert first["goods.0.hs_code"] == "851713"  # an integer for a text field becomes its digits
    assert first["goods.0.gross_mass_kg"] == 1.5 and first["goods.0.packages"] == 1
    assert cells(batches[1], 0)["goods.0.hs_code"] is None  # null: empty
    assert cells(batches[1], 1)["goods.0.gross_mass_kg"] is None
    last = _valid(batches[2])
    assert last.values["goods.0.packages"] == [None]
    assert last.values["goods.0.gross_mass_kg"] == [Decimal("5.0")]
    assert last.values["lodged_at"] == [datetime(2024, 3, 1, 4, tzinfo=UTC)]
    _, errors = columnar.validate(batches[1], file="d.parquet")
    assert [(e.row, e.field, e.reason) for e in errors] == [(3, "HS", "Field required")]


def test_parquet_with_constants_only_is_batched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pq.write_table(pa.table({"Unmapped": list(range(5))}), tmp_path / "d.parquet")
    mapping = _mapping(tmp_path, "fields:\n  office: {value: NL000396}\n")
    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)
    batches = _read(tmp_path / "d.parquet", "parquet", mapping)
    assert [b.rows for b in batches] == [[1, 2], [3, 4], [5]]
    assert [b.values for b in batches] == [{"office": ["NL000396"] * 2}] * 2 + [{"office": ["NL000396"]}]


def test_csv_and_jsonl_are_batched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [ROWS[0] | {"LRN": f"B{i}"} for i in range(5)]
    (tmp_path / "d.csv").write_text(_csv_text(rows), encoding="utf-8")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)
    mapping = _mapping(tmp_path)
    csv_batches = _read(tmp_path / "d.csv", "csv", mapping)
    assert [b.rows for b in csv_batches] == [[2, 3], [4, 5], [6]]
    assert [b.values["ref"] for b in csv_batches] == [["B0", "B1"], ["B2", "B3"], ["B4"]]
    jsonl_batches = _read(tmp_path / "d.jsonl", "jsonl", mapping)
    assert [b.rows for b in jsonl_batches] == [[1, 3], [5, 7], [9]]
    assert [b.values["ref"] for b in jsonl_batches] == [["B0", "B1"], ["B2", "B3"], ["B4"]]


def test_jsonl_keys_missing_from_a_line_are_empty(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    lines = [
        {"LRN": "J1", "Lodged": "2024-03-01", "HS": "851713", "Goods": "phones", "Route": ["CN", "NL"]},
        {},
        {"LRN": "J2", "Lodged": "2024-03-01", "HS": "851713", "Goods": "phones", "Departure": "CN"},
    ]
    text = json.dumps(lines[0]) + "\n\n" + json.dumps(lines[2]) + "\n"
    path.write_text(text, encoding="utf-8")
    mapping = _mapping(
        tmp_path,
        "fields:\n  ref: LRN\n  lodged_at: Lodged\n  office: {value: NL000396}\n  goods.0.hs_code: HS\n"
        "  goods.0.description: Goods\n  route_countries: Route\n  country_of_departure: Departure\n",
    )
    batch = _one(path, "jsonl", mapping)
    assert batch.rows == [1, 3]
    a, b = cells(batch, 0), cells(batch, 1)
    assert a["route_countries"] == ["CN", "NL"] and a["country_of_departure"] is None
    assert b["country_of_departure"] == "CN" and b["route_countries"] is None
    assert _valid(batch).values["route_countries"] == [["CN", "NL"], []]


def test_constants_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("ref;hs\nC1;851713\n", encoding="utf-8")
    mapping = _mapping(
        tmp_path,
        'delimiter: ";"\nfields:\n  ref: ref\n  lodged_at: {value: 2024-03-01}\n  office: {value: 396}\n'
        "  route_countries: {value: [CN, NL]}\n  goods.0.hs_code: hs\n  goods.0.description: {value: Phones}\n"
        "  parties.carrier.name: {value: Maersk}\n",
    )
    batch = _one(path, "csv", mapping)
    assert batch.rows == [2]
    row = cells(batch, 0)
    assert row["office"] == "396" and row["route_countries"] == ["CN", "NL"]
    assert row["parties.carrier.name"] == "Maersk"
    assert batch.sources == {"ref": "ref", "goods.0.hs_code": "hs"}
    valid = _valid(batch)
    assert valid.parties == [("carrier", [True])]
    assert valid.values["lodged_at"][0].date().isoformat() == "2024-03-01"
    assert_same_as_model(valid, 0, DeclarationIn.model_validate(nested(row)))


# ---------------------------------------------------------------- CSV details


def test_csv_bom_and_mixed_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    body = (
        "LRN,Goods\r\n"  # CRLF
        "M1,phones\n"  # LF
        'M2,"two\nlines"\r'  # a quoted line break, then CR
        "M3,beds\n"
        "\r\n"  # a blank line
        "M4,last"  # no final line ending
    )
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    mapping = _mapping(tmp_path, "fields:\n  ref: LRN\n  goods.0.description: Goods\n")
    batch = _one(path, "csv", mapping)
    assert list(zip(batch.rows, batch.values["ref"], batch.values["goods.0.description"], strict=True)) == [
        (2, "M1", "phones"),
        (3, "M2", "two\nlines"),
        (5, "M3", "beds"),
        (7, "M4", "last"),
    ]


def test_csv_row_with_wrong_number_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN,Goods\nA,phones\nB,beds,extra\n", encoding="utf-8")
    mapping = _mapping(tmp_path, "fields:\n  ref: LRN\n  goods.0.description: Goods\n")
    assert _errors(path, "csv", mapping) == [
        RowError("d.csv", 3, None, "B,beds,extra", "has 3 fields, the header has 2")
    ]
    path.write_text("LRN,Goods\nA,phones\nB\n", encoding="utf-8")
    assert _errors(path, "csv", mapping) == [RowError("d.csv", 3, None, "B", "has 1 fields, the header has 2")]


def test_csv_encoding_nul_and_empty(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, "fields:\n  ref: LRN\n")
    path = tmp_path / "d.csv"
    path.write_bytes(b"LRN\nA\nB\xe9\n")
    assert _errors(path, "csv", mapping) == [RowError("d.csv", 3, None, None, "not UTF-8 (byte 0xe9 on this line)")]
    path.write_bytes(b"LRN\nA\x00\n")
    assert _errors(path, "csv", mapping) == [
        RowError("d.csv", 2, None, None, "contains a NUL byte (binary data, or UTF-16?)")
    ]
    path.write_bytes(b"\xef\xbb\xbf\r\n \n")
    assert _errors(path, "csv", mapping) == [RowError("d.csv", None, None, None, "the file is empty")]


def test_csv_repeated_header_name(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN,Goods,LRN\nA,b,c\n", encoding="utf-8")
    assert _errors(path, "csv", _mapping(tmp_path, "fields:\n  ref: LRN\n")) == [
        RowError("d.csv", 1, "LRN", None, "column 'LRN' appears twice in the header")
    ]


# ---------------------------------------------------------------- mapped columns missing from the file


def test_missing_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(_csv_text(ROWS, [c for c in COLUMNS if c not in ("HS", "Route")]), encoding="utf-8")
    assert _errors(path, "csv", _mapping(tmp_path)) == [
        RowError("d.csv", 1, "Route", None, "column 'Route' named by mapping map.yaml is not in the file"),
        RowError("d.csv", 1, "HS", None, "column 'HS' named by mapping map.yaml is not in the file"),
    ]


def test_missing_column_parquet(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "HS"} for r in ROWS]), tmp_path / "d.pq")
    assert _errors(tmp_path / "d.pq", "parquet", _mapping(tmp_path)) == [
        RowError("d.pq", None, "HS", None, "column 'HS' named by mapping map.yaml is not in the file")
    ]


def test_missing_column_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "HS"}) + "\n" for r in ROWS))
    assert _errors(path, "jsonl", _mapping(tmp_path)) == [
        RowError("d.jsonl", None, "HS", None, "column 'HS' named by mapping map.yaml is not in the file")
    ]


# ---------------------------------------------------------------- JSON Lines and Parquet file errors


def test_jsonl_line_errors(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, "fields:\n  ref: LRN\n")
    path = tmp_path / "d.jsonl"
    path.write_text('{"LRN": "A"}\n[1, 2]\n', encoding="utf-8")
    assert _errors(path, "jsonl", mapping) == [
        RowError("d.jsonl", 2, None, "[1, 2]", "expected a JSON object, got list")
    ]
    path.write_text('{"LRN": "A"}\n{"LRN": "B"\n', encoding="utf-8")
    (error,) = _errors(path, "jsonl", mapping)
    assert (error.row, error.value) == (2, '{"LRN": "B"')
    assert error.reason.startswith("invalid JSON: ")


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_text("LRN\nA\n")
    (error,) = _errors(path, "parquet", _mapping(tmp_path))
    assert (error.file, error.row, error.field) == ("d.parquet", None, None)
    assert error.reason.startswith("not a readable Parquet file: ")
    path.write_bytes(b"")
    assert _errors(path, "parquet", _mapping(tmp_path)) == [
        RowError("d.parquet", None, None, None, "the file is empty")
    ]


# ---------------------------------------------------------------- mapping errors


def test_mapping_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN\nA\n")
    assert _errors(path, "csv", tmp_path / "nope.yaml") == [
        RowError("nope.yaml", None, None, None, "mapping file not found")
    ]


def test_mapping_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN\nA\n")
    mapping = _mapping(tmp_path, "fields:\n  ref: LRN\n  office: {value: NL000396\n")
    (error,) = _errors(path, "csv", mapping)
    assert (error.file, error.row, error.field) == ("map.yaml", 4, None)
    assert error.reason.startswith("invalid YAML at line 4")


def test_mapping_errors_are_raised_before_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as exc:
        tabular.read(tmp_path / "never-read.csv", format="csv", mapping=_mapping(tmp_path, "fields:\n  weight: W\n"))
    assert exc.value.errors[0].file == "map.yaml"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("weight", "unknown target field; top-level fields are "),
        ("goods.0.colour", "unknown target: goods fields are goods.0.<"),
        ("goods.hs_code", "unknown target: goods fields are goods.0.<"),
        ("goods.1.hs_code", "one row is one declaration with one goods item: only goods.0 can be mapped"),
        ("parties.captain.name", "unknown party role 'captain'; one of consignor, consignee, "),
        ("parties.consignee.role", "unknown target: party fields are parties.<role>.<"),
        ("parties.consignee.address.planet", "unknown target: party fields are parties.<role>.<"),
        ("containers.x.number", "container position must be a number 0..199"),
        ("containers.0.colour", "unknown target: container fields are containers.<n>.<"),
        ("ref.x", "unknown target field; top-level fields are "),
    ],
)
def test_mapping_unknown_target(tmp_path: Path, key: str, reason: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN\nA\n")
    (error,) = _errors(path, "csv", _mapping(tmp_path, f"fields:\n  ref: LRN\n  {key}: LRN\n"))
    assert (error.file, error.row, error.field) == ("map.yaml", None, key)
    assert error.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("field:\n  ref: LRN\n", "field", "unknown key; a mapping has 'fields' and optionally 'delimiter'"),
        ("- ref\n", None, "the mapping must be a YAML mapping with a 'fields' key"),
        ("delimiter: ','\n", "fields", "'fields' must map target fields to columns or {value: ...}"),
        ("delimiter: ';;'\nfields:\n  ref: LRN\n", "delimiter", "the delimiter is one character"),
        ("fields:\n  ref: 12\n", "ref", "give a column name, {column: NAME}, {column: NAME, split: SEP} or {value"),
        ("fields:\n  ref:\n", "ref", "give a column name, {column: NAME}, {column: NAME, split: SEP} or {value"),
        ("fields:\n  ref: {column: LRN, value: A}\n", "ref", "give either column or value"),
        ("fields:\n  ref: {col: LRN}\n", "ref", "unknown option 'col'; the options are column, split, value"),
        ("fields:\n  ref: {column: LRN, split: ';'}\n", "ref", "split is only for list fields"),
        ("fields:\n  route_countries: {value: [NL], split: ';'}\n", "route_countries", "split goes with column"),
        ("fields:\n  office: {value: null}\n", "office", "a constant value cannot be empty"),
        ("fields:\n  ref: {column: ' '}\n", "ref", "the column name must be non-empty text"),
    ],
)
def test_mapping_bad_structure(tmp_path: Path, text: str, key: str | None, reason: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN\nA\n")
    (error,) = _errors(path, "csv", _mapping(tmp_path, text))
    assert (error.file, error.row, error.field) == ("map.yaml", None, key)
    assert error.reason.startswith(reason)


def test_tabular_formats_need_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("LRN\nA\n")
    with pytest.raises(ReadError) as exc:
        readers.read(path, format="csv")
    assert exc.value.errors[0].reason == "format csv needs --mapping FILE.yaml"
