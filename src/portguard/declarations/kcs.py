"""The public Korea Customs Service synthetic import declarations (Jeong, Kim, Park, Choi, arXiv:2208.02484).

54,000 CTGAN-synthesised, inspected (hence labelled) import declarations of 2020-01..2021-06, published as three CSV
files (train 37,385 rows, valid 8,134, test 8,481; MIT licence, Institute for Basic Science & Korea Customs
Service). One row is one declaration with one goods item. Each row becomes:

    ref                    Declaration ID
    type                   "IM" (an import declaration, not an entry summary)
    lodged_at              Date, at 00:00 UTC (the set has dates only)
    office                 "KR" + Office ID on three digits (KCS office codes are three digits; the CSV lost the
                           leading zero: 40 -> KR040)
    transport_mode         Mode of Transport, see TRANSPORT_MODES
    country_of_departure   Country of Departure (ZZ -> None, see below)
    parties                declarant "KCS declarant <Declarant ID>" (address country KR: the declaration is lodged
                           in Korea by a Korean customs broker or the importer), importer "KCS importer <Importer
                           ID>" (KR), seller "KCS seller <Seller ID>" (address country = Country of Departure when
                           that is known; no seller when Seller ID is empty), carrier "KCS courier <Courier ID>"
                           (express courier such as DHL, FedEx; only when Courier ID is given)
    goods[0]               seq 1, hs_code = HS6 Code on six digits (leading zeros restored), description "HS <hs6>"
                           (the set has no goods description), net_mass_kg = Net Mass, value = Item Price with
                           currency KRW, country_of_origin = Country of Origin (ZZ -> None)
    control (Columns.controls)  Fraud 0 -> {"outcome": "no_finding", "critical": False, "source": "kcs"};
                           Fraud 1 -> {"outcome": "irregularity", "critical": Critical Fraud == 2, "source": "kcs"}

Not carried (no field of `DeclarationIn` holds them): Process Type, Import Type, Import Use, Payment Type, Tax Rate,
Tax Type, Country of Origin Indicator.

Modes of transport: the set uses the two-digit KCS codes 10, 20, 30, 40, 50, 90 (its README: "nine modes of
transport, e.g. maritime, rail, air"), read as the UN/ECE Recommendation 19 code times ten: 10 sea, 20 rail, 30 road,
40 air, 50 post, 90 other (-> 9, not known), and 70, 80 (fixed installation, inland water) should they occur. The
data agree: couriers (express carriers) appear on 30 % of the code-40 rows against 8 % of the code-10 rows, and the
office most often lodging code 10 (020, 40 % of its rows) differs from the one lodging code 40 (040, 56 %). Other
codes (60: multimodal has no `TransportMode`) are passed on unchanged, so that validation names them.

Countries: all codes are ISO 3166-1 alpha-2 except ZZ (user-assigned in ISO 3166, conventionally "unknown", as in
Unicode CLDR): 33 Country of Departure and 28 Country of Origin values over the three files. ZZ and empty cells
become None (unknown; the seller then has no address); any other code is passed on and checked by validation.

Errors: a missing column, or a row with more or fewer fields than the header, is a `ReadError` (column or row
named). A bad value (a date, mass or price that does not parse, an unknown mode of transport) is passed on as it
is, so that the ingest's validation names row and KCS column (e.g. field "Net Mass"); an empty Declarant or
Importer ID leaves that party without a name, which validation reports. Labels are not validated later, so a label
other than Fraud 0/1 with Critical Fraud 0 (Fraud 0) or 1/2 (Fraud 1) is a `ReadError` naming row and column.

Known: 25 rows (19 train, 1 valid, 5 test) declare a net mass above 10,000 t (11,000 to 60,025 t, bulk cargo);
they validate since `GoodsItemIn` accepts up to 10^9 kg.

Rows are numbered by their line in the file (the header is line 1). The reader yields `Columns` batches of
`BATCH_ROWS` rows (one list per target field, see `columnar.py`), which the ingest validates a column at a time.
The csv module is used: it parsed the train file into Python rows faster than pyarrow.csv (about 65 against
105-175 ms; converting Arrow strings to Python dominates), it streams, and it names rows. Conversions of repeated
cells (dates, offices, countries, HS codes, modes) run once per distinct cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

from portguard.declarations.columnar import Columns
from portguard.declarations.readers import ReadError, RowError
from portguard.declarations.tabular import check_width, csv_header, csv_records

COLUMNS = (
    "Declaration ID",
    "Date",
    "Office ID",
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS6 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
    "Fraud",
    "Critical Fraud",
)
# The dataset's README names two columns with their unit; the published CSV files do not.
ALIASES = {"Net Mass (kg)": "Net Mass", "Item Price (KRW)": "Item Price"}
# Columns read but with no place in DeclarationIn (see the module docstring).
DROPPED = (
    "Process Type",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
)

TRANSPORT_MODES = {"10": "1", "20": "2", "30": "3", "40": "4", "50": "5", "70": "7", "80": "8", "90": "9"}
UNKNOWN_COUNTRIES = frozenset({"", "ZZ"})
CURRENCY = "KRW"
BATCH_ROWS = 20_000
DECLARATION_TYPE = "IM"

# Read-only: every row with the same labels shares one of these.
_NO_FINDING = MappingProxyType({"outcome": "no_finding", "critical": False, "source": "kcs"})
_IRREGULARITY = MappingProxyType({"outcome": "irregularity", "critical": False, "source": "kcs"})
_CRITICAL = MappingProxyType({"outcome": "irregularity", "critical": True, "source": "kcs"})
_LABELS = {("0", "0"): _NO_FINDING, ("1", "1"): _IRREGULARITY, ("1", "2"): _CRITICAL}


def _date(value: str) -> datetime | str | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return value
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _decimal(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def _country(value: str) -> str | None:
    value = value.strip().upper()
    return None if value in UNKNOWN_COUNTRIES else value


def _hs(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    return value.zfill(6) if value.isdigit() and len(value) < 6 else value


def _office(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    return "KR" + value.zfill(3) if value.isdigit() else value


def _label(value: str) -> str:
    value = value.strip()
    return value[:-2] if value.endswith(".0") else value


def _control(file: str, row: int, fraud: str, critical: str) -> dict[str, Any]:
    key = (_label(fraud), _label(critical))
    control = _LABELS.get(key)
    if control is not None:
        return dict(control)
    if key[0] not in ("0", "1"):
        raise ReadError([RowError(file, row, "Fraud", fraud, "Fraud must be 0 or 1")])
    if key[1] not in ("0", "1", "2"):
        raise ReadError([RowError(file, row, "Critical Fraud", critical, "Critical Fraud must be 0, 1 or 2")])
    reason = (
        "Critical Fraud must be 0 when Fraud is 0" if key[0] == "0" else "Critical Fraud must be 1 or 2 when Fraud is 1"
    )
    raise ReadError([RowError(file, row, "Critical Fraud", critical, reason)])


SOURCES = {
    "ref": "Declaration ID",
    "lodged_at": "Date",
    "office": "Office ID",
    "transport_mode": "Mode of Transport",
    "country_of_departure": "Country of Departure",
    "parties.declarant.name": "Declarant ID",
    "parties.importer.name": "Importer ID",
    "parties.seller.name": "Seller ID",
    "parties.seller.address.country": "Country of Departure",
    "parties.carrier.name": "Courier ID",
    "goods.0.hs_code": "HS6 Code",
    "goods.0.description": "HS6 Code",
    "goods.0.net_mass_kg": "Net Mass",
    "goods.0.value": "Item Price",
    "goods.0.country_of_origin": "Country of Origin",
}


def _memo(convert: Callable[[str], Any]) -> Callable[[Sequence[str]], list[Any]]:
    """`convert` applied to a column, once per distinct cell (dates, offices, countries and codes repeat)."""

    def column(cells: Sequence[str]) -> list[Any]:
        done: dict[str, Any] = {}
        return [done[c] if c in done else done.setdefault(c, convert(c)) for c in cells]

    return column


_dates, _offices, _countries, _codes = _memo(_date), _memo(_office), _memo(_country), _memo(_hs)
_modes = _memo(lambda cell: TRANSPORT_MODES.get(cell.strip(), cell.strip()))


def _named(prefix: str, cells: Sequence[str]) -> list[str | None]:
    return [f"{prefix} {c.strip()}" if c.strip() else None for c in cells]


def _columns(name: str, chunk: list[tuple[int, list[str]]], at: dict[str, int]) -> Columns:
    rows = [row for row, _ in chunk]
    cells = list(zip(*(fields for _, fields in chunk), strict=True))
    n = len(rows)

    def col(column: str) -> Sequence[str]:
        return cells[at[column]]

    departure = _countries(col("Country of Departure"))
    sellers = _named("KCS seller", col("Seller ID"))
    hs = _codes(col("HS6 Code"))
    labels = [_LABELS.get(key) for key in zip(col("Fraud"), col("Critical Fraud"), strict=True)]
    controls: list[Mapping[str, Any] | None] = [
        label if label is not None else _control(name, rows[i], col("Fraud")[i], col("Critical Fraud")[i])
        for i, label in enumerate(labels)
    ]
    values: dict[str, list[Any]] = {
        "ref": [c.strip() or None for c in col("Declaration ID")],
        "type": [DECLARATION_TYPE] * n,
        "lodged_at": _dates(col("Date")),
        "office": _offices(col("Office ID")),
        "transport_mode": _modes(col("Mode of Transport")),
        "country_of_departure": departure,
        "parties.declarant.name": _named("KCS declarant", col("Declarant ID")),
        "parties.declarant.address.country": ["KR"] * n,
        "parties.importer.name": _named("KCS importer", col("Importer ID")),
        "parties.importer.address.country": ["KR"] * n,
        "parties.seller.name": sellers,
        "parties.seller.address.country": [d if s else None for s, d in zip(sellers, departure, strict=True)],
        "parties.carrier.name": _named("KCS courier", col("Courier ID")),
        "goods.0.hs_code": hs,
        "goods.0.description": [f"HS {h}" if h else None for h in hs],
        "goods.0.net_mass_kg": [c.strip() or None for c in col("Net Mass")],
        "goods.0.value": [c.strip() or None for c in col("Item Price")],
        "goods.0.currency": [CURRENCY] * n,
        "goods.0.country_of_origin": _countries(col("Country of Origin")),
    }
    return Columns(rows, values, SOURCES, controls)


def read(path: Path, *, batch_rows: int = BATCH_ROWS) -> Iterator[Columns]:
    """The rows of a KCS CSV file in batches of columns, with the control result of each row's labels."""
    records = csv_records(path)
    line, header = csv_header(path, records)
    header = [ALIASES.get(h, h) for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        hint = " (the pre-2023 version with HS10 codes is not supported)" if "HS10 Code" in header else ""
        raise ReadError(
            [RowError(path.name, line, c, None, f"column {c!r} of the KCS set is missing{hint}") for c in missing]
        )
    at = {c: header.index(c) for c in COLUMNS}
    width = len(header)
    while chunk := list(islice(records, batch_rows)):
        for row, fields in chunk:
            if len(fields) != width:
                check_width(path, row, fields, width)
        yield _columns(path.name, chunk, at)
