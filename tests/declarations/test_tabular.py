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

from portguard.declarations import readers, tabular
from portguard.declarations.models import DeclarationIn
from portguard.declarations.readers import ReadError, RowError

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


def _read(path: Path, fmt: str, mapping: Path) -> list[readers.Raw]:
    return list(readers.read(path, format=fmt, mapping=mapping))


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
    rows = _read(tmp_path / "acme.csv", "csv", _mapping(tmp_path, mapping, "acme.yaml"))
    assert [r.row for r in rows] == [2, 3]
    assert rows[0].data == json.loads(expected)
    assert rows[0].control is None
    first, second = (DeclarationIn.model_validate(r.data) for r in rows)
    assert first.goods[0].gross_mass_kg == Decimal("1200.5")
    assert second.parties[0].role == "consignee" and second.containers == [] and second.goods[0].currency == "EUR"


# ---------------------------------------------------------------- the three formats


def test_csv_records(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(_csv_text(ROWS), encoding="utf-8")
    a, b = _read(path, "csv", _mapping(tmp_path))
    assert (a.row, b.row) == (2, 3)
    assert a.data == {
        "ref": "A1",
        "lodged_at": "2024-03-01T08:30:00Z",
        "office": "NL000396",
        "transport_mode": "1",
        "country_of_departure": "CN",
        "route_countries": ["CN", "SG", "NL"],
        "goods": [
            {
                "hs_code": "851713",
                "description": "Smartphones",
                "gross_mass_kg": "1200.5",
                "packages": "120",
                "containers": ["MSCU1234566"],
                "seq": 1,
            }
        ],
        "parties": [{"role": "consignee", "name": "Acme BV", "address": {"country": "NL"}}],
        "containers": [{"number": "MSCU1234566"}],
    }
    # empty cells leave their fields out, and a party or container with only empty cells is left out
    assert b.data == {
        "ref": "A2",
        "lodged_at": "2024-03-02T00:00:00Z",
        "office": "NL000396",
        "transport_mode": "1",
        "country_of_departure": "VN",
        "goods": [{"hs_code": "940350", "description": "Beds, wooden", "gross_mass_kg": "8000", "seq": 1}],
    }
    for raw in (a, b):
        DeclarationIn.model_validate(raw.data)


def test_the_three_formats_agree(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(_csv_text(ROWS), encoding="utf-8")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    mapping = _mapping(tmp_path)
    models = {
        fmt: [DeclarationIn.model_validate(r.data) for r in _read(tmp_path / f"d.{fmt}", fmt, mapping)]
        for fmt in ("csv", "jsonl", "parquet")
    }
    assert models["csv"] == models["jsonl"] == models["parquet"]
    assert [r.row for r in _read(tmp_path / "d.jsonl", "jsonl", mapping)] == [1, 2]
    assert [r.row for r in _read(tmp_path / "d.parquet", "parquet", mapping)] == [1, 2]


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
    monkeypatch.setattr(tabular, "PARQUET_BATCH_ROWS", 2)
    rows = _read(tmp_path / "d.parquet", "parquet", mapping)
    assert asked == [{"batch_size": 2, "columns": ["LRN", "Lodged", "HS", "Goods", "Gross kg", "Packages"]}]
    assert [r.row for r in rows] == [1, 2, 3, 4, 5]
    first = rows[0].data
    assert first["lodged_at"] == datetime(2024, 3, 1, 0, tzinfo=UTC)
    assert first["goods"][0]["hs_code"] == "851713"  # an integer for a text field becomes its digits
    assert first["goods"][0]["gross_mass_kg"] == 1.5 and first["goods"][0]["packages"] == 1
    assert "hs_code" not in rows[2].data["goods"][0]  # null: left out
    assert "gross_mass_kg" not in rows[3].data["goods"][0]
    assert DeclarationIn.model_validate(rows[4].data).goods[0].packages is None


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
    a, b = _read(path, "jsonl", mapping)
    assert (a.row, b.row) == (1, 3)
    assert a.data["route_countries"] == ["CN", "NL"] and "country_of_departure" not in a.data
    assert b.data["country_of_departure"] == "CN" and "route_countries" not in b.data


def test_constants_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("ref;hs\nC1;851713\n", encoding="utf-8")
    mapping = _mapping(
        tmp_path,
        'delimiter: ";"\nfields:\n  ref: ref\n  lodged_at: {value: 2024-03-01}\n  office: {value: 396}\n'
        "  route_countries: {value: [CN, NL]}\n  goods.0.hs_code: hs\n  goods.0.description: {value: Phones}\n"
        "  parties.carrier.name: {value: Maersk}\n",
    )
    (raw,) = _read(path, "csv", mapping)
    assert raw.data["office"] == "396" and raw.data["route_countries"] == ["CN", "NL"]
    assert raw.data["parties"] == [{"role": "carrier", "name": "Maersk"}]
    assert DeclarationIn.model_validate(raw.data).lodged_at.date().isoformat() == "2024-03-01"


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
    rows = _read(path, "csv", mapping)
    assert [(r.row, r.data["ref"], r.data["goods"][0]["description"]) for r in rows] == [
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
