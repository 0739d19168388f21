"""Reading the personnel files: CSV (a header naming the fields) and JSON Lines, row by row, with errors that name
the row and the column.

Why apart from the service: a register or an access log comes from another system (HR, the badge system, the
terminal operating system) and is refused whole for any bad row, so every error must say where it is — the row as
the file counts it (the header is row 1; a quoted cell over two lines counts as the row it starts on), the column,
and what is wrong — in the shape every 422 problem of the API lists (`loc`, `msg`, `type`), plus `row` and `field`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from typing import Any

from pydantic import ValidationError

from portguard.core.errors import InvalidInput


def cells(row: dict[str | None, Any]) -> dict[str, Any]:
    """A CSV row as validator input: empty cells left out, hours as integers, yes/no as booleans."""
    out: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None or raw is None:
            continue
        value = raw.strip() if isinstance(raw, str) else raw
        if value == "":
            continue
        if key in ("shift_start", "shift_end") and isinstance(value, str) and value.isdigit():
            value = int(value)
        elif key == "active" and isinstance(value, str):
            value = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
                value.lower(), value
            )
        out[key.strip()] = value
    return out


def row_errors(row: int, exc: ValidationError, columns: Collection[str]) -> list[dict[str, Any]]:
    """The errors of one row's validation, each with its column (a check across fields names it first)."""
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        message = str(e["msg"]).removeprefix("Value error, ")
        column = loc[0] if loc else None
        if column is None:  # a check across fields names its field first ("vetting_expires: ...")
            head, sep, rest = message.partition(": ")
            if sep and head in columns:
                column, message = head, rest
        errors.append(error(row, column, message))
    return errors


def error(row: int, field: str | None, message: str) -> dict[str, Any]:
    """One row error: its row and column, and `loc`/`msg`/`type` as every 422 problem of the API lists errors."""
    return {
        "row": row,
        "field": field,
        "loc": [row, field] if field else [row],
        "msg": message,
        "type": "value_error",
    }


def rejected(name: str, errors: list[dict[str, Any]], rows: int) -> InvalidInput:
    """The error refusing file `name` whole: the first problem in words, every one in `errors`."""
    first = errors[0]
    where = f"row {first['row']}" + (f", {first['field']}" if first.get("field") else "")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(
        f"{name}: {len(errors)} error{'s' if len(errors) != 1 else ''} in {rows} rows, nothing written — "
        f"{where}: {first['msg']}{more}",
        errors=errors,
    )


def csv_rows(text: str, *, name: str, known: Collection[str], required: Collection[str]) -> list[tuple[int, Any]]:
    """(line number, row) of a CSV text whose header names only `known` columns and all `required` ones."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise InvalidInput(f"{name}, row 1: not CSV ({exc})") from None
    if not header:
        raise InvalidInput(f"{name}: empty file (the first line must name the columns)")
    unknown = [h for h in header if h not in known]
    missing = [c for c in required if c not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        if missing:
            parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        raise InvalidInput(
            f"{name}, row 1: {'; '.join(parts)} (known: {', '.join(known)})",
            errors=[error(1, None, "; ".join(parts))],
        )
    reader.fieldnames = header
    rows = []
    last = reader.line_num  # the header's last line
    try:
        for row in reader:
            start, last = last + 1, reader.line_num  # a quoted cell may run over lines: the row is where it starts
            rows.append((start, {"__extra__": row[None]} if None in row else row))  # None: more cells than columns
    except csv.Error as exc:
        raise InvalidInput(f"{name}, row {reader.line_num}: not CSV ({exc})") from None
    return rows


def event_cells(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row of access events as validator input (empty cells left out)."""
    return {k.strip(): v.strip() for k, v in row.items() if k is not None and isinstance(v, str) and v.strip()}
