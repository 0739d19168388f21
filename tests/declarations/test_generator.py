"""The synthetic declaration generator: valid records, determinism, identifiers with their check digits, realism.

A few thousand records must all validate as `DeclarationIn`; the same seed gives the same records (whatever the
hash seed of the process) and `generate(n)` is a prefix of `generate(n + k)`; references are unique; containers,
IBANs, IMO numbers and MRN-like references carry valid check digits; one company shows up under several spellings,
distinct front companies share an address or a phone (and nothing else does, except business centres); commodities
come from their real origins with plausible masses and values; `write_jsonl` reads back through `read_ics2`.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import iso6346

from portguard.declarations import generator
from portguard.declarations.generator import (
    COMMODITIES,
    EU,
    EU_COUNTRIES,
    companies,
    generate,
    generate_labelled,
    imo_check,
    iso6346_check,
    make_iban,
    write_jsonl,
)
from portguard.declarations.models import DeclarationIn
from portguard.declarations.readers import read_ics2

N = 3000
SEED = 11
PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FRUIT = {"080390", "080430", "080440"}
ORIGINS_BY_HS: dict[str, set[str]] = collections.defaultdict(set)
for _commodity in COMMODITIES:
    ORIGINS_BY_HS[_commodity.hs6].update(country for country, _weight in _commodity.origins)
PRICE_BY_HS: dict[str, tuple[float, float]] = {}
for _commodity in COMMODITIES:
    low, high = PRICE_BY_HS.get(_commodity.hs6, (float("inf"), 0.0))
    PRICE_BY_HS[_commodity.hs6] = (min(low, _commodity.price[0]), max(high, _commodity.price[1]))
PRECURSOR_HS = {c.hs6 for c in COMMODITIES if c.precursor} - {c.hs6 for c in COMMODITIES if not c.precursor}


@pytest.fixture(scope="module")
def labelled() -> list[tuple[dict[str, Any], list[str]]]:
    return list(generate_labelled(N, seed=SEED))


@pytest.fixture(scope="module")
def sample(labelled: list[tuple[dict[str, Any], list[str]]]) -> list[dict[str, Any]]:
    return [declaration for declaration, _truth in labelled]


@pytest.fixture(scope="module")
def pool() -> dict[str, generator.Company]:
    return {company.id: company for company in companies(SEED)}


def _parties(sample: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [party for declaration in sample for party in declaration["parties"]]


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone.replace("(0)", ""))
    return digits.removeprefix("00")


# ---------------------------------------------------------------- the schema


def test_every_record_validates_and_is_plain_json(sample: list[dict[str, Any]]) -> None:
    assert len(sample) == N
    for declaration in sample:
        DeclarationIn.model_validate(declaration)
        assert json.loads(json.dumps(declaration)) == declaration


@PROPERTY
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    n=st.integers(min_value=0, max_value=40),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2097, 12, 31)),  # + 800 days < 2100
    days=st.integers(min_value=1, max_value=800),
)
def test_any_seed_and_period_gives_valid_records_in_the_period(seed: int, n: int, start: date, days: int) -> None:
    records = list(generate(n, seed=seed, start=start, days=days))
    assert len(records) == n
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    for declaration in records:
        parsed = DeclarationIn.model_validate(declaration)
        assert declaration["lodged_at"].endswith("Z")
        assert begin <= parsed.lodged_at < begin + timedelta(days=days)


def test_arguments_are_checked() -> None:
    assert list(generate(0)) == []
    with pytest.raises(ValueError, match="negative"):
        list(generate(-1))
    with pytest.raises(ValueError, match="days"):
        list(generate(1, days=0))


# ---------------------------------------------------------------- determinism


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=2**32), n=st.integers(min_value=0, max_value=30), k=st.integers(0, 10))
def test_same_seed_same_records_and_prefix_stable(seed: int, n: int, k: int) -> None:
    first = list(generate(n, seed=seed))
    assert first == list(generate(n, seed=seed))
    assert list(generate(n + k, seed=seed))[:n] == first


@PROPERTY
@given(seeds=st.lists(st.integers(min_value=0, max_value=2**32), min_size=2, max_size=2, unique=True))
def test_different_seeds_different_records(seeds: list[int]) -> None:
    a, b = (list(generate(5, seed=seed)) for seed in seeds)
    assert a != b
    assert [c.name for c in companies(seeds[0])] != [c.name for c in companies(seeds[1])]


def test_no_global_state_touched() -> None:
    random.seed(1234)
    before = random.getstate()
    list(generate(200, seed=3))
    assert random.getstate() == before


def test_output_does_not_depend_on_the_hash_seed() -> None:
    """Nothing iterates a set or a str-keyed hash order into the stream: other processes give the same records."""
    code = (
        "import hashlib, json; from portguard.declarations.generator import generate; "
        "print(hashlib.sha256(json.dumps(list(generate(300, seed=5))).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        digests.add(run.stdout.strip())
    assert digests == {hashlib.sha256(json.dumps(list(generate(300, seed=5))).encode()).hexdigest()}


def test_pool_is_the_one_behind_the_declarations(labelled: list[tuple[dict[str, Any], list[str]]], pool) -> None:
    for declaration, truth in labelled[:500]:
        assert len(truth) == len(declaration["parties"])
        for party, company_id in zip(declaration["parties"], truth, strict=True):
            company = pool[company_id]
            assert party["address"]["country"] == company.country
            assert party.get("eori") in (None, company.eori)


# ---------------------------------------------------------------- identifiers and check digits


def test_refs_unique_and_mrn_like() -> None:
    records = list(generate(20_000, seed=SEED))
    refs = [d["ref"] for d in records]
    assert len(set(refs)) == len(refs)
    for declaration in records[:2000]:
        ref = declaration["ref"]
        assert re.fullmatch(r"[0-9]{2}[A-Z]{2}[0-9A-Z]{12}A[0-9]", ref), ref
        assert ref[17] == iso6346_check(ref[:17])
        assert ref[2:4] == declaration["office"][:2]
        assert ref[:2] == declaration["lodged_at"][2:4]


def test_containers_valid_and_declared(sample: list[dict[str, Any]]) -> None:
    for declaration in sample:
        numbers = [c["number"] for c in declaration["containers"]]
        assert numbers and len(set(numbers)) == len(numbers)
        for container in declaration["containers"]:
            assert iso6346.is_valid(container["number"]), container["number"]
            assert container["number"][3] == "U"
            assert 1 <= len(container["seals"]) <= 3
        for item in declaration["goods"]:
            assert item["containers"] and set(item["containers"]) <= set(numbers)
            if item["hs_code"][:6] in FRUIT:
                assert {c["size_type"] for c in declaration["containers"]} == {"45R1"}


@given(owner=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3), serial=st.integers(0, 999_999))
def test_iso6346_check_digit_agrees_with_stdnum(owner: str, serial: int) -> None:
    code = f"{owner}U{serial:06d}"
    assert iso6346_check(code) == iso6346.calc_check_digit(code)


def test_ibans_valid(sample: list[dict[str, Any]]) -> None:
    ibans = [party["iban"] for party in _parties(sample) if "iban" in party]
    assert len(ibans) > N // 2
    assert any(" " in i for i in ibans) and any(" " not in i for i in ibans)
    for number in ibans:
        assert stdnum_iban.is_valid(number), number
    countries = {i[:2] for i in ibans}
    assert {"NL", "BE", "DE"} <= countries <= EU


@given(seed=st.integers(min_value=0, max_value=2**32), country=st.sampled_from(EU_COUNTRIES))
def test_make_iban_valid_with_national_check_digits(seed: int, country: str) -> None:
    number = make_iban(random.Random(seed).random, country)
    assert number.startswith(country)
    assert stdnum_iban.is_valid(number), number  # for BE and ES this includes stdnum's national checks


def test_imo_check_digit() -> None:
    assert imo_check("907472") == "9"  # IMO 9074729, the example of the IMO numbering scheme


def test_eori_per_country(sample: list[dict[str, Any]]) -> None:
    for party in _parties(sample):
        if "eori" in party and party["role"] != "declarant" and party["role"] != "carrier":
            assert party["eori"][:2] == party["address"]["country"]
            assert party["address"]["country"] in EU


# ---------------------------------------------------------------- realism for entity resolution


def test_same_company_under_different_spellings(labelled: list[tuple[dict[str, Any], list[str]]], pool) -> None:
    spellings: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for declaration, truth in labelled:
        for party, company_id in zip(declaration["parties"], truth, strict=True):
            spellings[company_id][party["name"]] += 1
    varied = [c for c in spellings.values() if len(c) > 1]
    assert len(varied) > 0.5 * len(spellings)
    # the canonical name is the usual one, up to case (some forwarders file everything in capitals)
    frequent = {cid: c for cid, c in spellings.items() if sum(c.values()) >= 20}
    canonical = 0
    for cid, counts in frequent.items():
        folded = collections.Counter()
        for name, count in counts.items():
            folded[name.casefold()] += count
        canonical += folded.most_common(1)[0][0] == pool[cid].name.casefold()
    assert frequent and canonical >= 0.95 * len(frequent)
    # what the variants look like: legal-form variants, capitals, abbreviations, accents dropped, typos
    pairs = [(a, b) for c in varied for a in c for b in c if a != b]
    assert any(a.endswith(" B.V.") and b == a[:-5] + " BV" for a, b in pairs)
    assert any(b == a.upper() for a, b in pairs)
    assert any("Intl." in b or "Imp." in b or "Svcs." in b or "Chem." in b for _a, b in pairs)
    assert any(generator.ascii_fold(a) == b for a, b in pairs)
    assert any(_one_edit(a, b) for a, b in pairs if a.lower() != b.lower())


def test_same_company_is_visible_through_its_eori(sample: list[dict[str, Any]]) -> None:
    """Without the truth: one EORI, several names and address spellings, as an ER module will see it."""
    names: dict[str, set[str]] = collections.defaultdict(set)
    streets: dict[str, set[str]] = collections.defaultdict(set)
    for party in _parties(sample):
        if "eori" in party:
            names[party["eori"]].add(party["name"])
            streets[party["eori"]].add(party["address"]["street"])
    assert sum(len(v) > 1 for v in names.values()) > 100
    assert sum(len(v) > 1 for v in streets.values()) > 50


def test_distinct_companies_share_an_address_or_a_phone(labelled: list[tuple[dict[str, Any], list[str]]], pool) -> None:
    by_phone: dict[str, set[str]] = collections.defaultdict(set)
    by_address: dict[tuple[str, str | None, str], set[str]] = collections.defaultdict(set)
    for declaration, truth in labelled:
        for party, company_id in zip(declaration["parties"], truth, strict=True):
            if "phone" in party:
                by_phone[_digits(party["phone"])].add(company_id)
            address = party["address"]
            by_address[(address["street"], address.get("postcode"), address["city"])].add(company_id)
    shared_phones = [ids for ids in by_phone.values() if len(ids) > 1]
    shared_addresses = [ids for ids in by_address.values() if len(ids) > 1]
    assert shared_phones and shared_addresses
    for ids in shared_phones:  # only front companies share a phone, and only within their cluster
        assert len({pool[i].name for i in ids}) == len(ids)
        assert len({pool[i].eori for i in ids}) == len(ids)
        assert len({pool[i].front_cluster for i in ids}) == 1 and None not in {pool[i].front_cluster for i in ids}
    kinds = set()
    for ids in shared_addresses:  # fronts of one cluster, or unrelated companies of a business centre
        clusters = {pool[i].front_cluster for i in ids}
        centres = {pool[i].business_centre for i in ids}
        assert (len(clusters) == 1 and None not in clusters) or centres == {True}
        kinds.add("front" if None not in clusters else "centre")
    assert kinds == {"front", "centre"}


def test_front_clusters_in_the_pool(pool) -> None:
    clusters: dict[str, list[generator.Company]] = collections.defaultdict(list)
    for company in pool.values():
        if company.front_cluster:
            clusters[company.front_cluster].append(company)
    assert len(clusters) >= 10
    for members in clusters.values():
        assert len(members) >= 2
        assert len({m.name for m in members}) == len({m.eori for m in members}) == len(members)
        assert len({m.email for m in members}) == 1
        addresses = {(m.street, m.postcode, m.city) for m in members}
        assert len(addresses) == 1 or len({m.phone for m in members}) == 1
    others = [c for c in pool.values() if not c.front_cluster and not c.business_centre and c.kind != "carrier"]
    assert len({(c.street, c.postcode, c.city) for c in others}) == len(others)
    assert len({c.phone for c in others}) == len(others)


def test_front_companies_favour_precursor_like_chemicals(labelled: list[tuple[dict[str, Any], list[str]]], pool):
    counts = {True: collections.Counter(), False: collections.Counter()}
    for declaration, truth in list(labelled) + list(generate_labelled(20_000, seed=SEED))[N:]:
        front = pool[truth[1]].front_cluster is not None
        for item in declaration["goods"]:
            if item["hs_code"][:4] in ("2914", "2926", "2932"):
                counts[front][item["hs_code"][:6] in PRECURSOR_HS] += 1
    share = {front: c[True] / max(1, c[True] + c[False]) for front, c in counts.items()}
    assert share[True] > 2 * share[False] > 0


# ---------------------------------------------------------------- realism of trade


def test_commodities_come_from_their_origins(sample: list[dict[str, Any]]) -> None:
    seen: collections.Counter[str] = collections.Counter()  # declarations per HS6
    for declaration in sample:
        seen.update({item["hs_code"][:6] for item in declaration["goods"]})
        origin = declaration["country_of_departure"]
        assert declaration["port_of_loading"][:2] == origin
        assert declaration["port_of_discharge"][:2] == declaration["office"][:2]
        assert declaration["route_countries"][0] == origin
        assert declaration["route_countries"][-1] == declaration["port_of_discharge"][:2]
        for item in declaration["goods"]:
            hs6 = item["hs_code"][:6]
            assert item["country_of_origin"] == origin
            assert origin in ORIGINS_BY_HS[hs6], (hs6, origin)
            if hs6 == "080390":
                assert origin in {"EC", "CO", "CR", "PE"}
            if hs6 == "090111":
                assert origin in {"BR", "CO", "CI"}
            if hs6 == "180100":
                assert origin in {"CI", "GH"}
            if hs6[:4] in ("2914", "2926", "2932", "8479", "8413"):
                assert origin in {"CN", "IN"}
    assert {"080390", "080430", "080440", "090111", "180100"} <= set(seen)
    assert seen["080390"] == max(seen.values())  # bananas: the biggest single trade


def test_masses_and_values_plausible(sample: list[dict[str, Any]]) -> None:
    for declaration in sample:
        payload: collections.Counter[str] = collections.Counter()
        for item in declaration["goods"]:
            net, gross = item["net_mass_kg"], item["gross_mass_kg"]
            assert 0 < net <= gross <= 1.25 * net
            for number in item["containers"]:
                payload[number] += gross / len(item["containers"])
            low, high = PRICE_BY_HS[item["hs_code"][:6]]
            per_kg = item["value"] / net / (0.92 if item["currency"] == "EUR" else 1.0)
            assert low - 0.01 <= per_kg <= high + 0.01, item
            if item["hs_code"][:6] == "080390" and len(item["containers"]) == 1 and len(declaration["goods"]) == 1:
                assert 15_000 <= net <= 23_000  # a reefer of bananas: about 1,080 boxes of 18.14 kg
        assert max(payload.values()) <= 30_000  # what a box carries


def test_period_and_calls(sample: list[dict[str, Any]]) -> None:
    days = {d["lodged_at"][:10] for d in sample}
    assert min(days) >= "2025-01-01" and max(days) < "2025-04-01" and len(days) > 80
    calls: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for declaration in sample:
        calls[(declaration["vessel_imo"], declaration["voyage"])].append(declaration["lodged_at"])
    assert max(len(v) for v in calls.values()) > 5  # several declarations per vessel call
    for times in calls.values():
        first, last = (datetime.fromisoformat(t) for t in (min(times), max(times)))
        assert last - first <= timedelta(days=3)


# ---------------------------------------------------------------- files


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32), n=st.integers(min_value=1, max_value=300))
def test_write_jsonl_reads_back_through_read_ics2(tmp_path: Path, seed: int, n: int) -> None:
    path = tmp_path / f"ens-{seed}-{n}.jsonl"
    assert write_jsonl(path, n, seed=seed) == n
    raws = list(read_ics2(path))
    assert [raw.row for raw in raws] == list(range(1, n + 1))
    assert [raw.data for raw in raws] == list(generate(n, seed=seed))
    for raw in raws:
        DeclarationIn.model_validate(raw.data)


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance exactly one, or one transposition."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
