"""Watch lists: FollowTheMoney entity files imported as protected records, and screening against them.

Why FollowTheMoney: it is the format OpenSanctions publishes its sanctions, PEP and crime lists in and Aleph
exports investigations in, so a customs or police analyst can load a published list, or a partner's case file,
without a converter. The file is read with the `followthemoney` library itself (`model.get_proxy` with
`cleaned=False`: every value re-validated by its property type, unknown properties ignored, as FtM does for
untrusted input), so schemata, property names and value types mean exactly what they mean in FtM.

Why only legal entities: screening compares people and companies (declared parties, employees), so an entry is a
FtM `LegalEntity` or a descendant (`Person`, `Company`, `Organization`, `PublicBody`), asked through
`schema.is_a("LegalEntity")`; anything else (vessels, sanctions, relations) is counted as skipped. Two kinds of
non-matchable entity still contribute when they are in the same file: an `Address` referenced by `addressEntity`
becomes an address of its entity, and a `BankAccount` owned through an `Ownership` gives its IBAN and BIC (the
shape PortGuard's own FtM export writes). OpenSanctions' nested layout (referenced entities inlined as objects)
is read the same way.

Why all or nothing: a watch list is evidence; a list imported with a tenth of its entities silently missing would
clear people it names. A file with one invalid line (not JSON, not an entity, unknown schema, no id, a legal entity
without a name) is refused with every such line named, and nothing is stored. The same content imported again by
the same organisation returns the list already stored (its SHA-256 is the key), as declaration ingests do.

Why the same matcher: a hit should mean what a link in the network means. Screening scores subjects against every
entry with the party profile of `portguard.network.resolve` (`link_sets`: the network run's trained model when one
is given), and adds the exact hits a model might weigh down: the same valid IBAN, EORI, phone number (E.164) or
e-mail address is a hit whatever the names say, because a shared account or number is what front companies and
strawmen have in common.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pycountry
from followthemoney import model as ftm
from followthemoney.exc import FollowTheMoneyException
from followthemoney.proxy import EntityProxy
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portguard.core import audit, bulk
from portguard.core.audit import AuditAction
from portguard.core.clock import utcnow
from portguard.core.db import paginate
from portguard.core.errors import Forbidden, InvalidInput, NotFound
from portguard.core.ids import new_id
from portguard.core.policy import Action, Handling, LegalRegime, Principal, can, require_permission, visible_filter
from portguard.network.models import WatchList, WatchListEntry
from portguard.network.names import fold, name_tokens
from portguard.network.resolve import (
    FIXED_MODELS,
    PARTY,
    link_sets,
    prepare_parties,
    valid_bic,
    valid_eori,
    valid_iban,
)

__all__ = [
    "SCREEN_THRESHOLD",
    "EntryRecord",
    "FtmFile",
    "LineError",
    "ScreenHit",
    "delete_watchlist",
    "entry_records",
    "get_watchlist",
    "import_watchlist",
    "list_entries",
    "list_watchlists",
    "read_ftm",
    "screen",
]

NAME_PROPS = ("name", "alias", "weakAlias", "previousName")
COUNTRY_PROPS = ("country", "nationality", "jurisdiction")
# FtM identifier properties kept as the entity's registration numbers (an EORI or IBAN among them is recognised)
REGISTRATION_PROPS = ("registrationNumber", "taxNumber", "vatCode", "idNumber", "innCode")
MAX_ERRORS = 100  # errors reported per file (the count says how many there were)
MAX_NESTING = 8  # levels of inlined entities followed in OpenSanctions' nested layout
MAX_NAMES = 25  # names of one entry matched (after variants that fold alike are merged)
MAX_ADDRESSES = 5  # addresses of one entry matched
# A screening hit is a lead for an analyst to review, not a join of two records: "more likely than not" is the
# default bar, lower than the network's 0.99 for merging declaration parties into one entity.
SCREEN_THRESHOLD = 0.5
_PATH_TYPES = (str, os.PathLike)


# ---------------------------------------------------------------- reading FtM files


@dataclass(frozen=True)
class LineError:
    """One invalid line (entity) of a FtM file, shaped like the declaration ingest's row errors."""

    file: str
    line: int
    field: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "value": self.value, "reason": self.reason}

    def __str__(self) -> str:
        what = f", field {self.field}" if self.field else ""
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{self.file}, line {self.line}{what}{value}: {self.reason}"


