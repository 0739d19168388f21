"""`core.bulk` on each back-end: insert_columns stores what an ORM insert stores, inside the session's transaction
and savepoints; prefetched() hands over items, errors and early stops between threads; gc_paused() restores gc."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.orm import Session

from portguard.core import bulk
from portguard.core.db import Database
from portguard.declarations.models import Declaration, GoodsItem, Ingest

DECLARATIONS = Declaration.__table__
GOODS = GoodsItem.__table__

# Values an ORM insert has to convert: instants in other zones and naive (taken as UTC), microseconds, decimals at
# and beyond the column scale, JSON lists, None, and text that COPY's text format escapes (tab, newline, backslash,
# the literal \N that means NULL in COPY, the empty string) or that is not ASCII.
HEADS: list[dict[str, Any]] = [
    {
        "ref": "RT-1",
        "type": "ENS",
        "lodged_at": datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=timezone(timedelta(hours=2))),
        "office": "NL000396",
        "transport_mode": "1",
        "transport_document": "MAEU\t12\\N",
        "vessel_imo": "9321483",
        "voyage": None,
        "port_of_loading": "ECGYE",
        "port_of_discharge": None,
        "country_of_departure": "EC",
        "route_countries": ["EC", "PA", "NL"],
        "handling": "AMBER",
        "legal_regime": "GDPR",
    },
    {
        "ref": "RT-2",
        "type": "ENS",
        "lodged_at": datetime(2025, 12, 31, 23, 59, 59),  # naive: UTC
        "office": "BE000100",
        "transport_mode": "4",
        "transport_document": "",
        "vessel_imo": None,
        "voyage": "V\\001",
        "port_of_loading": None,
        "port_of_discharge": "BEANR",
        "country_of_departure": None,
        "route_countries": [],
        "handling": "RED",
        "legal_regime": "LED",
    },
    {
        "ref": "RT-3",
        "type": "ENS",
        # 01:30 UTC on 1 January, after RT-2, though its wall time is before RT-2's
        "lodged_at": datetime(2025, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        "office": "NL000396",
        "transport_mode": "1",
        "transport_document": "\\N",
        "vessel_imo": "9321483",
        "voyage": "V2",
        "port_of_loading": "ECGYE",
        "port_of_discharge": "NLRTM",
        "country_of_departure": "EC",
        "route_countries": ["EC", "PA", "NL"],  # the same list again (converted once, stored for each row)
        "handling": "AMBER",
        "legal_regime": "GDPR",
    },
]
GOODS_ROWS: list[dict[str, Any]] = [
    {
        "decl": 0,
        "seq": 1,
        "hs_code": "080390",
        "description": 'Fresh bananas, "premium"\ttab\nnew line\r\nback\\slash \\N Frutas del Pacífico ☃',
        "gross_mass_kg": Decimal("21000.125"),
        "net_mass_kg": Decimal("19800"),
        "value": Decimal("18500.10"),
        "currency": "EUR",
        "packages": 1080,
        "country_of_origin": "EC",
        "containers": ["CSQU3054383", "MSKU1234565"],
    },
    {
        "decl": 0,
        "seq": 2,
        "hs_code": "180100",
        "description": "\\N",
        "gross_mass_kg": Decimal("0.001"),
        "net_mass_kg": None,
        "value": Decimal("9999999999999.99"),  # 15 digits: exact even as a SQLite REAL
        "currency": "USD",
        "packages": 0,
        "country_of_origin": None,
        "containers": [],
    },
    {
        "decl": 1,
        "seq": 1,
        "hs_code": "0901110000",
        "description": "",
        "gross_mass_kg": None,
        "net_mass_kg": None,
        "value": None,
        "currency": "EUR",
        "packages": None,
        "country_of_origin": "BR",
        "containers": ["CSQU3054383"],
    },
]


def _setup(session: Session, org_id: str, ingest_id: str = "ing_bulk") -> str:
    session.add(
        Ingest(
            id=ingest_id,
            file_name="bulk.jsonl",
            file_sha256="0" * 64,
            format="ics2",
            status="committed",
            owner_org_id=org_id,
        )
    )
    session.flush()
    return ingest_id


def _decl_id(prefix: str, i: int) -> str:
    return f"{prefix}:{HEADS[i]['ref']}"


def _heads(prefix: str, org_id: str, ingest_id: str) -> list[dict[str, Any]]:
    return [
        {"id": _decl_id(prefix, i), **h, "ingest_id": ingest_id, "owner_org_id": org_id, "sharing_group_id": None}
        for i, h in enumerate(HEADS)
    ]


def _goods(prefix: str) -> list[dict[str, Any]]:
    return [
        {"declaration_id": _decl_id(prefix, g["decl"]), **{k: v for k, v in g.items() if k != "decl"}}
        for g in GOODS_ROWS
    ]


def _as_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {key: [r[key] for r in rows] for key in rows[0]}


def _count(session: Session, table: Table) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def _raw(session: Session, table: Table, key: str, value: str) -> tuple[Any, ...]:
    """The stored row as the database holds it: every column cast to text (NULL stays NULL)."""
    cols = ", ".join(f"CAST({c.name} AS TEXT)" for c in table.c if c.name not in ("id", "declaration_id"))
    order = " ORDER BY seq" if "seq" in table.c else ""
    rows = session.execute(text(f"SELECT {cols} FROM {table.name} WHERE {key} = :v{order}"), {"v": value}).all()
    return tuple(tuple(r) for r in rows)


def _attrs(obj: Any, skip: tuple[str, ...] = ("id", "declaration_id")) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.c if c.key not in skip}


def test_insert_columns_stores_what_an_orm_insert_stores(db: Database, make_org):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
        for row in _heads("orm", org, ingest):
            session.add(Declaration(**row))
        session.flush()
        for row in _goods("orm"):
            session.add(GoodsItem(**row))
        session.flush()
        assert bulk.insert_columns(session, DECLARATIONS, _as_columns(_heads("bulk", org, ingest))) == len(HEADS)
        assert bulk.insert_columns(session, GOODS, _as_columns(_goods("bulk"))) == len(GOODS_ROWS)

    with db.session() as session:
        for i in range(len(HEADS)):
            orm, fast = session.get(Declaration, _decl_id("orm", i)), session.get(Declaration, _decl_id("bulk", i))
            assert orm is not None and fast is not None
            assert _attrs(fast) == _attrs(orm)
            assert [_attrs(g) for g in fast.goods] == [_attrs(g) for g in orm.goods]
            # and byte for byte the same in the database (timestamp format, JSON text, decimal text)
            assert _raw(session, DECLARATIONS, "id", fast.id) == _raw(session, DECLARATIONS, "id", orm.id)
            assert _raw(session, GOODS, "declaration_id", fast.id) == _raw(session, GOODS, "declaration_id", orm.id)

        for i, head in enumerate(HEADS):
            stored = session.get(Declaration, _decl_id("bulk", i))
            assert stored is not None
            expected_at = head["lodged_at"] if head["lodged_at"].tzinfo else head["lodged_at"].replace(tzinfo=UTC)
            assert stored.lodged_at.utcoffset() == timedelta(0) and stored.lodged_at == expected_at
            for key in ("transport_document", "voyage", "vessel_imo", "route_countries", "country_of_departure"):
                assert getattr(stored, key) == head[key], key
            assert stored.voyage is None or isinstance(stored.voyage, str)
        bulk_goods = session.scalars(
            select(GoodsItem)
            .where(GoodsItem.declaration_id.like("bulk:%"))
            .order_by(GoodsItem.declaration_id, GoodsItem.seq)
        ).all()
        for stored, given in zip(bulk_goods, GOODS_ROWS, strict=True):
            for key in ("description", "gross_mass_kg", "net_mass_kg", "value", "packages", "containers"):
                assert getattr(stored, key) == given[key], key
            for key in ("gross_mass_kg", "net_mass_kg", "value"):
                assert given[key] is None or isinstance(getattr(stored, key), Decimal)
        # the lodged_at order is the instants' order on both back-ends (UTC stored, not local wall time)
        order = session.scalars(
            select(Declaration.ref).where(Declaration.id.like("bulk:%")).order_by(Declaration.lodged_at)
        ).all()
        assert order == ["RT-2", "RT-3", "RT-1"]


def test_a_column_left_out_is_null(db: Database, make_org):
    org = make_org()
    required = ("id", "ref", "type", "lodged_at", "office", "transport_mode", "route_countries", "ingest_id")
    required += ("owner_org_id", "handling", "legal_regime")
    with db.session() as session:
        ingest = _setup(session, org)
        heads = _heads("bulk", org, ingest)
        bulk.insert_columns(session, DECLARATIONS, {k: [h[k] for h in heads] for k in required})
        bulk.insert_columns(
            session,
            GOODS,
            {
                "declaration_id": [heads[0]["id"]],
                "seq": [1],
                "hs_code": ["080390"],
                "description": ["Bananas"],
                "currency": ["EUR"],
                "containers": [[]],
            },
        )
    left_out = [c.name for c in DECLARATIONS.c if c.name not in required]
    assert "voyage" in left_out and "sharing_group_id" in left_out
    with db.session() as session:
        for column in left_out:
            nulls = session.scalar(
                select(func.count()).select_from(DECLARATIONS).where(DECLARATIONS.c[column].is_(None))
            )
            assert nulls == len(HEADS), column
        item = session.get(GoodsItem, (heads[0]["id"], 1))
        assert item is not None
        assert (item.gross_mass_kg, item.net_mass_kg, item.value, item.packages, item.country_of_origin) == (None,) * 5


def test_a_nullable_column_with_a_python_default_left_out_is_null(db: Database, request: pytest.FixtureRequest):
    """The docstring: "a table column left out is NULL" — also one with an ORM-side default."""
    table = Table(
        "bulk_probe",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("note", String(20), nullable=True, default="n/a"),
    )
    with db.sessionmaker() as session:
        try:
            table.create(session.connection())
            assert bulk.insert_columns(session, table, {"id": [1, 2]}) == 2
            assert session.execute(select(table.c.note).order_by(table.c.id)).scalars().all() == [None, None]
        finally:
            session.rollback()


@pytest.mark.parametrize(
    "columns",
    [
        {"id": ["x"], "ref": ["x"], "no_such_column": [1]},
        {"ID": ["x"]},  # names are exact
    ],
)
def test_unknown_column_is_refused(db: Database, columns):
    with db.session() as session:
        with pytest.raises(ValueError, match="has no column"):
            bulk.insert_columns(session, DECLARATIONS, columns)
        assert _count(session, DECLARATIONS) == 0


def test_columns_of_unequal_length_are_refused(db: Database, make_org):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
        columns = _as_columns(_heads("bulk", org, ingest))
        columns["ref"] = columns["ref"][:-1]
        with pytest.raises(ValueError, match="differ in length"):
            bulk.insert_columns(session, DECLARATIONS, columns)
        with pytest.raises(ValueError, match="differ in length"):
            bulk.insert_columns(session, DECLARATIONS, {"id": ["a", "b"], "ref": []})
        assert _count(session, DECLARATIONS) == 0


def test_zero_rows_is_a_no_op(db: Database, make_org):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
        assert bulk.insert_columns(session, DECLARATIONS, {}) == 0
        assert bulk.insert_columns(session, DECLARATIONS, {k: [] for k in _heads("b", org, ingest)[0]}) == 0
        assert bulk.insert_columns(session, GOODS, {"declaration_id": [], "seq": []}) == 0
        assert _count(session, DECLARATIONS) == 0 and _count(session, GOODS) == 0


def _one(prefix: str, org: str, ingest: str, i: int = 0) -> dict[str, list[Any]]:
    return _as_columns([_heads(prefix, org, ingest)[i]])


def test_rows_of_a_rolled_back_savepoint_disappear_while_the_transaction_commits_the_rest(db: Database, make_org):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
        bulk.insert_columns(session, DECLARATIONS, _one("before", org, ingest))
        savepoint = session.begin_nested()
        bulk.insert_columns(session, DECLARATIONS, _as_columns(_heads("inner", org, ingest)))
        bulk.insert_columns(session, GOODS, _as_columns(_goods("inner")))
        assert _count(session, DECLARATIONS) == 1 + len(HEADS)  # visible inside the savepoint
        savepoint.rollback()
        assert _count(session, DECLARATIONS) == 1 and _count(session, GOODS) == 0
        with session.begin_nested():  # a savepoint that is released keeps its rows
            bulk.insert_columns(session, DECLARATIONS, _one("kept", org, ingest, 1))
        bulk.insert_columns(session, DECLARATIONS, _one("after", org, ingest, 2))

    with db.session() as session:
        ids = set(session.scalars(select(Declaration.id)).all())
        assert ids == {_decl_id("before", 0), _decl_id("kept", 1), _decl_id("after", 2)}
        assert _count(session, GOODS) == 0


def test_rows_are_gone_when_the_outer_transaction_fails(db: Database, make_org):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
    with pytest.raises(RuntimeError), db.session() as session:
        bulk.insert_columns(session, DECLARATIONS, _one("gone", org, ingest))
        raise RuntimeError("abort")
    with db.session() as session:
        assert _count(session, DECLARATIONS) == 0


# ---------------------------------------------------------------- found while writing these tests (fixed)


def test_json_values_that_compare_equal_are_not_conflated(db: Database, make_org, request: pytest.FixtureRequest):
    org = make_org()
    with db.session() as session:
        ingest = _setup(session, org)
        heads = _heads("bulk", org, ingest)
        for head, countries in zip(heads, ([1], [True], [1.0]), strict=True):
            head["route_countries"] = countries
        bulk.insert_columns(session, DECLARATIONS, _as_columns(heads))
    with db.session() as session:
        stored = [session.get(Declaration, h["id"]).route_countries for h in heads]  # type: ignore[union-attr]
        assert [type(v[0]) for v in stored] == [int, bool, float]


def test_json_values_that_are_not_hashable_are_written(db: Database, make_org, request: pytest.FixtureRequest):
    org = make_org()
    errors = [{"row": 1, "field": "ref", "reason": "missing"}]
    with db.session() as session:
        bulk.insert_columns(
            session,
            Ingest.__table__,
            {
                "id": ["ing_errors"],
                "file_name": ["bad.jsonl"],
                "file_sha256": ["1" * 64],
                "format": ["ics2"],
                "status": ["rejected"],
                "rows_read": [1],
                "declarations": [0],
                "error_count": [1],
                "errors": [errors],
                "started_at": [datetime(2026, 3, 2, tzinfo=UTC)],
                "owner_org_id": [org],
                "handling": ["AMBER"],
                "legal_regime": ["GDPR"],
            },
        )
    with db.session() as session:
        stored = session.get(Ingest, "ing_errors")
        assert stored is not None and stored.errors == errors


# ---------------------------------------------------------------- prefetched


def _prefetch_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "prefetch"}


def _run_bounded(target: Any, seconds: float = 10.0) -> None:
    """Run `target` in a thread and fail (instead of hanging) if it does not finish in time."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:
            failure.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(seconds)
    assert not runner.is_alive(), f"did not finish within {seconds} s"
    if failure:
        raise failure[0]


