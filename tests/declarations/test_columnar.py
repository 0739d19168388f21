"""Column-at-a-time validation: the same verdicts and values as `DeclarationIn`, errors per row, and table shapes."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from portguard.declarations import columnar
from portguard.declarations.columnar import Columns, Valid
from portguard.declarations.models import DeclarationIn, TransportMode
from portguard.declarations.readers import RowError

FILE = "f.csv"


# ---------------------------------------------------------------- helpers (also used by test_tabular and test_kcs)


def cells(batch: Columns | Valid, i: int) -> dict[str, Any]:
    """Row `i` of a batch as {target key: value}."""
    return {key: values[i] for key, values in batch.values.items()}


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat row as the dict shaped like `DeclarationIn` that the per-row tabular builder made: empty (None) fields
    are left out, so is a party, address or container whose cells are all empty; the goods item gets seq 1; parties
    come in the order their role first appears among the keys, containers by position."""
    top: dict[str, Any] = {}
    goods: dict[str, Any] = {}
    parties: dict[str, dict[str, Any]] = {}
    addresses: dict[str, dict[str, Any]] = {}
    containers: dict[int, dict[str, Any]] = {}
    roles: list[str] = []
    for key, value in flat.items():
        parts = key.split(".")
        if parts[0] == "parties" and parts[1] not in roles:
            roles.append(parts[1])
        if value is None:
            continue
        if len(parts) == 1:
            top[key] = value
        elif parts[0] == "goods":
            goods[parts[2]] = value
        elif parts[0] == "parties" and len(parts) == 4:
            addresses.setdefault(parts[1], {})[parts[3]] = value
        elif parts[0] == "parties":
            parties.setdefault(parts[1], {})[parts[2]] = value
        else:
            containers.setdefault(int(parts[1]), {})[parts[2]] = value
    if goods:
        goods.setdefault("seq", 1)
        top["goods"] = [goods]
    party_list = []
    for role in roles:
        if role in parties or role in addresses:
            party = {"role": role, **parties.get(role, {})}
            if role in addresses:
                party["address"] = addresses[role]
            party_list.append(party)
    if party_list:
        top["parties"] = party_list
    if containers:
        top["containers"] = [containers[slot] for slot in sorted(containers)]
    return top


def declaration_value(decl: DeclarationIn, valid: Valid, i: int, key: str) -> Any:
    """The field of `decl` that the target `key` of row `i` of `valid` names (None for an absent party etc.)."""
    parts = key.split(".")
    if len(parts) == 1:
        return getattr(decl, key)
    if parts[0] == "goods":
        return getattr(decl.goods[int(parts[1])], parts[2])
    if parts[0] == "parties":
        party = next((p for p in decl.parties if p.role == parts[1]), None)
        if party is None:
            return None
        if len(parts) == 4:
            return None if party.address is None else getattr(party.address, parts[3])
        return getattr(party, parts[2])
    slots = [slot for slot, present in valid.containers if present[i]]
    slot = int(parts[1])
    return getattr(decl.containers[slots.index(slot)], parts[2]) if slot in slots else None


def assert_same_as_model(valid: Valid, i: int, decl: DeclarationIn) -> None:
    """Row `i` of `valid` holds the values of `decl`: every typed value, which parties and which containers."""
    for key, values in valid.values.items():
        expected = declaration_value(decl, valid, i, key)
        assert values[i] == expected, (key, values[i], expected)
        assert type(values[i]) is type(expected), (key, values[i], expected)
    assert [p.role for p in decl.parties] == [role for role, present in valid.parties if present[i]]
    assert len(decl.containers) == sum(present[i] for _, present in valid.containers)


def _batch(rows: list[dict[str, Any]], keys: list[str] | None = None, **sources: str) -> Columns:
    keys = keys or list(dict.fromkeys(k for r in rows for k in r))
    return Columns(list(range(2, 2 + len(rows))), {k: [r.get(k) for r in rows] for k in keys}, dict(sources))


BASE = {
    "ref": "A1",
    "lodged_at": "2024-03-01T08:30:00Z",
    "office": "NL000396",
    "goods.0.hs_code": "851713",
    "goods.0.description": "Smartphones",
}


def _rows(*changes: dict[str, Any]) -> list[dict[str, Any]]:
    return [BASE | {"ref": f"A{i}"} | change for i, change in enumerate(changes, start=1)]


