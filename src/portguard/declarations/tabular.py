"""CSV, Parquet and JSON Lines declarations, one row per declaration, with a YAML column mapping.

One row is one declaration with exactly one goods item (`goods.0`); a declaration with several goods items needs
the ICS2-like JSON format. The mapping says, for each `DeclarationIn` field, which column of the file fills it or
which constant value it takes. The file (full guide with a worked example: docs/formats/mapping.md):

    delimiter: ";"                 # optional, CSV only: the field separator (default ",")
    fields:                        # required: target field -> source
      ref: LRN                     # a column name: the cell of that column
      lodged_at: Lodged at
      office: {value: NL000396}    # a constant for every row
      transport_mode: {value: "1"}
      route_countries: {column: Route, split: ";"}   # a list field from one cell, cut at ";"
      goods.0.hs_code: HS code     # the (only) goods item
      goods.0.gross_mass_kg: Gross kg
      parties.consignee.name: Consignee              # parties by role: one party per role
      parties.consignee.address.country: Consignee country
      containers.0.number: Container                 # containers by position: 0, 1, 2, ...

Targets are dotted paths into `DeclarationIn`: a top-level field (`ref`, `lodged_at`, `office`, ...), `goods.0.<f>`
for a field of the goods item (`seq` is 1 unless mapped), `parties.<role>.<f>` and `parties.<role>.address.<f>`
with a role of `PartyRole` (consignor, consignee, notify_party, declarant, importer, seller, buyer, carrier), and
`containers.<n>.<f>`. A source is a column name, `{column: NAME}`, `{column: NAME, split: SEP}` (list fields:
`route_countries`, `goods.0.containers`, `containers.<n>.seals`) or `{value: CONSTANT}`.

Values are passed on as the file has them (CSV: text; Parquet and JSON Lines: their own types, integers destined
for text fields as their digits) and validated later by the ingest a column at a time (`columnar.py`), which names
row and source column of each error. Rows come in batches of `Columns` (`BATCH_ROWS` rows). Empty
cells (empty or blank text, null) leave the field out; a party, container or goods item whose mapped cells are
all empty is left out. Rows: CSV rows are numbered by the file line on which they start (the header is line 1, as
in a spreadsheet), JSON Lines rows by their line, Parquet rows from 1.

`ReadError` (nothing of the file is loaded) for: a mapping file that is missing, not YAML or names an unknown target
(file and key named); a mapped column missing from the file (column named; for JSON Lines, a key in no line);
CSV that is not UTF-8 (a BOM is accepted), contains NUL bytes, or has a row with more or fewer fields than the
header (row named); a JSON Lines line that is not a JSON object; a file that is not Parquet. Line endings may be
mixed (LF, CRLF, CR). Parquet is read in batches of the mapped columns only, never all at once.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from portguard.declarations.columnar import Columns
from portguard.declarations.models import (
    AddressIn,
    ContainerIn,
    DeclarationIn,
    GoodsItemIn,
    PartyIn,
    PartyRole,
)
from portguard.declarations.readers import ReadError, RowError, short

BATCH_ROWS = 10_000  # rows per batch of columns
MAX_CONTAINERS = 200

_NESTED = frozenset({"goods", "parties", "containers"})
_TOP = frozenset(DeclarationIn.model_fields) - _NESTED
_GOODS = frozenset(GoodsItemIn.model_fields)
_PARTY = frozenset(PartyIn.model_fields) - {"role", "address"}
_ADDRESS = frozenset(AddressIn.model_fields)
_CONTAINER = frozenset(ContainerIn.model_fields)
_ROLES = tuple(r.value for r in PartyRole)
_LISTS = frozenset({("route_countries",), ("goods", "containers"), ("containers", "seals")})
_NOT_TEXT = frozenset(
    {
        ("lodged_at",),
        ("goods", "seq"),
        ("goods", "gross_mass_kg"),
        ("goods", "net_mass_kg"),
        ("goods", "value"),
        ("goods", "packages"),
    }
)


# ---------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class Target:
    """Where one value goes: `section` is top, goods, party, address or container; `key` names the slot."""

    key: str
    section: str
    slot: str | int | None
    field: str
    is_list: bool
    is_text: bool


@dataclass(frozen=True)
class Source:
    column: str | None = None
    value: Any = None
    split: str | None = None


@dataclass(frozen=True)
class Mapping:
    file: str
    fields: dict[Target, Source]
    delimiter: str = ","

    @property
    def columns(self) -> list[str]:
        """The source columns the mapping reads, each once, in mapping order."""
        return list(dict.fromkeys(s.column for s in self.fields.values() if s.column is not None))


def _bad(mapping: str, key: str | None, reason: str, value: Any = None) -> ReadError:
    return ReadError([RowError(mapping, None, key, None if value is None else short(value), reason)])


def _target(file: str, key: str) -> Target:
    parts = key.split(".")
    head = parts[0]
    if head in _TOP and len(parts) == 1:
        return Target(key, "top", None, head, (head,) in _LISTS, (head,) not in _NOT_TEXT)
    if head == "goods":
        if len(parts) == 3 and parts[2] in _GOODS:
            if parts[1] != "0":
                raise _bad(file, key, "one row is one declaration with one goods item: only goods.0 can be mapped")
            return Target(
                key, "goods", 0, parts[2], ("goods", parts[2]) in _LISTS, ("goods", parts[2]) not in _NOT_TEXT
            )
        raise _bad(file, key, f"unknown target: goods fields are goods.0.<{'|'.join(sorted(_GOODS))}>")
    if head == "parties":
        if len(parts) >= 3 and parts[1] not in _ROLES:
            raise _bad(file, key, f"unknown party role {parts[1]!r}; one of {', '.join(_ROLES)}")
        if len(parts) == 3 and parts[2] in _PARTY:
            return Target(key, "party", parts[1], parts[2], False, True)
        if len(parts) == 4 and parts[2] == "address" and parts[3] in _ADDRESS:
            return Target(key, "address", parts[1], parts[3], False, True)
        raise _bad(
            file,
            key,
            f"unknown target: party fields are parties.<role>.<{'|'.join(sorted(_PARTY))}> "
            f"and parties.<role>.address.<{'|'.join(sorted(_ADDRESS))}>",
        )
    if head == "containers":
        if len(parts) == 3 and parts[2] in _CONTAINER:
            if not (parts[1].isdigit() and int(parts[1]) < MAX_CONTAINERS):
                raise _bad(file, key, f"container position must be a number 0..{MAX_CONTAINERS - 1}")
            return Target(key, "container", int(parts[1]), parts[2], ("containers", parts[2]) in _LISTS, True)
        raise _bad(file, key, f"unknown target: container fields are containers.<n>.<{'|'.join(sorted(_CONTAINER))}>")
    raise _bad(
        file,
        key,
        f"unknown target field; top-level fields are {', '.join(sorted(_TOP))}, "
        "and goods.0.*, parties.<role>.*, containers.<n>.*",
    )


def _source(file: str, key: str, spec: Any, target: Target) -> Source:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict) or not spec:
        raise _bad(
            file, key, "give a column name, {column: NAME}, {column: NAME, split: SEP} or {value: CONSTANT}", spec
        )
    unknown = set(spec) - {"column", "split", "value"}
    if unknown:
        raise _bad(file, key, f"unknown option {sorted(unknown)[0]!r}; the options are column, split, value")
    if ("column" in spec) == ("value" in spec):
        raise _bad(file, key, "give either column or value", spec)
    if "value" in spec:
        if "split" in spec:
            raise _bad(file, key, "split goes with column, not with value")
        if spec["value"] is None:
            raise _bad(file, key, "a constant value cannot be empty")
        return Source(value=spec["value"])
    column = spec["column"]
    if not isinstance(column, str) or not column.strip():
        raise _bad(file, key, "the column name must be non-empty text", column)
    split = spec.get("split")
    if split is not None:
        if not target.is_list:
            raise _bad(file, key, "split is only for list fields (route_countries, goods.0.containers, seals)")
        if not isinstance(split, str) or not split:
            raise _bad(file, key, "split must be a non-empty separator", split)
    return Source(column=column.strip(), split=split)


def load_mapping(path: Path) -> Mapping:
    """The mapping file `path`, checked against `DeclarationIn`; `ReadError` names the file and the key at fault."""
    name = path.name
    if not path.is_file():
        raise _bad(name, None, "mapping file not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise _bad(name, None, "mapping file is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ReadError(
            [RowError(name, mark.line + 1 if mark else None, None, None, f"invalid YAML{where}: {problem}")]
        ) from None
    if not isinstance(doc, dict):
        raise _bad(name, None, "the mapping must be a YAML mapping with a 'fields' key")
    unknown = set(doc) - {"fields", "delimiter"}
    if unknown:
        raise _bad(
            name, str(sorted(unknown, key=str)[0]), "unknown key; a mapping has 'fields' and optionally 'delimiter'"
        )
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise _bad(name, "delimiter", "the delimiter is one character (not a quote or line break)", delimiter)
    fields = doc.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise _bad(name, "fields", "'fields' must map target fields to columns or {value: ...}")
    out: dict[Target, Source] = {}
    for key, spec in fields.items():
        if not isinstance(key, str):
            raise _bad(name, str(key), "a target field is a dotted name such as goods.0.hs_code")
        key = key.strip()
        target = _target(name, key)
        out[target] = _source(name, key, spec, target)
    return Mapping(name, out, delimiter)


# ---------------------------------------------------------------- turning a row into a declaration dict


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _convert(value: Any, target: Target, source: Source) -> Any:
    if target.is_list:
        if isinstance(value, str):
            parts = value.split(source.split) if source.split else [value]
            return [p.strip() for p in parts if p.strip()]
        return list(value) if isinstance(value, list | tuple) else value
    if target.is_text and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _key(target: Target) -> str:
    """The canonical target key (`containers.00.number` and `containers.0.number` are one slot)."""
    if target.section == "container":
        return f"containers.{target.slot}.{target.field}"
    return target.key


def batcher(mapping: Mapping, columns: list[str]) -> Callable[[list[int], list[Sequence[Any]]], Columns]:
    """A function from a batch of rows (their numbers, and their values in the order of `columns`) to `Columns`."""
    index = {c: i for i, c in enumerate(columns)}
    plan = [(_key(t), t, s, None if s.column is None else index[s.column]) for t, s in mapping.fields.items()]
    sources = {key: s.column for key, _, s, _ in plan if s.column is not None}

    def batch(rows: list[int], values: list[Sequence[Any]]) -> Columns:
        cells = list(zip(*values, strict=True)) if values else []
        n = len(rows)
        out: dict[str, list[Any]] = {}
        for key, target, source, i in plan:
            if i is None:
                out[key] = [_convert(source.value, target, source)] * n
            else:
                out[key] = [None if _empty(v) else _convert(v, target, source) for v in cells[i]]
        return Columns(rows, out, sources)

    return batch


def _check_columns(mapping: Mapping, file: str, columns: Iterable[str], row: int | None) -> None:
    have = set(columns)
    missing = [c for c in mapping.columns if c not in have]
    if missing:
        raise ReadError(
            [
                RowError(file, row, c, None, f"column {c!r} named by mapping {mapping.file} is not in the file")
                for c in missing
            ]
        )


# ---------------------------------------------------------------- text lines and CSV records

_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def text_lines(path: Path) -> Iterator[str]:
    """The file's lines with their endings (LF, CRLF or CR, mixed), decoded one at a time from UTF-8.

    A BOM is dropped. `ReadError` for bytes that are not UTF-8 and for NUL bytes, with the line number."""
    line = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh):
            if number == 0 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = line + 1 + raw[: exc.start].count(b"\r")
                raise ReadError(
                    [RowError(path.name, at, None, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} on this line)")]
                ) from None
            pieces = [p for p in _LONE_CR.split(text) if p] if "\r" in text else (text,)
            for piece in pieces:
                line += 1
                if "\x00" in piece:
                    raise ReadError(
                        [RowError(path.name, line, None, None, "contains a NUL byte (binary data, or UTF-16?)")]
                    )
                yield piece


def csv_records(path: Path, *, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line on which the record starts, fields) for each non-blank record of a UTF-8 CSV file, header first.

    `ReadError` for an empty file, bad encoding, NUL bytes and malformed CSV (row named)."""
    reader = csv.reader(text_lines(path), delimiter=delimiter)
    seen = False
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ReadError([RowError(path.name, reader.line_num, None, None, f"malformed CSV: {exc}")]) from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        seen = True
        yield start, fields
    if not seen:
        raise ReadError([RowError(path.name, None, None, None, "the file is empty")])


