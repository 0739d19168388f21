"""The declaration view rules run on: its columns, derived fields, parties, and consignee history strictly from the
past and only from what the actor may read; on both back-ends."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from portguard.controls import service as controls
from portguard.controls.models import ControlResultIn, Outcome
from portguard.core.db import Database
from portguard.core.policy import Handling, OrgKind, Principal, Role
from portguard.declarations import service as declarations
from portguard.declarations.generator import iso6346_check
from portguard.risk import expr, features
from tests.declarations.test_ingest import declaration

DAY1 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # declarations are lodged at 08:00


def day(n: int, hour: int = 8) -> datetime:
    """08:00 (or `hour`) UTC of day `n` (day 1 is 2026-03-01)."""
    return DAY1 + timedelta(days=n - 1, hours=hour - 8)


def stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def container(serial: int) -> str:
    """A valid ISO 6346 container number."""
    code = f"CSQU{serial:06d}"
    return code + iso6346_check(code)


def parties(
    *,
    consignee: str | None = "Fresh Fruit Imports B.V.",
    eori: str | None = None,
    importer: str | None = None,
    consignor: str | None = None,
    seller: str | None = None,
    importer_first: bool = True,
) -> list[dict[str, Any]]:
    """Parties of a declaration; the importer and seller are listed before consignee and consignor unless told."""
    out: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    if importer:
        (out if importer_first else late).append({"role": "importer", "name": importer, "address": {"country": "BE"}})
    if seller:
        out.append({"role": "seller", "name": seller, "address": {"country": "CO"}})
    if consignee:
        party: dict[str, Any] = {"role": "consignee", "name": consignee, "address": {"country": "NL"}}
        if eori:
            party["eori"] = eori
        out.append(party)
    if consignor:
        out.append({"role": "consignor", "name": consignor, "address": {"country": "EC"}})
    out.append({"role": "declarant", "name": "Broker B.V.", "address": {"country": "NL"}})
    return out + late


def goods(*items: dict[str, Any]) -> list[dict[str, Any]]:
    """Goods items (seq numbered from 1 unless given), without containers."""
    out = []
    for i, item in enumerate(items, start=1):
        out.append({"seq": i, "hs_code": "080390", "description": "Fresh bananas", "country_of_origin": "EC"} | item)
    return out


def simple(ref: str, when: datetime, **changes: Any) -> dict[str, Any]:
    """A declaration lodged at `when`, its goods item without a container list (so containers can change freely)."""
    record = declaration(ref, lodged_at=stamp(when))
    record["goods"][0]["containers"] = []
    record.update(changes)
    return record


def store(
    db: Database, user: Any, records: list[dict[str, Any]], tmp_path: Path, *, handling: Handling = Handling.AMBER
) -> None:
    """Ingest `records` for the user's organisation; the file must be committed."""
    path = tmp_path / f"decl-{secrets.token_hex(4)}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with db.session() as session:
        report = declarations.ingest(
            session, actor=user.principal, owner_org_id=user.org_id, path=path, format="ics2", handling=handling
        )
    assert report.status == "committed", [str(e.as_dict()) for e in report.errors]


def control(db: Database, user: Any, declaration_id: str, outcome: Outcome, at: datetime) -> None:
    """Record a control result on a declaration at `at`."""
    with db.session() as session:
        controls.record_result(
            session,
            actor=user.principal,
            data=ControlResultIn(
                declaration_id=declaration_id,
                outcome=outcome,
                goods="cocaine" if outcome == Outcome.SEIZURE else None,
                recorded_at=at,
            ),
        )


def view(
    db: Database, actor: Principal | None, start: datetime = day(-30), end: datetime = day(60)
) -> dict[str, dict[str, Any]]:
    """The view rows by declaration reference."""
    with db.session() as session:
        table = features.declaration_view(session, actor=actor, start=start, end=end)
    return {row["ref"]: row for row in table.to_pylist()}


@pytest.fixture
def nl(make_user):
    return make_user(Role.CUSTOMS_ANALYST)


# ---------------------------------------------------------------- columns

ARROW_TYPES = {
    "text": pa.string(),
    "number": pa.float64(),
    "integer": pa.int32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "text[]": pa.list_(pa.string()),
}


