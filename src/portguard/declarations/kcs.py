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
    control (Raw.control)  Fraud 0 -> {"outcome": "no_finding", "critical": False, "source": "kcs"};
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
is, so that the ingest's validation names row and field. Labels are not validated later, so a label other than
Fraud 0/1 with Critical Fraud 0 (Fraud 0) or 1/2 (Fraud 1) is a `ReadError` naming row and column.

Known: 25 rows (19 train, 1 valid, 5 test) declare a net mass above the 10,000 t that `GoodsItemIn` accepts
(11,000 to 60,025 t, bulk cargo) and fail validation; they are passed on unchanged.

Rows are numbered by their line in the file (the header is line 1). The csv module is used: it parsed the train file
into Python rows faster than pyarrow.csv (about 65 against 105-175 ms; converting Arrow strings to Python dominates),
it streams, and it names rows. Building the records dominates the reading time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from portguard.declarations.readers import Raw, ReadError, RowError
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
DECLARATION_TYPE = "IM"

_NO_FINDING = {"outcome": "no_finding", "critical": False, "source": "kcs"}
_IRREGULARITY = {"outcome": "irregularity", "critical": False, "source": "kcs"}
_CRITICAL = {"outcome": "irregularity", "critical": True, "source": "kcs"}
_LABELS = {("0", "0"): _NO_FINDING, ("1", "1"): _IRREGULARITY, ("1", "2"): _CRITICAL}


def _date(value: str) -> datetime | str:
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


def _hs(value: str) -> str:
    value = value.strip()
    return value.zfill(6) if value.isdigit() and len(value) < 6 else value


def _office(value: str) -> str:
    value = value.strip()
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


def read(path: Path) -> Iterator[Raw]:
    """One `Raw` per row of a KCS CSV file, with the control result from its labels (see the module docstring)."""
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
    i_ref, i_date, i_office, i_mode = at["Declaration ID"], at["Date"], at["Office ID"], at["Mode of Transport"]
    i_decl, i_imp, i_sell, i_cour = at["Declarant ID"], at["Importer ID"], at["Seller ID"], at["Courier ID"]
    i_hs, i_dep, i_orig = at["HS6 Code"], at["Country of Departure"], at["Country of Origin"]
    i_mass, i_price, i_fraud, i_crit = at["Net Mass"], at["Item Price"], at["Fraud"], at["Critical Fraud"]
    width = len(header)
    name = path.name
    # Dates, offices, countries and codes repeat: each distinct cell is converted once.
    dates: dict[str, datetime | str] = {}
    offices: dict[str, str] = {}
    countries: dict[str, str | None] = {}
    codes: dict[str, str] = {}
    for row, f in records:
        if len(f) != width:
            check_width(path, row, f, width)
        cell = f[i_dep]
        departure = countries[cell] if cell in countries else countries.setdefault(cell, _country(cell))
        cell = f[i_orig]
        origin = countries[cell] if cell in countries else countries.setdefault(cell, _country(cell))
        parties: list[dict[str, Any]] = [
            {"role": "declarant", "name": f"KCS declarant {f[i_decl]}", "address": {"country": "KR"}},
            {"role": "importer", "name": f"KCS importer {f[i_imp]}", "address": {"country": "KR"}},
        ]
        if f[i_sell]:
            seller: dict[str, Any] = {"role": "seller", "name": f"KCS seller {f[i_sell]}"}
            if departure is not None:
                seller["address"] = {"country": departure}
            parties.append(seller)
        if f[i_cour]:
            parties.append({"role": "carrier", "name": f"KCS courier {f[i_cour]}"})
        cell = f[i_hs]
        hs = codes.get(cell) or codes.setdefault(cell, _hs(cell))
        cell = f[i_date]
        lodged = dates.get(cell) or dates.setdefault(cell, _date(cell))
        cell = f[i_office]
        office = offices.get(cell) or offices.setdefault(cell, _office(cell))
        mode = f[i_mode].strip()
        control = _LABELS.get((f[i_fraud], f[i_crit]))
        yield Raw(
            row,
            {
                "ref": f[i_ref],
                "type": DECLARATION_TYPE,
                "lodged_at": lodged,
                "office": office,
                "transport_mode": TRANSPORT_MODES.get(mode, mode),
                "country_of_departure": departure,
                "parties": parties,
                "goods": [
                    {
                        "seq": 1,
                        "hs_code": hs,
                        "description": f"HS {hs}",
                        "net_mass_kg": _decimal(f[i_mass]),
                        "value": _decimal(f[i_price]),
                        "currency": CURRENCY,
                        "country_of_origin": origin,
                    }
                ],
            },
            {**control} if control is not None else _control(name, row, f[i_fraud], f[i_crit]),
        )