def csv_header(path: Path, records: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    """The line and the names (stripped) of the header of `records`; `ReadError` for empty or repeated names."""
    line, header = next(records)
    names = [h.strip() for h in header]
    for i, name in enumerate(names):
        if not name:
            raise ReadError([RowError(path.name, line, None, None, f"header field {i + 1} has no name")])
        if name in names[:i]:
            raise ReadError([RowError(path.name, line, name, None, f"column {name!r} appears twice in the header")])
    return line, names


def check_width(path: Path, row: int, fields: list[str], width: int) -> None:
    if len(fields) != width:
        raise ReadError(
            [
                RowError(
                    path.name,
                    row,
                    None,
                    short(",".join(fields)),
                    f"has {len(fields)} fields, the header has {width}",
                )
            ]
        )


# ---------------------------------------------------------------- the three formats


def read_csv(path: Path, mapping: Mapping) -> Iterator[Columns]:
    records = csv_records(path, delimiter=mapping.delimiter)
    line, columns = csv_header(path, records)
    _check_columns(mapping, path.name, columns, row=line)
    batch = batcher(mapping, columns)
    width = len(columns)
    rows: list[int] = []
    values: list[Sequence[Any]] = []
    for row, fields in records:
        check_width(path, row, fields, width)
        rows.append(row)
        values.append(fields)
        if len(rows) == BATCH_ROWS:
            yield batch(rows, values)
            rows, values = [], []
    if rows:
        yield batch(rows, values)


def _json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    seen = False
    for lineno, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        seen = True
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(
                [RowError(path.name, lineno, None, short(line.strip()), f"invalid JSON: {exc.msg}")]
            ) from None
        if not isinstance(item, dict):
            raise ReadError(
                [RowError(path.name, lineno, None, short(item), f"expected a JSON object, got {type(item).__name__}")]
            )
        yield lineno, item
    if not seen:
        raise ReadError([RowError(path.name, None, None, None, "the file is empty")])


def read_jsonl(path: Path, mapping: Mapping) -> Iterator[Columns]:
    """JSON Lines: the keys of each object are the columns; a key missing from one line is an empty cell.

    A first pass checks every line and that each mapped key occurs in some line, so that file-level errors come
    before any record."""
    keys: set[str] = set()
    for _, item in _json_objects(path):
        keys.update(item)
    _check_columns(mapping, path.name, keys, row=None)
    columns = mapping.columns
    batch = batcher(mapping, columns)
    rows: list[int] = []
    values: list[Sequence[Any]] = []
    for lineno, item in _json_objects(path):
        rows.append(lineno)
        values.append([item.get(c) for c in columns])
        if len(rows) == BATCH_ROWS:
            yield batch(rows, values)
            rows, values = [], []
    if rows:
        yield batch(rows, values)


def read_parquet(path: Path, mapping: Mapping) -> Iterator[Columns]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise ReadError([RowError(path.name, None, None, None, "the file is empty")])
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReadError([RowError(path.name, None, None, None, f"not a readable Parquet file: {exc}")]) from None
    _check_columns(mapping, path.name, parquet.schema_arrow.names, row=None)
    columns = mapping.columns
    make = batcher(mapping, columns)
    if not columns:
        total = parquet.metadata.num_rows
        for start in range(0, total, BATCH_ROWS):
            rows = list(range(start + 1, min(total, start + BATCH_ROWS) + 1))
            yield make(rows, [() for _ in rows])
        return
    row = 0
    batches = parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise ReadError([RowError(path.name, row + 1, None, None, f"unreadable Parquet data: {exc}")]) from None
        values = list(zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True))
        yield make(list(range(row + 1, row + 1 + len(values))), values)
        row += len(values)


READERS: dict[str, Callable[[Path, Mapping], Iterator[Columns]]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}


def read(path: Path, *, format: str, mapping: Path) -> Iterator[Columns]:
    """Records of the CSV, Parquet or JSON Lines file `path`, shaped by the YAML column mapping `mapping`.

    The mapping is checked at once (so that its errors come before the file is read); the file is read lazily."""
    if format not in READERS:
        raise ReadError([RowError(path.name, None, None, None, f"tabular format must be one of {', '.join(READERS)}")])
    loaded = load_mapping(mapping)
    return READERS[format](path, loaded)