def test_view_has_exactly_the_documented_columns_in_order_and_types(db, nl, tmp_path):
    store(db, nl, [simple("C1", day(1))], tmp_path)
    with db.session() as session:
        table = features.declaration_view(session, actor=nl.principal, start=day(0), end=day(2))
        empty = features.declaration_view(session, actor=nl.principal, start=day(10), end=day(11))
    assert table.num_rows == 1 and empty.num_rows == 0
    for t in (table, empty):
        assert t.column_names == list(expr.COLUMNS)
    wanted = {name: ARROW_TYPES[column.type] for name, column in expr.COLUMNS.items()}
    types = {field.name: field.type for field in table.schema}
    # integers may be any integer width, the rest exactly
    for name, kind in wanted.items():
        if kind == pa.int32():
            assert pa.types.is_integer(types[name]), (name, types[name])
        elif kind == pa.timestamp("us", tz="UTC"):
            # time-zone aware (DuckDB names the zone its own way: UTC, Etc/UTC); the instant is checked below
            assert pa.types.is_timestamp(types[name]) and types[name].tz, (name, types[name])
        else:
            assert types[name] == kind, (name, types[name])
    assert table.column("lodged_at").to_pylist() == [day(1)]


def test_view_of_an_empty_store_has_the_columns(db, nl):
    with db.session() as session:
        table = features.declaration_view(session, actor=nl.principal, start=day(0), end=day(2))
    assert table.num_rows == 0
    assert table.column_names == list(expr.COLUMNS)


# ---------------------------------------------------------------- derived fields


def test_hs_prefixes_value_per_kg_and_counts(db, nl, tmp_path):
    records = [
        simple(
            "NET",
            day(1),
            goods=goods(
                {
                    "hs_code": "0803901000",
                    "gross_mass_kg": 21000,
                    "net_mass_kg": 20000,
                    "value": 15000,
                    "currency": "USD",
                },
                {"hs_code": "090111", "description": "Coffee", "net_mass_kg": 10, "value": 99999},
                {"hs_code": "180100", "description": "Cocoa", "net_mass_kg": 10, "value": 1},
            ),
            containers=[{"number": container(n)} for n in (305438, 305439)],
        ),
        simple(
            "GROSS",
            day(1, 9),
            goods=goods({"hs_code": "09011100", "gross_mass_kg": 400, "value": 1000}),
            containers=[],
        ),
        simple("NOMASS", day(1, 10), goods=goods({"hs_code": "180100", "value": 1000}), containers=[]),
        simple("ZEROMASS", day(1, 11), goods=goods({"net_mass_kg": 0, "gross_mass_kg": 0, "value": 5})),
        simple("NOVALUE", day(1, 12), goods=goods({"net_mass_kg": 100})),
    ]
    store(db, nl, records, tmp_path)
    rows = view(db, nl.principal)
    assert set(rows) == {"NET", "GROSS", "NOMASS", "ZEROMASS", "NOVALUE"}
    net = rows["NET"]
    assert (net["hs6"], net["hs4"], net["hs_chapter"]) == ("080390", "0803", "08")
    assert net["value_per_kg"] == pytest.approx(0.75)  # 15000 / 20000 net, not / 21000 gross
    assert (net["goods_items"], net["containers"]) == (3, 2)
    assert (net["currency"], net["value"], net["net_mass_kg"], net["gross_mass_kg"]) == ("USD", 15000, 20000, 21000)
    assert net["description"] == "Fresh bananas"  # the first goods item
    gross = rows["GROSS"]
    assert (gross["hs6"], gross["hs4"], gross["hs_chapter"]) == ("090111", "0901", "09")
    assert gross["value_per_kg"] == pytest.approx(2.5)  # 1000 / 400 gross: no net mass
    assert (gross["goods_items"], gross["containers"]) == (1, 0)
    assert rows["NOMASS"]["value_per_kg"] is None
    assert rows["NOMASS"]["hs_chapter"] == "18"
    assert rows["ZEROMASS"]["value_per_kg"] is None  # no division by zero
    assert rows["NOVALUE"]["value_per_kg"] is None


def test_the_first_goods_item_is_the_lowest_seq_not_the_first_listed(db, nl, tmp_path):
    items = [
        {"seq": 2, "hs_code": "090111", "description": "Coffee", "country_of_origin": "BR", "value": 9},
        {
            "seq": 1,
            "hs_code": "080390",
            "description": "Bananas",
            "country_of_origin": "CO",
            "net_mass_kg": 4,
            "value": 2,
        },
    ]
    store(db, nl, [simple("ORDER", day(1), goods=items)], tmp_path)
    row = view(db, nl.principal)["ORDER"]
    assert (row["hs6"], row["origin"], row["description"], row["value_per_kg"]) == ("080390", "CO", "Bananas", 0.5)
    assert row["goods_items"] == 2


def test_declaration_fields_are_carried_over(db, nl, tmp_path):
    store(db, nl, [simple("FIELDS", day(1))], tmp_path)
    row = view(db, nl.principal)["FIELDS"]
    assert row["declaration_id"] == f"{nl.org_id}:FIELDS"
    assert (row["type"], row["office"], row["transport_mode"]) == ("ENS", "NL000396", "1")
    assert (row["port_of_loading"], row["port_of_discharge"], row["departure"]) == ("ECGYE", "NLRTM", "EC")
    assert row["route_countries"] == ["EC", "PA", "NL"]
    assert row["lodged_at"] == day(1)
    assert row["origin"] == "EC"