@dataclass
class EntryRecord:
    """A matchable entity read from a FtM file: the fields a `WatchListEntry` stores."""

    id: str
    schema: str
    caption: str
    names: list[str]
    countries: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    identifiers: dict[str, list[str]] = field(default_factory=dict)  # eori, iban, bic, registration
    birth_dates: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class FtmFile:
    """What `read_ftm` found: the entries, the invalid lines and the entities skipped as not matchable.

    Unpacks as `(entries, errors)`."""

    entries: list[EntryRecord]
    errors: list[LineError]
    skipped: int = 0
    skipped_by_schema: dict[str, int] = field(default_factory=dict)
    error_count: int = 0  # all invalid lines; `errors` holds the first `MAX_ERRORS`

    def __iter__(self) -> Iterator[Any]:
        return iter((self.entries, self.errors))


class _Errors:
    """Collects line errors up to `MAX_ERRORS`, counting all of them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[LineError] = []
        self.count = 0

    def add(self, line: int, reason: str, *, field: str | None = None, value: Any = None) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            shown = None if value is None else _short(value)
            self.items.append(LineError(self.file, line, field, shown, reason))


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_items(raw: bytes, errors: _Errors) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON value) of each entity: JSON lines, or one JSON array (the line an element starts)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.lstrip()[:1] == b"[":
        yield from _array_items(raw, errors)
        return
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add(number, f"not UTF-8 text (byte {exc.start + 1} of the line)")
            continue
        try:
            yield number, json.loads(text)
        except (ValueError, RecursionError) as exc:
            errors.add(number, f"not JSON: {_json_reason(exc)}")


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _array_items(raw: bytes, errors: _Errors) -> Iterator[tuple[int, Any]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.add(raw[: exc.start].count(b"\n") + 1, "not UTF-8 text")
        return
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)

    def skip(at: int) -> int:
        nonlocal line
        end = at
        while end < len(text) and text[end] in " \t\r\n":
            end += 1
        line += text.count("\n", at, end)
        return end

    expect_item = True
    while True:
        pos = skip(pos)
        if pos >= len(text):
            errors.add(line, "not JSON: the array is not closed with ]")
            return
        if text[pos] == "]":
            if skip(pos + 1) < len(text):
                errors.add(line, "not JSON: text after the closing ] of the array")
            return
        if not expect_item:
            if text[pos] != ",":
                errors.add(line, f"not JSON: expected , or ] between entities, found {text[pos]!r}")
                return
            pos, expect_item = pos + 1, True
            continue
        try:
            value, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            errors.add(line, f"not JSON: {_json_reason(exc)}")
            return
        yield line, value
        line += text.count("\n", pos, end)
        pos, expect_item = end, False


def _entities(value: Any, line: int, errors: _Errors, depth: int = 0) -> Iterator[tuple[int, EntityProxy]]:
    """The FtM entity (and the entities inlined in it) of one JSON value, validated by `followthemoney`."""
    if not isinstance(value, dict):
        errors.add(line, "not a FollowTheMoney entity (a JSON object with id, schema and properties)")
        return
    schema_name = value.get("schema")
    if not isinstance(schema_name, str) or not schema_name:
        errors.add(line, "no schema", field="schema")
        return
    schema = ftm.get(schema_name)
    if schema is None:
        errors.add(line, "unknown FollowTheMoney schema", field="schema", value=schema_name)
        return
    entity_id = value.get("id")
    if isinstance(entity_id, int) and not isinstance(entity_id, bool):
        entity_id = str(entity_id)
    if not isinstance(entity_id, str) or not entity_id.strip():
        errors.add(line, "no id", field="id")
        return
    if len(entity_id) > 200:
        errors.add(line, "id longer than 200 characters", field="id", value=entity_id)
        return
    raw_props = value.get("properties", {})
    if not isinstance(raw_props, dict):
        errors.add(line, "properties is not a JSON object", field="properties")
        return
    props: dict[str, list[Any]] = {}
    nested: list[dict[str, Any]] = []
    for name, values in raw_props.items():
        if name not in schema.properties:
            continue  # FtM ignores properties its schema does not have; so do we (lists gain properties over time)
        kept: list[Any] = []
        for item in values if isinstance(values, list) else [values]:
            if item is None:
                continue
            if isinstance(item, dict):  # OpenSanctions' nested layout: the referenced entity inlined
                nested.append(item)
                if isinstance(item.get("id"), str):
                    kept.append(item["id"])
            elif isinstance(item, str | int | float) and not isinstance(item, bool):
                kept.append(item)
            else:
                errors.add(line, "a property value is neither text nor a number", field=name, value=item)
                return
        if kept:
            props[name] = kept
    # countries first: FtM reads a phone number written without its country code in the entity's country
    order = sorted(props, key=lambda p: schema.properties[p].type.name != "country")
    try:
        proxy = ftm.get_proxy(
            {"id": entity_id, "schema": schema.name, "properties": {p: props[p] for p in order}}, cleaned=False
        )
    except (FollowTheMoneyException, ValueError, TypeError) as exc:
        errors.add(line, f"not a valid {schema.name}: {exc}")
        return
    if not proxy.id:
        errors.add(line, "no usable id", field="id", value=entity_id)
        return
    yield line, proxy
    for inner in nested:
        if depth >= MAX_NESTING:
            errors.add(line, f"entities inlined more than {MAX_NESTING} levels deep")
            return
        yield from _entities(inner, line, errors, depth + 1)


def read_ftm(data: bytes | str | os.PathLike[str], *, file: str | None = None) -> FtmFile:
    """Read a FtM entity file (JSON lines, or one JSON array; OpenSanctions' flat or nested layout): its matchable
    entities as `EntryRecord`s, its invalid lines as `LineError`s naming the line, and a count of the entities that
    are valid but not legal entities (skipped). `data` is the file's bytes or its path (a `str` is a path).
    Fragments of one entity (the same id on several lines) are merged as FtM merges them. Never raises on content."""
    if isinstance(data, _PATH_TYPES):
        path = Path(data)
        raw, file = path.read_bytes(), file or path.name
    else:
        raw = bytes(data)
    errors = _Errors(file or "watch list")
    proxies: dict[str, EntityProxy] = {}
    first_line: dict[str, int] = {}
    for line, value in _json_items(raw, errors):
        for at, proxy in _entities(value, line, errors):
            earlier = proxies.get(proxy.id)
            if earlier is None:
                proxies[proxy.id], first_line[proxy.id] = proxy, at
                continue
            try:
                earlier.merge(proxy)
            except FollowTheMoneyException:
                errors.add(
                    at,
                    f"entity {proxy.id} was given on line {first_line[proxy.id]} as a {earlier.schema.name}, "
                    f"which a {proxy.schema.name} cannot merge with",
                    field="schema",
                    value=proxy.schema.name,
                )
    addresses = {i: p for i, p in proxies.items() if p.schema.is_a("Address")}
    accounts = {i: p for i, p in proxies.items() if p.schema.is_a("BankAccount")}
    owned: dict[str, list[str]] = {}
    for proxy in proxies.values():
        if proxy.schema.is_a("Ownership"):
            for owner in proxy.get("owner", quiet=True):
                owned.setdefault(owner, []).extend(proxy.get("asset", quiet=True))
    entries: list[EntryRecord] = []
    skipped: Counter[str] = Counter()
    for entity_id, proxy in proxies.items():
        if not proxy.schema.is_a("LegalEntity"):
            skipped[proxy.schema.name] += 1
            continue
        held = [accounts[a] for a in owned.get(entity_id, ()) if a in accounts]
        entry = _entry(proxy, first_line[entity_id], addresses, held)
        if entry is None:
            errors.add(first_line[entity_id], f"a {proxy.schema.name} without a name", field="name")
            continue
        entries.append(entry)
    return FtmFile(
        entries=entries,
        errors=errors.items,
        skipped=sum(skipped.values()),
        skipped_by_schema=dict(sorted(skipped.items())),
        error_count=errors.count,
    )


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _entry(
    proxy: EntityProxy, line: int, addresses: dict[str, EntityProxy], accounts: list[EntityProxy]
) -> EntryRecord | None:
    names = _unique([n for prop in NAME_PROPS for n in proxy.get(prop, quiet=True)])
    if not names:  # a person given only by parts of the name
        parts = [proxy.first(p, quiet=True) for p in ("firstName", "secondName", "middleName", "lastName")]
        names = _unique([" ".join(p for p in parts if p)])
    if not names:
        return None
    countries = [c.upper() for prop in COUNTRY_PROPS for c in proxy.get(prop, quiet=True)]
    texts = list(proxy.get("address", quiet=True))
    for ref in proxy.get("addressEntity", quiet=True):
        address = addresses.get(ref)
        if address is not None:
            texts.append(_address_text(address))
            countries.extend(c.upper() for c in address.get("country", quiet=True))
    countries = _unique(countries)
    return EntryRecord(
        id=str(proxy.id),
        schema=proxy.schema.name,
        caption=(proxy.caption if proxy.get("name") else names[0])[:300],
        names=names,
        countries=countries,
        phones=_unique(proxy.get("phone", quiet=True)),
        emails=_unique(proxy.get("email", quiet=True)),
        addresses=_unique(texts),
        identifiers=_identifiers(proxy, countries, accounts),
        birth_dates=_unique(proxy.get("birthDate", quiet=True)),
        topics=_unique(proxy.get("topics", quiet=True)),
        line=line,
    )


def _address_text(address: EntityProxy) -> str:
    """An Address entity as "street, postcode city" (the layout `_split_address` reads back), else its full text."""
    street = " ".join(p for p in (address.first("street"), address.first("street2")) if p)
    place = " ".join(p for p in (address.first("postalCode"), address.first("city")) if p)
    if street or place:
        return ", ".join(p for p in (street, place) if p)
    return address.first("full") or address.caption or ""


_EORI_SHAPE = re.compile(r"[A-Z]{2}(?=[A-Z0-9]*\d)[A-Z0-9]{1,15}")


def _identifiers(proxy: EntityProxy, countries: list[str], accounts: list[EntityProxy]) -> dict[str, list[str]]:
    """eori / iban / bic (validated as the party matcher validates them) and registration (as written).

    FtM has no EORI property: a registration, tax or VAT number of the EORI shape (an ISO country prefix, one of the
    entity's countries when it has any, and a digit) counts as one, which is how EU numbers are built (ES + NIF)."""
    out: dict[str, list[str]] = {"eori": [], "iban": [], "bic": [], "registration": []}
    for prop in REGISTRATION_PROPS:
        for value in proxy.get(prop, quiet=True):
            out["registration"].append(value)
            iban = valid_iban(value)
            if iban:
                out["iban"].append(iban)
                continue
            eori = valid_eori(value)
            if eori and _EORI_SHAPE.fullmatch(eori) and _is_country(eori[:2], countries):
                out["eori"].append(eori)
    for value in proxy.get("iban", quiet=True):
        if valid_iban(value):
            out["iban"].append(str(valid_iban(value)))
    for value in proxy.get("swiftBic", quiet=True):
        if valid_bic(value):
            out["bic"].append(str(valid_bic(value)))
    for account in accounts:
        out["iban"].extend(v for v in map(valid_iban, account.get("iban", quiet=True)) if v)
        out["bic"].extend(v for v in map(valid_bic, account.get("bic", quiet=True)) if v)
    return {key: _unique(values) for key, values in out.items() if values}


def _is_country(code: str, countries: list[str]) -> bool:
    if countries:
        return code in countries or (code == "EL" and "GR" in countries) or (code == "XI" and "GB" in countries)
    return pycountry.countries.get(alpha_2=code) is not None


# ---------------------------------------------------------------- entries as party records


class _EntryLike(Protocol):
    id: str
    names: list[str]
    countries: list[str]
    phones: list[str]
    emails: list[str]
    addresses: list[str]
    identifiers: dict[str, list[str]]


# postcodes are Dutch ("1077 ZX"), start with a digit ("28014", "1000-001") or are British ("SW1A 1AA")
_POSTCODE = r"(?:\d{4} [A-Z]{2}|\d[0-9A-Z\-]{2,9}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"
_POSTCODE_CITY = re.compile(rf"(?P<postcode>{_POSTCODE})\s+(?P<city>\D.*)")
_CITY_POSTCODE = re.compile(rf"(?P<city>\D+?)\s+(?P<postcode>{_POSTCODE})")


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        return None


@lru_cache(maxsize=65536)
def _split_address(text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(street, postcode, city, country code) of an address written "street, postcode city[, country]" or "street,
    city postcode", the way lists and PortGuard's Address layout write them; what does not fit stays the street."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None, None, None, None
    country = _country_code(parts[-1]) if len(parts) > 1 else None
    if country:
        parts = parts[:-1]
    for i in range(len(parts) - 1, 0, -1):
        found = _POSTCODE_CITY.fullmatch(parts[i].upper())
        if found is None and i == len(parts) - 1:  # "Dhaka 1131": the city first, in the last part only
            found = _CITY_POSTCODE.fullmatch(parts[i].upper())
        if found:
            city = parts[i][found.start("city") : found.end("city")]
            postcode = parts[i][found.start("postcode") : found.end("postcode")]
            return ", ".join(parts[:i]), postcode, city, country
    if len(parts) > 1:
        return ", ".join(parts[:-1]), None, parts[-1], country
    return parts[0], None, None, country


def entry_records(entries: Sequence[_EntryLike]) -> pd.DataFrame:
    """Watch-list entries (stored `WatchListEntry` rows or `EntryRecord`s) as party records for the matcher.

    One record per name, each with the entry's first address, and one more per further address with the entry's
    first name (not the cross product: a list with 40 aliases and 5 addresses would make 200 records of one
    person, and an alias seen at a second address is rare). Names that fold to the same words are one name; at most
    `MAX_NAMES` names and `MAX_ADDRESSES` addresses. Every record carries the entry's first phone, e-mail, EORI, IBAN
    and BIC, and the address's country or else the entry's first; the other phones, e-mails and identifiers still
    count through `screen`'s exact hits. Record ids are "<entry id>|<n>"."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        names: dict[tuple[str, ...], str] = {}
        for name in entry.names:
            key = name_tokens(name)
            if key and key not in names:
                names[key] = name
        if not names:
            continue
        chosen = list(names.values())[:MAX_NAMES]
        places = [_split_address(a) for a in entry.addresses[:MAX_ADDRESSES]] or [(None, None, None, None)]
        ids = entry.identifiers or {}
        base = {
            "phone": next(iter(entry.phones), None),
            "email": next(iter(entry.emails), None),
            "eori": next(iter(ids.get("eori", ())), None),
            "iban": next(iter(ids.get("iban", ())), None),
            "bic": next(iter(ids.get("bic", ())), None),
        }
        country = next(iter(entry.countries), None)
        combos = [(name, places[0]) for name in chosen] + [(chosen[0], place) for place in places[1:]]
        for n, (name, (street, postcode, city, place_country)) in enumerate(combos):
            rows.append(
                {
                    "record_id": f"{entry.id}|{n}",
                    "name": name,
                    "street": street,
                    "postcode": postcode,
                    "city": city,
                    "country": place_country or country,
                    **base,
                }
            )
    columns = ["record_id", "name", "street", "postcode", "city", "country", "phone", "email", "eori", "iban", "bic"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- service: watch lists as protected records


def import_watchlist(
    session: Session,
    *,
    actor: Principal,
    data: bytes,
    name: str,
    source: str = "",
    handling: Handling = Handling.AMBER,
    sharing_group_id: str | None = None,
    legal_regime: LegalRegime = LegalRegime.GDPR,
) -> WatchList:
    """Import a FtM entity file as a watch list of the actor's organisation: every entity or none, once per content."""
    require_permission(actor, "watchlist:write")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("a watch list needs a name of 1-200 characters", field="name")
    source = (source or "").strip()
    if len(source) > 300:
        raise InvalidInput("the source is longer than 300 characters", field="source")
    handling, legal_regime = Handling(handling), LegalRegime(legal_regime)
    if handling == Handling.RED:
        raise InvalidInput(
            "a watch list cannot be RED (it is screened for the whole organisation); "
            "AMBER+STRICT keeps it inside the owner organisation",
            field="handling",
        )
    if legal_regime == LegalRegime.LED and actor.private_sector:
        raise Forbidden("private-sector organisations cannot create LED records")
    if sharing_group_id is not None and sharing_group_id not in actor.group_ids:
        raise InvalidInput(
            f"your organisation is not a member of sharing group {sharing_group_id}", field="sharing_group_id"
        )
    sha = hashlib.sha256(data).hexdigest()
    earlier = session.scalar(
        select(WatchList).where(WatchList.owner_org_id == actor.org_id, WatchList.file_sha256 == sha).limit(1)
    )
    if earlier is not None:
        return earlier
    parsed = read_ftm(data, file=name)
    if parsed.error_count:
        raise InvalidInput(
            f"{parsed.error_count} invalid line(s) in the file, nothing was imported; first: {parsed.errors[0]}",
            errors=[e.as_dict() for e in parsed.errors],
        )
    if not parsed.entries:
        raise InvalidInput("the file holds no person, company or organisation to screen against")
    watchlist = WatchList(
        id=new_id("wl"),
        name=name,
        source=source,
        file_sha256=sha,
        entries=len(parsed.entries),
        skipped=parsed.skipped,
        created_by=actor.user_id,
        created_at=utcnow(),
        owner_org_id=actor.org_id,
        handling=handling.value,
        legal_regime=legal_regime.value,
        sharing_group_id=sharing_group_id,
    )
    with session.begin_nested():  # all entries or none
        session.add(watchlist)
        session.flush()
        e = parsed.entries
        bulk.insert_columns(
            session,
            WatchListEntry.__table__,
            {
                "watchlist_id": [watchlist.id] * len(e),
                "id": [x.id for x in e],
                "schema": [x.schema for x in e],
                "caption": [x.caption for x in e],
                "names": [x.names for x in e],
                "countries": [x.countries for x in e],
                "phones": [x.phones for x in e],
                "emails": [x.emails for x in e],
                "addresses": [x.addresses for x in e],
                "identifiers": [x.identifiers for x in e],
                "birth_dates": [x.birth_dates for x in e],
                "topics": [x.topics for x in e],
            },
        )
        audit.append(
            session,
            actor=actor,
            action=AuditAction.COLLECT,
            object_type="watchlist",
            object_id=watchlist.id,
            legal_regime=legal_regime.value,
            detail={
                "name": name,
                "source": source,
                "sha256": sha,
                "entries": len(e),
                "skipped": parsed.skipped,
                "handling": handling.value,
            },
        )
    return watchlist


def list_watchlists(session: Session, *, actor: Principal, justification: str | None = None) -> list[WatchList]:
    """The watch lists the actor may read, by name (LED lists only with a justification); audited as a consult."""
    require_permission(actor, "watchlist:read")
    query = (
        select(WatchList)
        .where(visible_filter(actor, WatchList, justification=justification))
        .order_by(WatchList.name, WatchList.created_at.desc(), WatchList.id)
    )
    items = list(session.scalars(query).all())
    audit.consult_list(session, actor=actor, object_type="watchlist", records=items, justification=justification)
    return items


def get_watchlist(
    session: Session, *, actor: Principal, watchlist_id: str, justification: str | None = None
) -> WatchList:
    """One watch list if the policy allows; audited as a consult."""
    require_permission(actor, "watchlist:read")
    watchlist = session.get(WatchList, watchlist_id)
    if watchlist is None:
        raise NotFound(f"no watchlist {watchlist_id}")
    audit.consult_one(session, actor=actor, record=watchlist, object_type="watchlist", justification=justification)
    return watchlist


def list_entries(
    session: Session,
    *,
    actor: Principal,
    watchlist_id: str,
    q: str | None = None,
    justification: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WatchListEntry], int]:
    """One page of a watch list's entries by caption, or of those whose id is `q` or whose names contain it folded."""
    # folded: case, accents and script do not matter ("kessler" finds "Кесслер")
    watchlist = get_watchlist(session, actor=actor, watchlist_id=watchlist_id, justification=justification)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    in_list = WatchListEntry.watchlist_id == watchlist.id
    order = (WatchListEntry.caption, WatchListEntry.id)
    text = (q or "").strip()
    if not text:
        return paginate(session, select(WatchListEntry).where(in_list).order_by(*order), limit=limit, offset=offset)
    # folded in Python: SQLite's lower() knows ASCII only and neither back-end transliterates; the list itself was
    # checked by the policy above, this only narrows what the reader may already see
    needle = fold(text)
    rows = session.execute(
        select(WatchListEntry.id, WatchListEntry.caption, WatchListEntry.names).where(in_list).order_by(*order)
    ).all()
    ids = [
        r.id for r in rows if r.id == text or (needle and any(needle in fold(n) for n in [r.caption, *(r.names or [])]))
    ]
    page = ids[offset : offset + limit]
    found = {e.id: e for e in session.scalars(select(WatchListEntry).where(in_list, WatchListEntry.id.in_(page)))}
    return [found[i] for i in page], len(ids)


def delete_watchlist(
    session: Session, *, actor: Principal, watchlist_id: str, justification: str | None = None
) -> None:
    """Erase a watch list and its entries (the owner organisation only); audited."""
    require_permission(actor, "watchlist:write")
    watchlist = session.get(WatchList, watchlist_id)
    # whether the actor sees the list decides between "no such list" and "not yours to delete"
    if watchlist is None or not can(actor, Action.READ, watchlist, justification=justification or "delete"):
        raise NotFound(f"no watchlist {watchlist_id}")
    decision = can(actor, Action.DELETE, watchlist, justification=justification)
    if not decision:
        raise Forbidden(f"cannot delete watchlist {watchlist_id}: {decision.reason}")
    entries = watchlist.entries
    session.execute(delete(WatchListEntry).where(WatchListEntry.watchlist_id == watchlist.id))
    session.delete(watchlist)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=AuditAction.ERASE,
        object_type="watchlist",
        object_id=watchlist_id,
        legal_regime=watchlist.legal_regime,
        justification=justification,
        detail={"name": watchlist.name, "entries": entries, "sha256": watchlist.file_sha256},
    )


# ---------------------------------------------------------------- screening


@dataclass(frozen=True)
class ScreenHit:
    """A subject record that matches a watch-list entry, with the probability and the reasons (text, bits)."""

    record_id: str
    watchlist_id: str
    watchlist_name: str
    entry_id: str
    caption: str
    probability: float
    reasons: list[tuple[str, float]]
    matched_name: str | None = None  # the entry's name (or alias) the model compared; None for an identifier hit

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "watchlist_id": self.watchlist_id,
            "watchlist_name": self.watchlist_name,
            "entry_id": self.entry_id,
            "caption": self.caption,
            "probability": self.probability,
            "reasons": [list(r) for r in self.reasons],
            "matched_name": self.matched_name,
        }