# ---------------------------------------------------------------- property: the verdicts and values of DeclarationIn

# target key -> (valid values, invalid values). Within the valid values net mass never exceeds gross mass; the
# invalid ones include masses that are fine alone but break net <= gross.
VALUES: dict[str, tuple[list[Any], list[Any]]] = {
    "ref": (["A1", "24NL0001", " A2 ", "R/3-x.y_z"], ["bad ref!", "x" * 41]),
    "lodged_at": (
        ["2024-03-01T08:30:00Z", "2024-03-01", datetime(2024, 3, 1, 8, tzinfo=UTC), "2024-02-29T00:00:00+01:00"],
        ["1999-12-31T00:00:00Z", "2024-02-30", "yesterday", "2101-01-01"],
    ),
    "office": (["NL000396", "KR030", " BE1 "], ["N", "X" * 13]),
    "transport_mode": (["1", "4", " 9 "], ["6", "60", "SEA"]),
    "country_of_departure": (["NL", "cn", " BE "], ["ZZ", "XX", "NLD"]),
    "port_of_loading": (["CNSHA", "nl rtm", "ECGYE"], ["XXYYY", "CNSH1", "CN"]),
    "goods.0.hs_code": (["851713", "8517.13", "85171300", "8517130000"], ["85171", "abcdef", 851713]),
    "goods.0.description": (["Smartphones", "  Beds  "], [" ", "x" * 513]),
    "goods.0.gross_mass_kg": (["8000", "1200.5", 1500, Decimal("2500.75")], [2.5, Decimal("0"), "-5", "heavy", "2e9"]),
    "goods.0.net_mass_kg": (["1100", 99, 2.25, "1200.5"], ["9000", 1200.51, "-1", "light", "1e10"]),
    "goods.0.country_of_origin": (["CN", "vn"], ["ZZ", "EU"]),
    "parties.consignee.name": (["Acme BV", "  Fresh Fruit B.V. "], [" ", "x" * 201]),
    "parties.consignee.address.country": (["NL", "de"], ["XX"]),
    "parties.consignee.iban": (["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00"], ["NL91ABNA0417164301", "IBAN"]),
    "containers.0.number": (
        ["MSCU1234566", "CSQU3054383", "cSqU 305438 3"],
        ["CSQU3054384", "MSCU1234567", "XYZ"],  # check digit wrong (twice), not a container number
    ),
}
KEYS = list(VALUES)
REQUIRED = {"ref", "lodged_at", "office", "goods.0.hs_code", "goods.0.description"}


@st.composite
def batches(draw: st.DrawFn) -> Columns:
    """A batch of 1-6 rows: `bad` in 20 cells are wrong (a required one may be empty or not mapped), `empty` in 20
    optional cells are empty."""
    bad = draw(st.sampled_from([0, 0, 1, 2, 5]))
    empty = draw(st.sampled_from([1, 3, 6]))

    def cell(key: str) -> Any:
        valid, invalid = VALUES[key]
        roll = draw(st.integers(0, 19))
        if roll < bad:
            return draw(st.sampled_from([*invalid, None] if key in REQUIRED else invalid))
        if key not in REQUIRED and roll < bad + empty:
            return None
        return draw(st.sampled_from(valid))

    keys = [k for k in KEYS if draw(st.integers(0, 19)) >= (bad if k in REQUIRED else 1)]
    n = draw(st.integers(1, 6))
    return _batch([{k: cell(k) for k in keys} for _ in range(n)], keys)