def _wait_for(condition: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.mark.parametrize("depth", [1, 2, 8])
def test_prefetched_yields_every_item_in_order(depth):
    items = [(i, str(i)) for i in range(2000)]
    out: list[Any] = []
    _run_bounded(lambda: out.extend(bulk.prefetched(iter(items), depth=depth)))
    assert out == items
    assert list(bulk.prefetched([], depth=depth)) == []
    assert list(bulk.prefetched([None, 0, "", None])) == [None, 0, "", None]


def test_prefetched_runs_the_source_in_another_thread():
    seen: list[str] = []

    def source() -> Iterator[int]:
        seen.append(threading.current_thread().name)
        yield 1

    assert list(bulk.prefetched(source())) == [1]
    assert seen == ["prefetch"]


@pytest.mark.parametrize("k", [0, 1, 5, 50])
def test_an_error_of_the_source_is_raised_after_the_items_before_it(k):
    class Boom(Exception):
        pass

    def source() -> Iterator[int]:
        yield from range(k)
        raise Boom(f"after {k}")

    got: list[int] = []

    def consume() -> None:
        with pytest.raises(Boom, match=f"after {k}$"):
            for item in bulk.prefetched(source(), depth=2):
                got.append(item)
                time.sleep(0.001)  # a slower consumer: the error waits behind the items

    _run_bounded(consume)
    assert got == list(range(k))
    assert _wait_for(lambda: not _prefetch_threads())


def test_a_base_exception_of_the_source_reaches_the_consumer():
    def source() -> Iterator[int]:
        yield 1
        raise KeyboardInterrupt

    got: list[int] = []

    def consume() -> None:
        with pytest.raises(KeyboardInterrupt):
            for item in bulk.prefetched(source()):
                got.append(item)

    _run_bounded(consume)
    assert got == [1]


@pytest.mark.parametrize("stop", ["break", "error", "close"])
def test_stopping_early_stops_the_producer(stop):
    before = _prefetch_threads()
    pulled = 0
    finished = threading.Event()

    def endless() -> Iterator[int]:
        nonlocal pulled
        try:
            while True:
                pulled += 1
                yield pulled
        finally:
            finished.set()

    got: list[int] = []

    def consume() -> None:
        if stop == "close":
            it = bulk.prefetched(endless(), depth=2)
            got.extend([next(it), next(it), next(it)])
            it.close()
            return
        with pytest.raises(ZeroDivisionError) if stop == "error" else nullcontext():
            for item in bulk.prefetched(endless(), depth=2):
                got.append(item)
                if len(got) == 3:
                    if stop == "error":
                        raise ZeroDivisionError
                    break

    _run_bounded(consume)
    assert got == [1, 2, 3]
    # the producer thread has ended (prefetched waits for it) and pulls nothing more from the source
    assert _prefetch_threads() <= before
    pulled_then = pulled
    time.sleep(0.3)
    assert pulled == pulled_then and pulled <= 3 + 2 + 2  # what was consumed, the queue, one in hand
    gc.collect()
    assert finished.wait(3), "the source generator was never closed"


def test_a_slow_source_is_read_ahead_while_the_consumer_works():
    def slow() -> Iterator[int]:
        for i in range(6):
            time.sleep(0.1)
            yield i

    def consume() -> None:
        started = time.monotonic()
        for _ in bulk.prefetched(slow(), depth=2):
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"{elapsed:.2f} s: producing and consuming did not overlap"  # serial 1.2 s, ahead 0.7 s

    _run_bounded(consume)


# ---------------------------------------------------------------- gc_paused


@pytest.fixture
def _gc_state() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("_gc_state")
def test_gc_paused_switches_collection_off_and_back_on():
    gc.enable()
    with bulk.gc_paused():
        assert not gc.isenabled()
        with bulk.gc_paused():  # nested: the inner one must not switch it on again
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("_gc_state")
def test_gc_paused_restores_collection_after_an_error():
    gc.enable()
    with pytest.raises(LookupError), bulk.gc_paused():
        assert not gc.isenabled()
        raise LookupError
    assert gc.isenabled()


@pytest.mark.usefixtures("_gc_state")
@pytest.mark.parametrize("fail", [False, True])
def test_gc_paused_leaves_collection_off_when_it_was_off(fail):
    gc.disable()
    with pytest.raises(LookupError) if fail else nullcontext(), bulk.gc_paused():
        assert not gc.isenabled()
        if fail:
            raise LookupError
    assert not gc.isenabled()