# exact keys: prepared column -> the comparison and words of the party profile that name it
_EXACT = {"iban": ("iban", "IBAN"), "eori": ("eori", "EORI"), "phone": ("phone", "phone"), "email": ("email", "e-mail")}


def _exact_keys(entries: Sequence[tuple[int, WatchListEntry]]) -> dict[tuple[str, str], set[tuple[int, str]]]:
    """(kind, normalised value) -> the (list index, entry id) carrying it, with every phone, e-mail, IBAN and EORI
    of each entry, normalised by `prepare_parties` exactly as the subjects are."""
    rows: list[dict[str, Any]] = []
    for index, entry in entries:
        country = next(iter(entry.countries), None)
        ids = entry.identifiers or {}
        values = {
            "phone": entry.phones,
            "email": entry.emails,
            "iban": ids.get("iban", []),
            "eori": ids.get("eori", []),
        }
        for kind, items in values.items():
            for value in items:
                rows.append({"record_id": f"{index}/{entry.id}", "country": country, kind: value, "_kind": kind})
    keys: dict[tuple[str, str], set[tuple[int, str]]] = {}
    if not rows:
        return keys
    frame = pd.DataFrame(rows)
    ready = prepare_parties(frame)
    for i, (rid, kind) in enumerate(zip(frame["record_id"], frame["_kind"], strict=True)):
        value = ready[kind].iloc[i]
        if isinstance(value, str) and value:
            index, entry_id = rid.split("/", 1)
            keys.setdefault((kind, value), set()).add((int(index), entry_id))
    return keys