def test_consignee_falls_back_to_importer_and_consignor_to_seller(db, nl, tmp_path):
    records = [
        simple(
            "BOTH",
            day(1),
            parties=parties(
                consignee="Real Consignee B.V.",
                importer="Importer N.V.",
                consignor="Real Consignor S.A.",
                seller="Seller S.A.",
            ),
        ),
        simple("IMPORTER", day(1, 9), parties=parties(consignee=None, importer="Importer N.V.", seller="Seller S.A.")),
        simple(
            "CONSIGNEE_FIRST",
            day(1, 10),
            parties=parties(consignee="Real Consignee B.V.", importer="Importer N.V.", importer_first=False),
        ),
        simple("NOBODY", day(1, 11), parties=parties(consignee=None)),
    ]
    store(db, nl, records, tmp_path)
    rows = view(db, nl.principal)
    assert (rows["BOTH"]["consignee"], rows["BOTH"]["consignor"]) == ("Real Consignee B.V.", "Real Consignor S.A.")
    assert (rows["BOTH"]["consignee_country"], rows["BOTH"]["consignor_country"]) == ("NL", "EC")
    assert (rows["IMPORTER"]["consignee"], rows["IMPORTER"]["consignor"]) == ("Importer N.V.", "Seller S.A.")
    assert (rows["IMPORTER"]["consignee_country"], rows["IMPORTER"]["consignor_country"]) == ("BE", "CO")
    assert rows["CONSIGNEE_FIRST"]["consignee"] == "Real Consignee B.V."
    nobody = rows["NOBODY"]
    assert (nobody["consignee"], nobody["consignor"], nobody["consignee_country"]) == (None, None, None)
    # no consignee: no history either
    assert nobody["consignee_age_days"] is None
    assert (nobody["consignee_declarations"], nobody["consignee_seizures"]) == (0, 0)


# ---------------------------------------------------------------- the consignee key and its history


def test_consignee_spellings_share_one_history(db, nl, tmp_path):
    records = [
        simple("A1", day(1), parties=parties(consignee="Fresh Fruit Imports B.V.")),
        simple("A2", day(2), parties=parties(consignee="FRESH FRUIT IMPORTS BV")),
        simple("A3", day(3), parties=parties(consignee="fresh-fruit imports, b.v.")),
        simple("OTHER", day(4), parties=parties(consignee="Fresh Fruit Exports B.V.")),
    ]
    store(db, nl, records, tmp_path)
    rows = view(db, nl.principal)
    assert [rows[r]["consignee_declarations"] for r in ("A1", "A2", "A3")] == [0, 1, 2]
    assert [rows[r]["consignee_age_days"] for r in ("A1", "A2", "A3")] == [0, 1, 2]
    assert rows["A2"]["consignee"] == "FRESH FRUIT IMPORTS BV"  # the name as written
    assert (rows["OTHER"]["consignee_declarations"], rows["OTHER"]["consignee_age_days"]) == (0, 0)


def test_eori_when_given_identifies_the_consignee(db, nl, tmp_path):
    records = [
        simple("E1", day(1), parties=parties(consignee="Fresh Fruit Imports B.V.", eori="NL123456789")),
        simple("E2", day(2), parties=parties(consignee="FFI Rotterdam (trading name)", eori="NL123456789")),
        simple("E3", day(3), parties=parties(consignee="Fresh Fruit Imports B.V.", eori="NL999999999")),
        simple("E4", day(4), parties=parties(consignee="Fresh Fruit Imports B.V.")),
    ]
    store(db, nl, records, tmp_path)
    rows = view(db, nl.principal)
    assert rows["E2"]["consignee_declarations"] == 1  # same EORI, another name
    assert rows["E2"]["consignee_age_days"] == 1
    assert rows["E3"]["consignee_declarations"] == 0  # same name, another EORI
    assert rows["E4"]["consignee_declarations"] == 0  # no EORI: keyed by name, not joined with the EORI ones


def _history_world(db: Database, nl: Any, tmp_path: Path) -> None:
    """One consignee with declarations on days 1, 5 and 9 (08:00) and a seizure on the day-5 one at 12:00."""
    records = [simple(f"H{n}", day(n), parties=parties(eori="NL123456789")) for n in (1, 5, 9)]
    store(db, nl, records, tmp_path)
    control(db, nl, f"{nl.org_id}:H5", Outcome.SEIZURE, day(5, 12))