def _location(error: dict[str, Any], flat: dict[str, Any]) -> str:
    """A `DeclarationIn` error location as the target key columnar validation names."""
    loc = list(error["loc"])
    roles = [party["role"] for party in nested(flat).get("parties", [])]
    if loc[:1] == ["parties"] and len(loc) > 2:
        loc[1] = roles[loc[1]]
    if loc == ["goods", 0]:  # the goods item's own check: net within gross
        return "goods.0.net_mass_kg"
    return ".".join(map(str, loc)) or "goods.0.containers"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_validate_agrees_with_the_model(batch: Columns) -> None:
    """A row passes column validation iff its nested dict passes `DeclarationIn`; the errors name the same fields
    with the same reasons; a passing row's typed values are the model's (defaults included)."""
    verdicts: list[DeclarationIn | None] = []
    expected_errors: list[tuple[int, str, str]] = []
    for i, row in enumerate(batch.rows):
        flat = cells(batch, i)
        try:
            verdicts.append(DeclarationIn.model_validate(nested(flat)))
        except ValidationError as exc:
            verdicts.append(None)
            expected_errors += [(row, _location(e, flat), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
    valid, errors = columnar.validate(batch, file=FILE)
    failed = [row for row, decl in zip(batch.rows, verdicts, strict=True) if decl is None]
    assert sorted({e.row for e in errors}) == failed
    assert (valid is None) == bool(failed)
    assert all(e.file == FILE for e in errors)
    assert [e.row for e in errors] == sorted(e.row for e in errors)
    found = {(e.row, e.field, e.reason) for e in errors}
    for row, where, reason in expected_errors:
        if where == "goods":  # no goods item at all: columnar validation says which of its fields are missing
            assert (row, "goods", "List should have at least 1 item after validation, not 0") in found
        else:
            assert (row, where, reason) in found
    # the rows that pass, validated on their own: the model's values
    keep = [i for i, decl in enumerate(verdicts) if decl is not None]
    if not keep:
        return
    subset = Columns([batch.rows[i] for i in keep], {k: [v[i] for i in keep] for k, v in batch.values.items()})
    valid, errors = columnar.validate(subset, file=FILE)
    assert errors == [] and valid is not None
    assert valid.rows == subset.rows
    for j, i in enumerate(keep):
        decl = verdicts[i]
        assert decl is not None
        assert_same_as_model(valid, j, decl)


@pytest.mark.parametrize("masses", [[1, True], [True, 1]])
def test_equal_but_different_values_get_their_own_verdict(masses: list[Any]) -> None:
    """JSON Lines can give `true` and `1` in one column; `DeclarationIn` accepts 1 and rejects True as a mass."""
    batch = _batch(_rows(*({"goods.0.gross_mass_kg": m} for m in masses)))
    for i, mass in enumerate(masses):
        with pytest.raises(ValidationError) if mass is True else nullcontext():
            DeclarationIn.model_validate(nested(cells(batch, i)))
    _, errors = columnar.validate(batch, file=FILE)
    at = next(i for i, m in enumerate(masses) if m is True)  # not masses.index(True): 1 == True
    assert [(e.row, e.value) for e in errors] == [(2 + at, "True")]


# ---------------------------------------------------------------- errors


def test_a_bad_value_repeated_is_validated_once_and_reported_on_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: Counter[Any] = Counter()
    real = columnar._adapters

    class Spy:
        def __init__(self, adapter: Any, many: bool) -> None:
            self.adapter, self.many = adapter, many

        def validate_python(self, value: Any) -> Any:
            seen.update(value if self.many else [value])
            return self.adapter.validate_python(value)

    def adapters(key: str) -> Any:
        many, one = real(key)
        return (Spy(many, True), Spy(one, False)) if key == "office" else (many, one)

    monkeypatch.setattr(columnar, "_adapters", adapters)
    offices = ["NL000396", "N", "NL000396", "N", "N", "BE000100"]
    batch = _batch(_rows(*({"office": o} for o in offices)), office="Office")
    valid, errors = columnar.validate(batch, file=FILE)
    assert valid is None
    reason = "String should have at least 2 characters"
    assert errors == [RowError(FILE, row, "Office", "N", reason) for row in (3, 5, 6)]
    # the list of distinct values once (it fails), then each distinct value once on its own
    assert seen == {"NL000396": 2, "N": 2, "BE000100": 2}


def test_errors_come_in_row_order_and_name_the_target_key_without_a_source() -> None:
    batch = _batch(_rows({"office": "N"}, {}, {"goods.0.hs_code": "85", "lodged_at": "2024-02-30"}))
    valid, errors = columnar.validate(batch, file=FILE)
    assert valid is None
    assert [(e.row, e.field, e.value) for e in errors] == [
        (2, "office", "N"),
        (4, "lodged_at", "2024-02-30"),
        (4, "goods.0.hs_code", "85"),
    ]
    assert errors[2].reason == "'85' is not an HS6, CN8 or TARIC10 code (6, 8 or 10 digits)"


def test_a_party_with_an_address_but_no_name() -> None:
    rows = _rows(
        {"parties.seller.address.country": "BE"},  # an address: the seller exists and needs a name
        {},  # no seller at all: nothing required
        {"parties.seller.name": "Acme", "parties.seller.address.country": "BE"},
    )
    keys = [*BASE, "parties.seller.name", "parties.seller.address.country"]
    valid, errors = columnar.validate(_batch(rows, keys, **{"parties.seller.name": "Seller"}), file=FILE)
    assert valid is None
    assert errors == [RowError(FILE, 2, "Seller", None, "Field required")]
    # the name column not mapped at all: the party still needs one
    valid, errors = columnar.validate(_batch([rows[0]], [*BASE, "parties.seller.address.country"]), file=FILE)
    assert errors == [RowError(FILE, 2, "parties.seller.name", None, "Field required")]
    # a name but an address without its country
    rows = _rows({"parties.seller.name": "Acme", "parties.seller.address.city": "Gent"})
    valid, errors = columnar.validate(_batch(rows), file=FILE)
    assert errors == [RowError(FILE, 2, "parties.seller.address.country", None, "Field required")]


def test_net_mass_above_gross_mass() -> None:
    rows = _rows(
        {"goods.0.gross_mass_kg": "1000", "goods.0.net_mass_kg": "1200.5"},
        {"goods.0.gross_mass_kg": "1000", "goods.0.net_mass_kg": "1000"},
        {"goods.0.gross_mass_kg": None, "goods.0.net_mass_kg": "5000"},
    )
    valid, errors = columnar.validate(_batch(rows, **{"goods.0.net_mass_kg": "Net kg"}), file=FILE)
    assert valid is None
    assert errors == [RowError(FILE, 2, "Net kg", "1200.5", "net mass 1200.5 kg exceeds gross mass 1000 kg")]
    with pytest.raises(ValidationError, match=re.escape("net mass 1200.5 kg exceeds gross mass 1000 kg")):
        DeclarationIn.model_validate(nested(cells(_batch(rows), 0)))


def test_a_goods_item_names_an_undeclared_container() -> None:
    rows = _rows(
        {"goods.0.containers": ["MSCU1234566"], "containers.0.number": "CSQU3054383"},
        {"goods.0.containers": ["CSQU3054383"], "containers.0.number": "CSQU3054383"},
        {"goods.0.containers": ["MSCU1234566"], "containers.0.number": None},  # no containers declared: allowed
    )
    valid, errors = columnar.validate(_batch(rows), file=FILE)
    assert valid is None
    reason = "goods item 1 names container MSCU1234566, which is not declared"
    assert errors == [RowError(FILE, 2, "goods.0.containers", "MSCU1234566", reason)]
    with pytest.raises(ValidationError, match=reason):
        DeclarationIn.model_validate(nested(cells(_batch(rows), 0)))
    valid, errors = columnar.validate(_batch(rows[1:]), file=FILE)
    assert errors == [] and valid is not None
    assert valid.containers == [(0, [True, False])]


def test_missing_required_fields_and_no_goods_item() -> None:
    rows = [{"ref": "A1", "goods.0.gross_mass_kg": "5"}, {"ref": "A2", "goods.0.gross_mass_kg": None}]
    valid, errors = columnar.validate(_batch(rows), file=FILE)
    assert valid is None
    assert [(e.row, e.field, e.reason) for e in errors] == [
        (2, "lodged_at", "Field required"),
        (2, "office", "Field required"),
        (2, "goods.0.hs_code", "Field required"),
        (2, "goods.0.description", "Field required"),
        (3, "lodged_at", "Field required"),
        (3, "office", "Field required"),
        (3, "goods", "List should have at least 1 item after validation, not 0"),
        (3, "goods.0.hs_code", "Field required"),
        (3, "goods.0.description", "Field required"),
    ]


def test_defaults_are_filled() -> None:
    rows = _rows({}, {"type": "IM", "transport_mode": "4", "goods.0.currency": "USD"})
    keys = [*BASE, "type", "transport_mode", "goods.0.currency"]  # mapped but empty in row 1; not mapped: the rest
    valid, errors = columnar.validate(_batch(rows, keys), file=FILE)
    assert errors == [] and valid is not None
    v = valid.values
    assert v["type"] == ["ENS", "IM"]
    assert v["transport_mode"] == [TransportMode.SEA, TransportMode.AIR]
    assert v["goods.0.currency"] == ["EUR", "USD"]
    assert v["goods.0.seq"] == [1, 1]
    assert v["route_countries"] == [[], []] and v["goods.0.containers"] == [[], []]
    assert v["vessel_imo"] == [None, None] and v["goods.0.value"] == [None, None]
    assert v["lodged_at"][0] == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    for i in range(2):
        assert_same_as_model(valid, i, DeclarationIn.model_validate(nested(cells(_batch(rows, keys), i))))


# ---------------------------------------------------------------- tables


def test_tables_number_parties_in_mapping_order_and_sort_rows_by_id() -> None:
    keys = [*BASE, "parties.consignor.name", "parties.consignee.name", "parties.notify_party.address.country"]
    keys += ["parties.notify_party.name", "containers.0.number", "containers.1.number"]
    rows = [
        BASE
        | {"ref": "C", "parties.consignor.name": "S3", "parties.consignee.name": "R3"}
        | {"parties.notify_party.name": "N3", "containers.1.number": "MSCU1234566"},
        BASE | {"ref": "A", "parties.consignee.name": "R1", "parties.notify_party.name": "N1"},
        BASE
        | {"ref": "B", "parties.consignor.name": "S2", "parties.notify_party.address.country": "NL"}
        | {"parties.notify_party.name": "N2", "containers.0.number": "CSQU3054383"},
        BASE | {"ref": "D"},
    ]
    rows = [r | {"goods.0.description": f"goods of {r['ref']}"} for r in rows]
    batch = _batch(rows, keys)
    batch.controls = [{"outcome": "no_finding", "source": "kcs"}, None, {"outcome": "irregularity"}, None]
    valid, errors = columnar.validate(batch, file=FILE)
    assert errors == [] and valid is not None
    out = columnar.tables(
        valid, ids=[f"o:{r['ref']}" for r in rows], ingest_id="ing1", owner="o", handling="amber", regime="gdpr"
    )
    decls = out["declarations"]
    assert decls["id"] == ["o:A", "o:B", "o:C", "o:D"]
    assert decls["ref"] == ["A", "B", "C", "D"]
    assert decls["transport_mode"] == ["1"] * 4 and decls["type"] == ["ENS"] * 4
    assert decls["ingest_id"] == ["ing1"] * 4 and decls["owner_org_id"] == ["o"] * 4
    assert (decls["handling"], decls["legal_regime"]) == (["amber"] * 4, ["gdpr"] * 4)
    goods = out["goods_items"]
    assert goods["declaration_id"] == decls["id"] and goods["seq"] == [1] * 4
    assert goods["description"] == ["goods of A", "goods of B", "goods of C", "goods of D"]
    parties = out["declaration_parties"]
    got = sorted(
        zip(
            parties["declaration_id"], parties["seq"], parties["role"], parties["name"], parties["country"], strict=True
        )
    )
    assert got == [
        ("o:A", 1, "consignee", "R1", None),
        ("o:A", 2, "notify_party", "N1", None),
        ("o:B", 1, "consignor", "S2", None),
        ("o:B", 2, "notify_party", "N2", "NL"),
        ("o:C", 1, "consignor", "S3", None),
        ("o:C", 2, "consignee", "R3", None),
        ("o:C", 3, "notify_party", "N3", None),
    ]
    assert set(parties) == {"declaration_id", "seq", "role", *columnar.PARTY_FIELDS}
    assert len({len(column) for column in parties.values()}) == 1
    assert out["declaration_containers"] == {
        "declaration_id": ["o:B", "o:C"],
        "number": ["CSQU3054383", "MSCU1234566"],
        "seals": [[], []],
        "size_type": [None, None],
    }
    controls = out["control_results"]
    assert controls["declaration_id"] == ["o:B", "o:C"]
    assert controls["id"] == ["o:B@ing1", "o:C@ing1"]
    assert controls["outcome"] == ["irregularity", "no_finding"]
    assert controls["source"] == ["import", "kcs"] and controls["critical"] == [False, False]
    assert controls["recorded_at"] == [datetime(2024, 3, 1, 8, 30, tzinfo=UTC)] * 2