def _level_bits(settings: dict[str, Any], column: str, label: str) -> float:
    """The match weight (bits) of one level of a model, or of the fixed model when the given one lacks it."""
    for comparison in settings.get("comparisons", []):
        if comparison.get("output_column_name") != column:
            continue
        for level in comparison.get("comparison_levels", []):
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("label_for_charts") == label and m and u:
                return round(math.log2(m / u), 2)
    m, u = FIXED_MODELS[PARTY.name][1][column][label]
    return round(math.log2(m / u), 2)


def screen(
    session: Session,
    *,
    actor: Principal,
    subjects: pd.DataFrame,
    model: dict[str, Any] | None,
    justification: str,
    threshold: float | None = None,
) -> list[ScreenHit]:
    """Match subjects (party records) against every entry of every watch list the actor may read; audited."""
    require_permission(actor, "watchlist:read")
    if not (justification or "").strip():
        raise InvalidInput("screening against watch lists needs a justification", field="justification")
    if "record_id" not in subjects.columns:
        raise InvalidInput("the subjects have no record_id column", field="subjects")
    if subjects["record_id"].astype(str).duplicated().any():
        raise InvalidInput("a record_id repeats among the subjects", field="subjects")
    threshold = SCREEN_THRESHOLD if threshold is None else threshold
    lists = list(
        session.scalars(
            select(WatchList)
            .where(visible_filter(actor, WatchList, justification=justification))
            .order_by(WatchList.id)
        ).all()
    )
    hits = _screen(session, lists=lists, subjects=subjects, model=model, threshold=threshold) if lists else []
    if lists and len(subjects):
        led = any(w.legal_regime == LegalRegime.LED for w in lists)
        audit.append(
            session,
            actor=actor,
            action=AuditAction.COMBINE,
            object_type="watchlist",
            legal_regime=LegalRegime.LED if led else LegalRegime.GDPR,
            justification=justification,
            detail={"ids": [w.id for w in lists], "subjects": len(subjects), "hits": len(hits)},
        )
    return hits