def test_history_is_strictly_from_the_past(db, nl, tmp_path):
    _history_world(db, nl, tmp_path)
    rows = view(db, nl.principal)
    history = [
        (
            rows[f"H{n}"]["consignee_declarations"],
            rows[f"H{n}"]["consignee_controls"],
            rows[f"H{n}"]["consignee_irregularities"],
            rows[f"H{n}"]["consignee_seizures"],
            rows[f"H{n}"]["consignee_age_days"],
        )
        for n in (1, 5, 9)
    ]
    assert history == [
        (0, 0, 0, 0, 0),
        (1, 0, 0, 0, 4),  # its own seizure is recorded after it was lodged
        (2, 1, 1, 1, 8),
    ]


def test_a_control_recorded_later_does_not_leak_into_the_window(db, nl, tmp_path):
    _history_world(db, nl, tmp_path)
    # a control of the day-1 declaration recorded on day 20, after the window [day 1, day 10)
    control(db, nl, f"{nl.org_id}:H1", Outcome.IRREGULARITY, day(20))
    rows = view(db, nl.principal, start=day(1), end=day(10))
    assert [rows[f"H{n}"]["consignee_controls"] for n in (1, 5, 9)] == [0, 0, 1]
    assert [rows[f"H{n}"]["consignee_irregularities"] for n in (1, 5, 9)] == [0, 0, 1]
    # a declaration lodged after day 20 sees both
    store(db, nl, [simple("H21", day(21), parties=parties(eori="NL123456789"))], tmp_path)
    later = view(db, nl.principal, start=day(1), end=day(30))
    assert (later["H21"]["consignee_controls"], later["H21"]["consignee_irregularities"]) == (2, 2)
    assert later["H9"]["consignee_controls"] == 1


def test_at_equal_times_the_declaration_comes_before_the_control(db, nl, tmp_path):
    _history_world(db, nl, tmp_path)
    control(db, nl, f"{nl.org_id}:H1", Outcome.SEIZURE, day(9))  # recorded exactly when H9 is lodged
    rows = view(db, nl.principal)
    assert rows["H9"]["consignee_seizures"] == 1  # the day-5 one only
    assert rows["H9"]["consignee_controls"] == 1


def test_history_before_start_counts_but_its_rows_are_not_returned(db, nl, tmp_path):
    _history_world(db, nl, tmp_path)
    rows = view(db, nl.principal, start=day(4), end=day(10))
    assert set(rows) == {"H5", "H9"}
    assert (rows["H5"]["consignee_declarations"], rows["H5"]["consignee_age_days"]) == (1, 4)
    assert (rows["H9"]["consignee_declarations"], rows["H9"]["consignee_seizures"]) == (2, 1)
    assert rows["H9"]["consignee_age_days"] == 8  # from the first declaration, before `start`
    # the end is exclusive
    assert set(view(db, nl.principal, start=day(5), end=day(9))) == {"H5"}


def test_only_declarations_the_actor_may_read_are_in_the_view_and_history(db, nl, make_user, tmp_path):
    _history_world(db, nl, tmp_path)
    be = make_user(Role.CUSTOMS_ANALYST)
    # another organisation's declarations for the same consignee: a RED one (day 2), an AMBER one (day 3) seized
    store(db, be, [simple("BE-RED", day(2), parties=parties(eori="NL123456789"))], tmp_path, handling=Handling.RED)
    store(db, be, [simple("BE-AMBER", day(3), parties=parties(eori="NL123456789"))], tmp_path)
    control(db, be, f"{be.org_id}:BE-AMBER", Outcome.SEIZURE, day(3, 12))

    rows = view(db, nl.principal)
    assert set(rows) == {"H1", "H5", "H9"}
    assert (rows["H5"]["consignee_declarations"], rows["H5"]["consignee_seizures"]) == (1, 0)
    assert (rows["H9"]["consignee_declarations"], rows["H9"]["consignee_seizures"]) == (2, 1)

    be_rows = view(db, be.principal)
    assert set(be_rows) == {"BE-AMBER"}  # its own RED declaration names no recipient: not even BE reads it
    assert (be_rows["BE-AMBER"]["consignee_declarations"], be_rows["BE-AMBER"]["consignee_age_days"]) == (0, 0)

    everything = view(db, None)  # the system (CLI) reads everything
    assert set(everything) == {"H1", "BE-RED", "BE-AMBER", "H5", "H9"}
    assert (everything["H5"]["consignee_declarations"], everything["H5"]["consignee_seizures"]) == (3, 1)
    assert (everything["H9"]["consignee_declarations"], everything["H9"]["consignee_seizures"]) == (4, 2)
    assert everything["BE-RED"]["consignee_age_days"] == 1


def test_a_terminal_operator_gets_an_empty_view(db, nl, make_user, tmp_path):
    _history_world(db, nl, tmp_path)
    terminal = make_user(Role.PORT_SECURITY, kind=OrgKind.TERMINAL_OPERATOR)
    with db.session() as session:
        table = features.declaration_view(session, actor=terminal.principal, start=day(0), end=day(30))
    assert table.num_rows == 0 and table.column_names == list(expr.COLUMNS)
