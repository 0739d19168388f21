"""Watch lists from FollowTheMoney files: reading (OpenSanctions' layout, bad lines named), import as protected
records (all or nothing, once per content, shared by handling code and group), and screening with the party
matcher (name variants and shared identifiers found, unrelated names not); on both back-ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portguard.core.audit import AuditEntry
from portguard.core.db import Database
from portguard.core.errors import Forbidden, InvalidInput, NotFound
from portguard.core.policy import Handling, OrgKind, Role
from portguard.network import watchlists as wl
from portguard.network.models import WatchList, WatchListEntry
from portguard.network.resolve import resolve
from portguard.sharing import service as sharing
from portguard.sharing.models import GroupIn
from tests.network.test_resolve import _frame

FIXTURE = Path(__file__).parent / "data" / "watchlist.ftm.json"
BAD_LINE = 19  # "Persn": a typo of a schema name
WHY = "screening the consignees of today's arrivals"


def fixture_bytes(*, without_bad_line: bool = True) -> bytes:
    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    if without_bad_line:
        del lines[BAD_LINE - 1]
    return b"".join(lines)


def entry(read: wl.FtmFile, entry_id: str) -> wl.EntryRecord:
    return next(e for e in read.entries if e.id == entry_id)


# ---------------------------------------------------------------- reading


def test_the_fixture_reads_as_fourteen_entries_six_skipped_and_one_bad_line() -> None:
    read = wl.read_ftm(FIXTURE)
    entries, errors = read  # unpacks as (entries, errors)
    assert len(entries) == 14
    assert read.skipped == 6
    assert read.skipped_by_schema == {"Address": 2, "BankAccount": 1, "Ownership": 1, "Sanction": 1, "Vessel": 1}
    assert [(e.line, e.field, e.value) for e in errors] == [(BAD_LINE, "schema", "Persn")]
    assert "line 19" in str(errors[0]) and "unknown FollowTheMoney schema" in str(errors[0])
    assert {e.schema for e in entries} == {"Company", "Person", "Organization", "LegalEntity", "PublicBody"}


def test_properties_become_the_fields_the_matcher_compares() -> None:
    read = wl.read_ftm(FIXTURE)
    rodriguez = entry(read, "ofac-10001")
    assert rodriguez.countries == ["ES"]
    assert rodriguez.phones == ["+34963551200"]  # E.164, as FtM's phone type cleans it
    assert rodriguez.identifiers["eori"] == ["ESA46123456"]  # the Spanish VAT code is the EORI
    assert "A46123456" in rodriguez.identifiers["registration"]
    assert rodriguez.topics == ["sanction", "crime.traffick"]
    # two fragments of one person (lines 3 and 18) are merged as FtM merges them
    kessler = entry(read, "ofac-10002")
    assert kessler.line == 3
    assert kessler.phones == ["+31612345678", "+31107994411"]
    assert kessler.emails == ["v.kessler@mail.ru"]
    assert kessler.names[:2] == ["Viktor Anatolyevich KESSLER", "Виктор Анатольевич Кесслер"]
    assert set(kessler.countries) == {"NL", "RU"} and kessler.birth_dates == ["1971-03-14"]
    # an Address entity referenced by addressEntity, flat (its own line) and nested (inlined)
    assert entry(read, "ru-fsb-2001").addresses == ["ul. Portovaya 7, 198035 Sankt-Peterburg"]
    assert entry(read, "ofac-10008").addresses == ["Av. 25 de Julio km 4.5, 090101 Guayaquil"]
    # a BankAccount owned through an Ownership gives its IBAN and BIC
    crescent = entry(read, "un-3001").identifiers
    assert crescent["iban"] == ["AE070331234567890123456"] and crescent["bic"] == ["GCRTAEAD"]
    # a person given by first and last name only
    assert entry(read, "ofac-10007").names == ["Karim Benali"]
    assert entry(read, "ofac-10007").caption == "Karim Benali"


def test_a_json_array_reads_like_json_lines_and_names_the_line_an_entity_starts() -> None:
    entities = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    pretty = json.dumps(entities, indent=2, ensure_ascii=False).encode()
    read = wl.read_ftm(pretty, file="list.json")
    assert [e.id for e in read.entries] == [e.id for e in wl.read_ftm(FIXTURE).entries]
    (error,) = read.errors
    text = pretty.decode().splitlines()
    assert error.file == "list.json" and text[error.line - 1].strip() == "{"
    assert '"Persn"' in "".join(text[error.line - 1 : error.line + 4])


def test_every_kind_of_bad_line_is_named() -> None:
    lines = [
        b'{"id": "a1", "schema": "Person", "properties": {"name": ["Ana Ruiz"]}}',
        b'{"id": "a2", "schema": "Person", "properties": {"name": ["Broken"]',  # 2: truncated
        b"",  # blank lines are allowed
        b'["not", "an", "entity"]',  # 4
        b'{"id": "a5", "properties": {"name": ["No Schema"]}}',  # 5
        b'{"schema": "Company", "properties": {"name": ["No Id"]}}',  # 6
        b'{"id": "a7", "schema": "Company", "properties": {"country": ["es"]}}',  # 7: no name
        b'{"id": "a8", "schema": "Company", "properties": ["name"]}',  # 8
        b'{"id": "a9", "schema": "Company", "properties": {"name": [["nested"]]}}',  # 9
        b'{"id": "a10", "schema": "Company", "properties": {"name": ["Caf\xe9"]}}',  # 10: Latin-1, not UTF-8
        b'{"id": "a1", "schema": "Vessel", "properties": {"name": ["Ana Ruiz"]}}',  # 11: id of line 1, other kind
        b'{"id": "a12", "schema": "Vessel", "properties": {"name": ["Sea Star"]}}',  # fine: skipped
    ]
    read = wl.read_ftm(b"\n".join(lines), file="bad.ftm.json")
    by_line = {e.line: e.reason for e in read.errors}
    assert sorted(by_line) == [2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert by_line[2].startswith("not JSON")
    assert by_line[4].startswith("not a FollowTheMoney entity")
    assert by_line[5] == "no schema" and by_line[6] == "no id"
    assert by_line[7] == "a Company without a name"
    assert "not a JSON object" in by_line[8] and "neither text nor a number" in by_line[9]
    assert "UTF-8" in by_line[10] and "line 1" in by_line[11]
    assert [e.id for e in read.entries] == ["a1"] and read.skipped == 1 and read.error_count == 9


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_the_reader_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    read = wl.read_ftm(data)
    lines = data.count(b"\n") + 1
    assert all(1 <= e.line <= lines and e.reason for e in read.errors)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_props = st.dictionaries(
    st.sampled_from(["name", "alias", "country", "phone", "email", "birthDate", "addressEntity", "vatCode", "x"]),
    _json,
    max_size=5,
)
_entity = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=8) | st.integers(),
        "schema": st.sampled_from(["Person", "Company", "Address", "Vessel", "Nope", ""]) | _json,
        "properties": _props | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entity | _json, max_size=6))
def test_the_reader_reports_odd_entities_instead_of_raising(values: list[Any]) -> None:
    data = "\n".join(json.dumps(v) for v in values).encode()
    read = wl.read_ftm(data)
    assert read.error_count + len(read.entries) + read.skipped >= 0
    for found in read.entries:
        assert found.names and found.id and len(found.id) <= 200
    for error in read.errors:
        assert 1 <= error.line <= len(values)


# ---------------------------------------------------------------- entries as party records


def test_entry_records_one_per_name_and_one_per_further_address() -> None:
    record = wl.EntryRecord(
        id="e1",
        schema="Company",
        caption="Acme",
        names=["ACME TRADING S.L.", "Acme Trading SL", "Acme Logistics"],  # the first two fold alike
        countries=["ES"],
        phones=["+34911234567", "+34917654321"],
        addresses=["Calle Mayor 5, 28013 Madrid", "Rua Augusta 100, 1100-053 Lisboa, Portugal"],
        identifiers={"iban": ["ES9121000418450200051332"]},
    )
    frame = wl.entry_records([record]).set_index("record_id")
    assert list(frame.index) == ["e1|0", "e1|1", "e1|2"]
    assert list(frame["name"]) == ["ACME TRADING S.L.", "Acme Logistics", "ACME TRADING S.L."]
    assert frame.loc["e1|0", ["street", "postcode", "city", "country"]].tolist() == [
        "Calle Mayor 5",
        "28013",
        "Madrid",
        "ES",
    ]
    assert frame.loc["e1|2", ["city", "country"]].tolist() == ["Lisboa", "PT"]
    assert set(frame["phone"]) == {"+34911234567"} and set(frame["iban"]) == {"ES9121000418450200051332"}


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Calle del Puerto 12, 46024 Valencia, Spain", ("Calle del Puerto 12", "46024", "Valencia", "ES")),
        ("Strawinskylaan 150, 1077 ZX Amsterdam", ("Strawinskylaan 150", "1077 ZX", "Amsterdam", None)),
        ("Calle Mayor 3, 46024 El Puig", ("Calle Mayor 3", "46024", "El Puig", None)),
        ("10 Downing Street, London SW1A 2AA, United Kingdom", ("10 Downing Street", "SW1A 2AA", "London", "GB")),
        ("House 215, Road 11, Gulshan 1, Dhaka 1131", ("House 215, Road 11, Gulshan 1", "1131", "Dhaka", None)),
        ("Al Maktoum Road, Office 1402, Deira, Dubai", ("Al Maktoum Road, Office 1402, Deira", None, "Dubai", None)),
        ("Gran Via 12", ("Gran Via 12", None, None, None)),
    ],
)
def test_addresses_are_split_the_way_lists_write_them(text: str, parts: tuple[str | None, ...]) -> None:
    assert wl._split_address(text) == parts


# ---------------------------------------------------------------- the service


class World:
    """Three customs authorities: NL and BE share a group, DE stands outside it; a terminal in the group."""

    def __init__(self, db: Database, make_org: Any, make_user: Any) -> None:
        nl_org, be_org, de_org = make_org(name="Douane NL"), make_org(name="Douane BE"), make_org(name="Zoll DE")
        terminal_org = make_org(name="Terminal Rotterdam", kind=OrgKind.TERMINAL_OPERATOR)
        with db.session() as session:
            self.group = sharing.create_group(
                session, actor=None, data=GroupIn(name="Alliance", org_ids=[nl_org, be_org, terminal_org])
            ).id
            self.other_group = sharing.create_group(
                session, actor=None, data=GroupIn(name="Elsewhere", org_ids=[de_org])
            ).id
        self.db = db
        self.nl = make_user(Role.CUSTOMS_ANALYST, org_id=nl_org).principal
        self.be = make_user(Role.CUSTOMS_ANALYST, org_id=be_org).principal
        self.de = make_user(Role.CUSTOMS_ANALYST, org_id=de_org).principal
        self.terminal = make_user(Role.PORT_SECURITY, org_id=terminal_org, kind=OrgKind.TERMINAL_OPERATOR).principal

    def load(self, data: bytes | None = None, **changes: Any) -> str:
        kwargs: dict[str, Any] = {
            "actor": self.nl,
            "data": fixture_bytes() if data is None else data,
            "name": "OFAC SDN (excerpt)",
            "source": "https://www.opensanctions.org/datasets/us_ofac_sdn/",
            "handling": Handling.AMBER,
            "sharing_group_id": self.group,
        } | changes
        with self.db.session() as session:
            return wl.import_watchlist(session, **kwargs).id


@pytest.fixture
def world(db: Database, make_org: Any, make_user: Any) -> World:
    return World(db, make_org, make_user)


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_stores_every_entry_once_per_content(world: World, db: Database) -> None:
    first = world.load()
    with db.session() as session:
        stored = session.get(WatchList, first)
        assert stored is not None
        assert (stored.entries, stored.skipped, stored.owner_org_id) == (14, 6, world.nl.org_id)
        row = session.get(WatchListEntry, (first, "ofac-10002"))
        assert row is not None and row.phones == ["+31612345678", "+31107994411"]
        assert row.names[1] == "Виктор Анатольевич Кесслер"
        collect = session.scalars(select(AuditEntry).where(AuditEntry.object_id == first)).all()
        assert [a.action for a in collect] == ["collect"]
        assert collect[0].detail["entries"] == 14
    assert world.load(name="the same file again") == first
    assert _count(db, WatchList) == 1 and _count(db, WatchListEntry) == 14
    # another organisation importing the same content gets a list of its own
    with db.session() as session:
        other = wl.import_watchlist(session, actor=world.de, data=fixture_bytes(), name="SDN", source="")
    assert other.id != first and _count(db, WatchListEntry) == 28


def test_a_file_with_a_bad_line_is_refused_whole_and_names_the_line(world: World, db: Database) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.load(fixture_bytes(without_bad_line=False))
    assert "line 19" in refused.value.detail
    assert refused.value.extra["errors"][0]["line"] == BAD_LINE
    assert _count(db, WatchList) == 0 and _count(db, WatchListEntry) == 0


def test_import_checks_group_handling_and_permission(world: World) -> None:
    with pytest.raises(InvalidInput, match="not a member of sharing group"):
        world.load(sharing_group_id=world.other_group)
    with pytest.raises(InvalidInput, match="cannot be RED"):
        world.load(handling=Handling.RED)
    with pytest.raises(Forbidden):
        world.load(actor=world.terminal)  # port security reads watch lists, it does not import them
    with pytest.raises(InvalidInput, match="no person, company"):
        world.load(data=b'{"id": "v1", "schema": "Vessel", "properties": {"name": ["Sea Star"]}}\n')


def test_amber_with_a_group_reaches_the_group_and_nobody_else(world: World, db: Database) -> None:
    list_id = world.load()
    with db.session() as session:
        for member in (world.nl, world.be, world.terminal):
            assert [w.id for w in wl.list_watchlists(session, actor=member)] == [list_id]
            assert wl.get_watchlist(session, actor=member, watchlist_id=list_id).entries == 14
        assert wl.list_watchlists(session, actor=world.de) == []
        with pytest.raises(NotFound):
            wl.get_watchlist(session, actor=world.de, watchlist_id=list_id)
        with pytest.raises(NotFound):
            wl.list_entries(session, actor=world.de, watchlist_id=list_id)
        subjects = pd.DataFrame([{"record_id": "x", "name": "Transportes Rodriguez Hermanos S.A.", "country": "ES"}])
        assert wl.screen(session, actor=world.de, subjects=subjects, model=None, justification=WHY) == []
        assert wl.screen(session, actor=world.be, subjects=subjects, model=None, justification=WHY)
    strict = world.load(data=fixture_bytes() + b"\n", handling=Handling.AMBER_STRICT, sharing_group_id=None)
    with db.session() as session:
        assert [w.id for w in wl.list_watchlists(session, actor=world.be)] == [list_id]
        assert {w.id for w in wl.list_watchlists(session, actor=world.nl)} == {list_id, strict}


def test_entries_are_listed_and_searched(world: World, db: Database) -> None:
    list_id = world.load()
    with db.session() as session:
        page, total = wl.list_entries(session, actor=world.be, watchlist_id=list_id, limit=5)
        assert total == 14 and len(page) == 5
        assert [e.caption for e in page] == sorted(e.caption for e in page)
        for q in ("rodríguez", "RODRIGUEZ HERMANOS", "ofac-10001"):  # accents and case do not matter; ids match
            found, total = wl.list_entries(session, actor=world.be, watchlist_id=list_id, q=q)
            assert ([e.id for e in found], total) == (["ofac-10001"], 1), q
        found, _ = wl.list_entries(session, actor=world.be, watchlist_id=list_id, q="Кесслер")  # an alias only
        assert [e.id for e in found] == ["ofac-10002"]
        found, _ = wl.list_entries(session, actor=world.be, watchlist_id=list_id, q="kessler")  # and transliterated
        assert [e.id for e in found] == ["ofac-10002"]
        # "del" is in CLAN DEL LITORAL, Delta Kimya and MARÍTIMA DEL ATLÁNTICO SUR: the second of them
        found, total = wl.list_entries(session, actor=world.be, watchlist_id=list_id, q="del", limit=1, offset=1)
        assert (total, [e.id for e in found]) == (3, ["tr-5001"])
        found, _ = wl.list_entries(session, actor=world.be, watchlist_id=list_id, q="50%_")
        assert found == []


def test_only_the_owner_deletes_and_the_erasure_is_audited(world: World, db: Database) -> None:
    list_id = world.load()
    with db.session() as session:
        with pytest.raises(Forbidden):
            wl.delete_watchlist(session, actor=world.be, watchlist_id=list_id)
        with pytest.raises(NotFound):
            wl.delete_watchlist(session, actor=world.de, watchlist_id=list_id)
    with db.session() as session:
        wl.delete_watchlist(session, actor=world.nl, watchlist_id=list_id)
    assert _count(db, WatchList) == 0 and _count(db, WatchListEntry) == 0
    with db.session() as session:
        erased = session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert [(a.object_id, a.detail["entries"]) for a in erased] == [(list_id, 14)]


# ---------------------------------------------------------------- screening

SUBJECTS = pd.DataFrame(
    [
        # abbreviated ("Hnos."), reordered, accent dropped, the street abbreviated
        {"record_id": "rodriguez", "name": "RODRIGUEZ HNOS TRANSPORTES SA", "street": "C/ del Puerto 12",
         "postcode": "46024", "city": "Valencia", "country": "ES"},
        # another spelling of the person, his mobile written the Dutch national way
        {"record_id": "kessler", "name": "Viktor Kesler", "phone": "06 1234 5678", "country": "NL"},
        # the Cyrillic name transliterated
        {"record_id": "baltik", "name": "Baltik Marin Servis LLC", "country": "RU"},
        # the list's second phone and the owned account, under names the list does not know
        {"record_id": "cousin", "name": "Rotterdam Fresh Trading B.V.", "phone": "+31 10 799 44 11", "country": "NL"},
        {"record_id": "account", "name": "Al Noor Foodstuff LLC", "iban": "AE07 0331 2345 6789 0123 456",
         "country": "AE"},
        # unrelated: nothing in common, or a near name in the same country
        {"record_id": "vandijk", "name": "Van Dijk Cocoa Trading B.V.", "phone": "+31 180 40 3264", "country": "NL"},
        {"record_id": "ramirez", "name": "Transportes Ramirez Hermanos SL", "city": "Valencia", "country": "ES"},
        {"record_id": "hanse", "name": "Hanse Obstimport GmbH", "city": "Hamburg", "country": "DE"},
    ]
)  # fmt: skip


def test_screening_finds_variants_and_shared_identifiers_but_not_unrelated_names(world: World, db: Database) -> None:
    list_id = world.load()
    with db.session() as session:
        hits = wl.screen(session, actor=world.be, subjects=SUBJECTS, model=None, justification=WHY)
    found = {(h.record_id, h.entry_id): h for h in hits}
    assert set(found) == {
        ("rodriguez", "ofac-10001"),
        ("kessler", "ofac-10002"),
        ("baltik", "ru-fsb-2001"),
        ("cousin", "ofac-10002"),
        ("account", "un-3001"),
    }
    rodriguez = found[("rodriguez", "ofac-10001")]
    assert rodriguez.probability > 0.99 and rodriguez.watchlist_id == list_id
    assert rodriguez.caption == "TRANSPORTES RODRÍGUEZ HERMANOS, S.A."
    assert dict(rodriguez.reasons)["same words in another order"] > 0
    assert dict(rodriguez.reasons)["same address"] > 0
    kessler = found[("kessler", "ofac-10002")]
    assert kessler.probability == 1.0 and kessler.reasons[0][0] == "same phone"
    assert found[("baltik", "ru-fsb-2001")].reasons[0][0] == "same name"
    assert found[("baltik", "ru-fsb-2001")].matched_name == "ООО «Балтик Марин Сервис»"
    assert kessler.matched_name == "Victor Kessler"  # the alias two typos away
    # exact hits: probability 1 whatever the names say, the model's words for the other fields kept
    cousin = dict(found[("cousin", "ofac-10002")].reasons)
    assert found[("cousin", "ofac-10002")].probability == 1.0 and "same phone" in cousin
    assert "different phone" not in cousin
    assert dict(found[("account", "un-3001")].reasons)["same IBAN"] > 0
    assert hits == sorted(hits, key=lambda h: (-h.probability, h.record_id, h.watchlist_name, h.entry_id))
    json.dumps([h.as_dict() for h in hits], allow_nan=False)  # storable as WatchHit.reasons
    with db.session() as session:
        combined = session.scalars(select(AuditEntry).where(AuditEntry.action == "combine")).all()
        assert [(a.justification, a.detail["hits"], a.detail["ids"]) for a in combined] == [(WHY, 5, [list_id])]


def test_screening_with_a_saved_network_model(world: World, db: Database) -> None:
    model = resolve(records=_frame().drop(columns="truth")).model
    world.load()
    with db.session() as session:
        hits = wl.screen(session, actor=world.be, subjects=SUBJECTS, model=model, justification=WHY, threshold=0.5)
    found = {(h.record_id, h.entry_id) for h in hits}
    # the identifiers hit whatever the model; the unrelated names still do not
    assert {("kessler", "ofac-10002"), ("cousin", "ofac-10002"), ("account", "un-3001")} <= found
    assert not {r for r, _e in found} & {"vandijk", "ramirez", "hanse"}


def test_screening_needs_a_justification_and_lists_to_screen(world: World, db: Database) -> None:
    with db.session() as session:
        with pytest.raises(InvalidInput, match="justification"):
            wl.screen(session, actor=world.nl, subjects=SUBJECTS, model=None, justification=" ")
        assert wl.screen(session, actor=world.nl, subjects=SUBJECTS, model=None, justification=WHY) == []
        with pytest.raises(InvalidInput, match="repeats"):
            wl.screen(session, actor=world.nl, subjects=pd.concat([SUBJECTS, SUBJECTS]), model=None, justification=WHY)