def _screen(
    session: Session,
    *,
    lists: list[WatchList],
    subjects: pd.DataFrame,
    model: dict[str, Any] | None,
    threshold: float,
) -> list[ScreenHit]:
    if subjects.empty:
        return []
    subjects = subjects.assign(record_id=subjects["record_id"].astype(str))
    index_of = {w.id: i for i, w in enumerate(lists)}
    rows = session.scalars(select(WatchListEntry).where(WatchListEntry.watchlist_id.in_(list(index_of)))).all()
    entries = [(index_of[e.watchlist_id], e) for e in rows]
    by_key = {(i, e.id): e for i, e in entries}
    frames = []
    for i, _watchlist in enumerate(lists):
        frame = entry_records([e for j, e in entries if j == i])
        frame["record_id"] = f"{i}/" + frame["record_id"]
        frames.append(frame)
    right = pd.concat(frames, ignore_index=True)
    links = link_sets(left=subjects, right=right, model=model, threshold=threshold)
    name_of = dict(zip(right["record_id"], right["name"], strict=True))
    best: dict[tuple[str, int, str], tuple[float, list[tuple[str, float]], str | None]] = {}
    for left_id, right_id, p, reasons in zip(
        links["left_id"], links["right_id"], links["match_probability"], links["reasons"], strict=True
    ):
        index, rest = right_id.split("/", 1)
        key = (left_id, int(index), rest.rsplit("|", 1)[0])
        if key not in best or p > best[key][0]:
            best[key] = (float(p), list(reasons), name_of.get(right_id))
    # exact hits: the same valid IBAN, EORI, phone or e-mail, whatever the names say
    settings = links.attrs.get("model") or {}
    keys = _exact_keys(entries)
    ready = prepare_parties(subjects)
    exact: dict[tuple[str, int, str], list[tuple[str, float]]] = {}
    for kind, (column, words) in _EXACT.items():
        for record_id, value in zip(subjects["record_id"], ready[kind], strict=True):
            if not isinstance(value, str) or (kind, value) not in keys:
                continue
            for index, entry_id in keys[(kind, value)]:
                exact.setdefault((record_id, index, entry_id), []).append(
                    (f"same {words}", _level_bits(settings, column, f"same {words}"))
                )
    out: list[ScreenHit] = []
    for key in set(best) | set(exact):
        record_id, index, entry_id = key
        probability, reasons, matched = best.get(key, (0.0, [], None))
        if key in exact:
            shown = exact[key]
            covered = {w for _c, w in _EXACT.values() if any(t == f"same {w}" for t, _b in shown)}
            reasons = shown + [r for r in reasons if not any(r[0].endswith(f" {w}") for w in covered)]
            probability = 1.0
        entry = by_key[(index, entry_id)]
        watchlist = lists[index]
        out.append(
            ScreenHit(
                record_id=record_id,
                watchlist_id=watchlist.id,
                watchlist_name=watchlist.name,
                entry_id=entry_id,
                caption=entry.caption,
                probability=round(probability, 6),
                reasons=reasons,
                matched_name=matched,
            )
        )
    out.sort(key=lambda h: (-h.probability, h.record_id, h.watchlist_name, h.entry_id))
    return out
