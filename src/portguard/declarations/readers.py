"""Readers turn a file into raw declaration records, each tagged with where it came from.

A reader never writes and never validates the business schema: it yields `Raw` records (file row number, a dict
shaped like `DeclarationIn`, and optionally a control result carried by labelled data sets) or, for one-row-per-
declaration tables, batches of `Columns` (row numbers and one list of values per target field), and raises
`ReadError` for what makes the file itself unreadable (encoding, truncation, not JSON, ...). Validation against
`DeclarationIn` happens in the ingest, so every format gets the same checks and the same error messages.

Formats: `ics2` (ICS2-like JSON: an array of declaration objects, or one object per line), `jsonl`, `csv` and
`parquet` with a YAML column mapping (`tabular.py`), and `kcs`, the public Korea Customs Service set (`kcs.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portguard.declarations.columnar import Columns

MAX_DEPTH = 12
MAX_LINE_CHARS = 1_000_000


@dataclass(frozen=True)
class Raw:
    """One record read from a file: its 1-based row (line or array index), its data, and any control result."""

    row: int
    data: dict[str, Any]
    control: dict[str, Any] | None = None


@dataclass
class RowError:
    """One thing wrong with the input, named as precisely as the reader or the validator can."""

    file: str
    row: int | None
    field: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        where = f"{self.file}" + (f", row {self.row}" if self.row is not None else "")
        what = f", field {self.field}" if self.field else ""
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}{what}{value}: {self.reason}"


@dataclass
class ReadError(Exception):
    """The file cannot be read as a whole (nothing of it will be written)."""

    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self.errors[:5])


def short(value: Any, limit: int = 80) -> str:
    """A value as it appears in an error message, cut to `limit` characters."""
    text = (
        value
        if isinstance(value, str)
        else str(value)
        if isinstance(value, int | float | Decimal)
        else json.dumps(value, default=str)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_text(path: Path) -> str:
    """The file as text: UTF-8 (a BOM is accepted and dropped); refuses other encodings, NUL bytes and emptiness."""
    data = path.read_bytes()
    if not data.strip():
        raise ReadError([RowError(path.name, None, None, None, "the file is empty")])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ReadError([RowError(path.name, line, None, None, "contains a NUL byte (binary data, or UTF-16?)")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(
            [RowError(path.name, line, None, None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")]
        ) from None
    return text


def _depth(value: Any, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def _check_object(name: str, row: int, value: Any, raw: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReadError(
            [RowError(name, row, None, short(value), f"expected a JSON object, got {type(value).__name__}")]
        )
    if raw.count("{") + raw.count("[") > MAX_DEPTH and _depth(value) > MAX_DEPTH:  # the count bounds the depth
        raise ReadError([RowError(name, row, None, None, f"nested deeper than {MAX_DEPTH} levels")])
    return value


def read_ics2(path: Path) -> Iterator[Raw]:
    """ICS2-like JSON: one array of declaration objects, or JSON Lines with one object per line."""
    text = decode_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReadError([RowError(path.name, exc.lineno, None, None, f"invalid JSON: {exc.msg}")]) from None
        for index, item in enumerate(items, start=1):
            yield Raw(index, _check_object(path.name, index, item, json.dumps(item)))
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise ReadError(
                [RowError(path.name, lineno, None, None, f"line longer than {MAX_LINE_CHARS:,} characters")]
            )
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = "truncated JSON (file cut off?)" if "Unterminated" in exc.msg or "Expecting" in exc.msg else ""
            raise ReadError(
                [RowError(path.name, lineno, None, short(line), reason or f"invalid JSON: {exc.msg}")]
            ) from None
        yield Raw(lineno, _check_object(path.name, lineno, item, line))


FORMATS = ("ics2", "jsonl", "csv", "parquet", "kcs")


def read(path: Path, *, format: str, mapping: Path | None = None) -> Iterator[Raw] | Iterator[Columns]:
    """Records of `path` in `format` (see FORMATS); `mapping` is the YAML column mapping of tabular formats.

    ICS2-like JSON gives one `Raw` nested declaration at a time; the tabular formats (CSV, Parquet and JSON Lines
    with a mapping, KCS) give batches of `Columns`, validated a column at a time (`columnar.py`)."""
    if not path.is_file():
        raise ReadError([RowError(path.name, None, None, None, "no such file")])
    if format in ("ics2", "jsonl") and mapping is None:
        return read_ics2(path)
    if format in ("csv", "parquet", "jsonl"):
        from portguard.declarations import tabular

        if mapping is None:
            raise ReadError([RowError(path.name, None, None, None, f"format {format} needs --mapping FILE.yaml")])
        return tabular.read(path, format=format, mapping=mapping)
    if format == "kcs":
        from portguard.declarations import kcs

        return kcs.read(path)
    raise ReadError([RowError(path.name, None, None, None, f"unknown format {format!r}; one of {', '.join(FORMATS)}")])
