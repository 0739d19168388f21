"""Entity resolution of parties with Splink (DuckDB back-end).

Why it exists: the network around a seizure is only as good as the answer to "is this consignee the same company
as that one?". Declarations write one company many ways and leave identifiers out, while distinct front companies
share an address, a phone, a free-mail box and sometimes a bank account. A probabilistic model (Fellegi-Sunter, as
Splink implements it) weighs each field by how often it agrees among true matches (m) against how often it agrees
by chance (u), so a shared business-centre address counts for little and two different names or two different
EORI numbers count heavily against a match. The weights are learnt from the data itself (no labels needed): u by
random sampling, the prior from near-certain rules, m by expectation maximisation.

The pieces:

* `Profile`: how one kind of record is prepared, compared, blocked and trained. `PARTY` is PortGuard's profile for
  declaration parties (name key and legal form from `portguard.network.names`, phone in E.164, EORI / IBAN / BIC
  validated with python-stdnum so that an invalid identifier is dropped rather than matched).
  `plain_profile` builds the baseline: Splink's stock comparisons with their default thresholds, trained the same
  way, so a benchmark can show what the tuning buys.
* `resolve` trains a model and clusters the records; `Resolution` holds the clusters, the scored pairs and the
  trained model. `explain` turns a pair's per-comparison weights into words a user can read. `link_new` scores new
  records against the trained model without training again.
* `link_sets` scores one set against another (screening parties against watch-list entries): with a run's saved
  model, one trained on both sets, or, for sets too small to train on, the profile's fixed model (`FIXED_MODELS`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
import phonenumbers
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.exceptions import EMTrainingException
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from portguard.network.names import fold, legal_form, name_tokens

__all__ = [
    "FIXED_MODELS",
    "MIN_TRAINING_RECORDS",
    "PARTY",
    "Profile",
    "Resolution",
    "explain",
    "fixed_model",
    "link_new",
    "link_sets",
    "pairwise_scores",
    "party_records",
    "plain_profile",
    "prepare_parties",
    "resolve",
    "valid_bic",
    "valid_eori",
    "valid_iban",
]

ID = "unique_id"  # Splink's default id column; callers pass `record_id`, renamed on the way in
SOURCE = "source_dataset"
LinkType = Literal["dedupe_only", "link_only", "link_and_dedupe"]
logger = logging.getLogger(__name__)
DEFAULT_PRIOR = 1e-4  # Splink's own default probability that two random records match

# Splink logs every step at INFO, and warns at length about each comparison level sparse data leave untrained
# (expected: a level EM does not see keeps its prior m); the caller wants results, errors still show
for _name in ("splink", "splink.internals"):
    logging.getLogger(_name).setLevel(logging.ERROR)


# ---------------------------------------------------------------- identifiers


@lru_cache(maxsize=65536)
def valid_iban(value: str | None) -> str | None:
    """The compact IBAN if its ISO 13616 check digits and national format (stdnum) hold, else None: a mistyped
    account number must not become evidence for or against a match."""
    if not value or not isinstance(value, str):
        return None
    return stdnum_iban.compact(value) if stdnum_iban.is_valid(value) else None


@lru_cache(maxsize=65536)
def valid_bic(value: str | None) -> str | None:
    """The compact BIC (ISO 9362, stdnum), its branch-less 8-character form, or None when invalid."""
    if not value or not isinstance(value, str):
        return None
    return stdnum_bic.compact(value)[:8] if stdnum_bic.is_valid(value) else None


_EORI = re.compile(r"[A-Z]{2}[A-Z0-9]{1,15}")


@lru_cache(maxsize=65536)
def valid_eori(value: str | None) -> str | None:
    """The compact EORI number, or None. EORI has no check digit of its own and python-stdnum (2.2) has no EORI
    module; national parts differ (NL nine digits, DE a customs number, FR a SIRET), so only the format of the
    Union Customs Code (an ISO country code and up to 15 letters or digits) is checked."""
    if not value or not isinstance(value, str):
        return None
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if not _EORI.fullmatch(compact):
        return None
    return compact


@lru_cache(maxsize=65536)
def phone_e164(value: str | None, country: str | None) -> str | None:
    """E.164 ("+31104123456") with `phonenumbers`, which knows each country's trunk prefix and the "(0)" habit;
    None when it cannot be parsed into a possible number."""
    if not value or not isinstance(value, str):
        return None
    try:
        number = phonenumbers.parse(value, country if country and len(country) == 2 else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# street words that writers abbreviate; folded (ASCII, lower case)
_STREET_WORDS = {
    "avda": "avenida",
    "av": "avenida",
    "ave": "avenue",
    "str": "strasse",
    "st": "street",
    "rd": "road",
    "bd": "boulevard",
    "blvd": "boulevard",
    "pl": "place",
    "c": "calle",
    "cl": "calle",
    "ul": "ulica",
    "r": "rue",
    "wg": "weg",
    "ln": "lane",
    "dr": "drive",
    "no": "",
    "nr": "",
}


@lru_cache(maxsize=65536)
def street_key(value: str | None) -> str | None:
    """A street as a comparable key: folded, abbreviations written out, house-number words dropped."""
    if not value or not isinstance(value, str):
        return None
    words = [_STREET_WORDS.get(w, w) for w in fold(value).replace("strasse", " strasse").split()]
    return " ".join(w for w in words if w) or None


def _text(value: Any) -> str | None:
    return fold(value) or None if isinstance(value, str) else None


def prepare_parties(records: pd.DataFrame) -> pd.DataFrame:
    """Party records (columns record_id, name, and any of street, postcode, city, country, phone, email, eori,
    iban, bic) -> the columns PARTY compares. Invalid identifiers become missing values."""
    df = records.reindex(
        columns=["record_id", "name", "street", "postcode", "city", "country", "phone", "email", "eori", "iban", "bic"]
    )
    out = pd.DataFrame({ID: df["record_id"].astype(str)})
    names = df["name"].where(df["name"].notna(), None)
    tokens = [name_tokens(n) if isinstance(n, str) else () for n in names]
    out["name_seq"] = [" ".join(t) or None for t in tokens]
    out["name_key"] = [" ".join(sorted(t)) or None for t in tokens]
    out["name_set"] = [sorted(set(t)) or None for t in tokens]
    # the rarest word of the name in this batch (ties: the first): blocking on the first word put every "KCS
    # importer <id>" of the public customs set (15,000 names) into one block of 10^8 pairs
    # and the second rarest, unless it is common (a typo in the rarest word must not hide a pair)
    counts = Counter(w for t in tokens for w in set(t))
    common = max(50, len(tokens) // 1000)
    ranked = [sorted(dict.fromkeys(t), key=lambda w: (counts[w], t.index(w))) for t in tokens]
    out["name_rare"] = [r[0] if r else None for r in ranked]
    out["name_rare2"] = [r[1] if len(r) > 1 and counts[r[1]] <= common else None for r in ranked]
    out["legal_form"] = [legal_form(n) if isinstance(n, str) else None for n in names]
    country = df["country"].map(lambda c: c.strip().upper() or None if isinstance(c, str) else None)
    out["country"] = country
    out["street"] = df["street"].map(street_key)
    out["postcode"] = df["postcode"].map(
        lambda p: re.sub(r"[^0-9A-Z]", "", p.upper()) or None if isinstance(p, str) else None
    )
    out["city"] = df["city"].map(_text)
    out["phone"] = [phone_e164(p, c) for p, c in zip(df["phone"], country, strict=True)]
    out["email"] = df["email"].map(lambda e: e.strip().lower() or None if isinstance(e, str) else None)
    out["eori"] = df["eori"].map(valid_eori)
    out["iban"] = df["iban"].map(valid_iban)
    out["bic"] = df["bic"].map(valid_bic)
    return out


def party_records(declarations: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One record per party occurrence of ICS2-like declarations (as `portguard.declarations` shapes them), with a
    record_id of the form "<declaration index>:<party index>"."""
    rows = []
    for i, declaration in enumerate(declarations):
        for j, party in enumerate(declaration.get("parties", [])):
            address = party.get("address") or {}
            rows.append(
                {
                    "record_id": f"{i}:{j}",
                    "role": party.get("role"),
                    "name": party.get("name"),
                    "street": address.get("street"),
                    "postcode": address.get("postcode"),
                    "city": address.get("city"),
                    "country": address.get("country"),
                    "phone": party.get("phone"),
                    "email": party.get("email"),
                    "eori": party.get("eori"),
                    "iban": party.get("iban"),
                    "bic": party.get("bic"),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """How one kind of record is prepared, compared, blocked and trained.

    `comparisons` and the rule lists are factories because Splink's creators are mutable and a linker consumes
    them: every run builds fresh ones. `labels` maps a comparison's output column to the words `explain` uses."""

    name: str
    prepare: Callable[[pd.DataFrame], pd.DataFrame]
    comparisons: Callable[[], list[ComparisonCreator]]
    blocking: Callable[[], list[BlockingRuleCreator | str]]
    training: Callable[[], list[BlockingRuleCreator | str]]
    deterministic: Callable[[], list[BlockingRuleCreator | str]]
    recall: float = 0.8
    threshold: float = 0.9
    link_type: LinkType = "dedupe_only"
    one_to_one: bool = False  # link_only between duplicate-free sets: keep each record's single best link
    u_pairs: float = 1e6 + 1  # not Splink's 1e6 default, which logs a warning
    labels: dict[str, str] = field(default_factory=dict)


def _within_edits(column: str, distance: int) -> cll.And:
    """Levenshtein distance at most `distance`, behind the check it implies (lengths differ by at most `distance`):
    the same level, but DuckDB evaluates the second term of an AND only on the rows where the first holds, so the
    edit distance is computed for a few of the random pairs u is estimated on instead of all of them."""
    lengths = cll.CustomLevel(f'abs(length("{column}_l") - length("{column}_r")) <= {distance}')
    return cll.And(lengths, cll.LevenshteinLevel(column, distance))


def _party_comparisons() -> list[ComparisonCreator]:
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="party name without legal form",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_seq").configure(label_for_charts="same name"),
            # distinct companies can share the words in another order ("Bandama Cacao" / "Cacao Bandama"), and the
            # training blocks rarely see a reorder, so EM leaves the level untrained: a prior m of 1e-4 (one pair of
            # records of one company in 10,000 reorders) keeps it weak evidence; EM overrides it when it sees some
            cll.ExactMatchLevel("name_key").configure(
                label_for_charts="same words in another order", m_probability=1e-4
            ),
            # Levenshtein, not Damerau-Levenshtein: DuckDB's damerau_levenshtein is about 4x slower, and a
            # transposition costs 2 here, which the next levels still catch
            _within_edits("name_seq", 1).configure(label_for_charts="name with one typo"),
            cll.ArraySubsetLevel("name_set").configure(label_for_charts="one name contains the other"),
            _within_edits("name_seq", 2).configure(label_for_charts="name with two typos"),
            # no Jaro-Winkler level: "noordzee fresh" / "noordzee fruit" (two fronts) score 0.91, above any
            # threshold that helps typos; a word that differs by three edits or more is a different name
            # names matter: front companies share address, phone, e-mail and bank account, and only the name (and
            # the EORI, when filed) tells them apart. One company's records never carry unrelated names, so the m
            # of this level is fixed near zero instead of learnt (EM would count a front cluster as one company)
            cll.ElseLevel().configure(label_for_charts="different name", m_probability=1e-5, fix_m_probability=True),
        ],
    )
    form = cl.CustomComparison(
        output_column_name="legal_form",
        comparison_levels=[
            cll.NullLevel("legal_form"),
            cll.ExactMatchLevel("legal_form").configure(label_for_charts="same legal form"),
            cll.ElseLevel().configure(label_for_charts="different legal form"),
        ],
    )
    street = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("street"),
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same address"
            ),
            cll.Or(
                cll.ExactMatchLevel("street"),
                # city first: DuckDB evaluates the second term of an AND only where the first holds
                cll.And(cll.ExactMatchLevel("city"), cll.JaroWinklerLevel("street", 0.9)),
            ).configure(label_for_charts="similar address"),
            cll.Or(cll.ExactMatchLevel("postcode"), cll.ExactMatchLevel("city")).configure(
                label_for_charts="same postcode or city"
            ),
            cll.ElseLevel().configure(label_for_charts="different address"),
        ],
    )

    def exact(column: str, what: str) -> ComparisonCreator:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column).configure(label_for_charts=f"same {what}"),
                cll.ElseLevel().configure(label_for_charts=f"different {what}"),
            ],
        )

    return [
        name,
        form,
        street,
        exact("country", "country"),
        exact("phone", "phone"),
        exact("email", "e-mail"),
        exact("eori", "EORI"),
        exact("iban", "IBAN"),
        exact("bic", "BIC"),
    ]


PARTY = Profile(
    name="portguard-party",
    prepare=prepare_parties,
    comparisons=_party_comparisons,
    blocking=lambda: [
        block_on("name_key"),
        block_on("name_rare", "country"),
        block_on("name_rare2", "country"),
        block_on("phone"),
        block_on("eori"),
        block_on("iban"),
        block_on("email"),
        block_on("street", "country"),
    ],
    training=lambda: [block_on("name_key"), block_on("eori")],
    deterministic=lambda: [block_on("eori"), block_on("name_key", "country", "legal_form")],
    recall=0.8,
    threshold=0.99,
)


def plain_profile(
    *,
    name_columns: Sequence[str],
    other_columns: Sequence[str],
    exact_columns: Sequence[str] = (),
    blocking: Callable[[], list[BlockingRuleCreator | str]],
    training: Callable[[], list[BlockingRuleCreator | str]],
    deterministic: Callable[[], list[BlockingRuleCreator | str]],
    recall: float = 0.8,
    threshold: float = 0.9,
    link_type: LinkType = "dedupe_only",
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> Profile:
    """The baseline: `cl.NameComparison` for names, `cl.LevenshteinAtThresholds` (default thresholds) for other
    text, `cl.ExactMatch` for codes; no cleaning beyond what `prepare` does (default: ids renamed, values kept)."""

    def comparisons() -> list[ComparisonCreator]:
        return [
            *(cl.NameComparison(c) for c in name_columns),
            *(cl.LevenshteinAtThresholds(c) for c in other_columns),
            *(cl.ExactMatch(c) for c in exact_columns),
        ]

    def keep(records: pd.DataFrame) -> pd.DataFrame:
        out = records.rename(columns={"record_id": ID})
        out[ID] = out[ID].astype(str)
        return out

    return Profile(
        name="plain",
        prepare=prepare or keep,
        comparisons=comparisons,
        blocking=blocking,
        training=training,
        deterministic=deterministic,
        recall=recall,
        threshold=threshold,
        link_type=link_type,
    )


# ---------------------------------------------------------------- resolution


@dataclass
class Resolution:
    """The outcome of `resolve`: `clusters` (record_id -> entity_id), the scored candidate pairs (`predictions`,
    with Splink's match_weight, match_probability, gamma_* and mw_* columns) and the trained model (`model`, Splink's
    settings JSON), plus what `link_new` needs to score more records without training again."""

    clusters: pd.DataFrame
    predictions: pd.DataFrame
    model: dict[str, Any]
    threshold: float
    profile: Profile
    linker: Linker = field(repr=False)
    db_api: DuckDBAPI = field(repr=False)
    prepared: pd.DataFrame = field(repr=False)
    alias: dict[str, str] = field(repr=False, default_factory=dict)
    _table: Any = field(repr=False, default=None)

    def entity_of(self, record_id: str) -> str:
        """The entity id of one record."""
        row = self.clusters.loc[self.clusters["record_id"] == str(record_id), "entity_id"]
        if row.empty:
            raise KeyError(record_id)
        return str(row.iloc[0])


def _settings(profile: Profile, link_type: LinkType) -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,
        comparisons=profile.comparisons(),
        blocking_rules_to_generate_predictions=profile.blocking(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


def _train(linker: Linker, profile: Profile) -> None:
    """Prior from near-certain rules, u from random pairs, m by EM over each training block (each block leaves the
    comparisons of its own columns to the other blocks).

    Records that are all distinct after collapsing identical ones (a set of pseudonymous ids, as the public customs
    set names its parties) give the near-certain rules nothing to count: the prior then stays Splink's default
    (1e-4), and a training block without pairs is skipped."""
    linker.training.estimate_probability_two_random_records_match(profile.deterministic(), recall=profile.recall)
    settings = linker._settings_obj  # Splink has no public setter; its estimate above writes the same attribute
    if settings._probability_two_random_records_match <= 0:
        logger.warning("no record pair met the near-certain rules; the prior stays at Splink's default")
        settings._probability_two_random_records_match = DEFAULT_PRIOR
    linker.training.estimate_u_using_random_sampling(max_pairs=profile.u_pairs, seed=1)
    for rule in profile.training():
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
        except EMTrainingException:  # the block holds no pair (no EORI filed twice, say): nothing to learn from
            logger.warning("a training block held no record pair; skipped")


def resolve(
    *,
    records: pd.DataFrame | Sequence[pd.DataFrame],
    threshold: float | None = None,
    profile: Profile = PARTY,
) -> Resolution:
    """Train a model on `records` and cluster them into entities.

    `records` has a `record_id` column and the profile's fields; for a link between duplicate-free sets
    (`profile.link_type == "link_only"`) pass one frame per set. Pairs at or above `threshold` (match probability,
    default the profile's) are joined into entities by connected components, or by single best links when the
    profile says each set is duplicate-free."""
    frames = [records] if isinstance(records, pd.DataFrame) else list(records)
    threshold = profile.threshold if threshold is None else threshold
    db_api = DuckDBAPI()
    prepared = []
    tables = []
    alias: dict[str, str] = {}  # record id -> the id of its representative (identical prepared record)
    for n, frame in enumerate(frames):
        ready = profile.prepare(frame)
        if len(frames) > 1:
            ready[SOURCE] = f"s{n}"
        else:
            ready, alias = _collapse(ready)
        prepared.append(ready)
        tables.append(db_api.register(ready, dataset_display_name=f"s{n}"))
    link_type: LinkType = profile.link_type if len(frames) > 1 else "dedupe_only"
    linker = Linker(tables if len(tables) > 1 else tables[0], _settings(profile, link_type))
    _train(linker, profile)
    predictions = linker.inference.predict(threshold_match_probability=min(0.01, threshold))
    if profile.one_to_one and len(frames) > 1:
        clustered = linker.clustering.cluster_using_single_best_links(
            predictions,
            duplicate_free_datasets=[f"s{n}" for n in range(len(frames))],
            threshold_match_probability=threshold,
        )
    else:
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
    clusters = clustered.as_pandas_dataframe()
    record_ids = clusters[ID].astype(str)
    if SOURCE in clusters.columns and len(frames) > 1:
        record_ids = clusters[SOURCE].astype(str) + "/" + record_ids
    out = pd.DataFrame({"record_id": record_ids, "entity_id": clusters["cluster_id"].astype(str)})
    if alias:
        entity = dict(zip(out["record_id"], out["entity_id"], strict=True))
        out = pd.DataFrame({"record_id": list(alias), "entity_id": [entity[r] for r in alias.values()]})
    tf_columns = [tf.name for tf in linker._settings_obj._term_frequency_columns]
    for column in tf_columns:  # so that link_new can score new records with the same frequencies
        linker.table_management.compute_tf_table(column)
    return Resolution(
        clusters=out,
        predictions=predictions.as_pandas_dataframe(),
        model=linker.misc.save_model_to_json(),
        threshold=threshold,
        profile=profile,
        linker=linker,
        db_api=db_api,
        prepared=pd.concat(prepared, ignore_index=True),
        alias=alias,
        _table=tables[0] if len(tables) == 1 else None,
    )


def _collapse(ready: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Identical prepared records (the same template of a company filed a thousand times) scored once: every
    comparison of two identical records agrees on every field, so they are one entity whatever the model; scoring
    them would cost O(k²) pairs per popular party and skew EM towards the most frequent filers."""
    values = [c for c in ready.columns if c != ID]
    plain = ready[values].apply(lambda col: col.map(lambda v: "\x1f".join(v) if isinstance(v, list) else v))
    key = pd.util.hash_pandas_object(plain, index=False)
    first = ~key.duplicated()
    rep_of_key = dict(zip(key[first], ready.loc[first, ID], strict=True))
    alias = dict(zip(ready[ID], key.map(rep_of_key), strict=True))
    return ready[first].reset_index(drop=True), alias


# ---------------------------------------------------------------- explanation


def _level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison output column -> gamma value -> the level's label, read from the trained settings."""
    out: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[column] = {
            len(levels) - 1 - i: lv.get("label_for_charts") or lv["sql_condition"] for i, lv in enumerate(levels)
        }
    return out


def explain(*, resolution: Resolution, left: str, right: str, top: int | None = None) -> list[tuple[str, float]]:
    """Why the model thinks two records are (or are not) the same party: (reason, match weight in bits) for each
    comparison that was not missing, strongest evidence first, e.g. [("same phone", 9.1), ("name with one typo",
    6.3), ("same country", 0.4), ("different EORI", -8.2)]. Raises KeyError when the pair was not a candidate pair
    (blocking never compared the two records)."""
    preds = resolution.predictions
    left, right = (resolution.alias.get(str(r), str(r)) for r in (left, right))
    if left == right:
        return [("identical records", math.inf)]
    ids = {left, right}
    hit = preds[preds[f"{ID}_l"].astype(str).isin(ids) & preds[f"{ID}_r"].astype(str).isin(ids)]
    hit = hit[hit[f"{ID}_l"].astype(str) != hit[f"{ID}_r"].astype(str)]
    if hit.empty:
        raise KeyError(f"{left} and {right} were not compared (no blocking rule brought them together)")
    reasons = _reasons(hit.iloc[0], _level_labels(resolution.model))
    return reasons[:top] if top else reasons


def _reasons(row: Mapping[str, Any] | pd.Series, labels: dict[str, dict[int, str]]) -> list[tuple[str, float]]:
    """(reason, match weight in bits) of each comparison of one scored pair (a row of Splink's predictions, with its
    gamma_* and mw_* columns) that was not missing, strongest evidence first; `labels` from `_level_labels`."""
    reasons: list[tuple[str, float]] = []
    for column, by_gamma in labels.items():
        gamma = int(row[f"gamma_{column}"])
        if gamma < 0:  # missing on one side: no evidence either way
            continue
        bits = float(row[f"mw_{column}"])
        tf = row.get(f"mw_tf_adj_{column}")
        if tf is not None and not pd.isna(tf):
            bits += float(tf)
        reasons.append((by_gamma.get(gamma, f"{column} level {gamma}"), round(bits, 2)))
    reasons.sort(key=lambda r: -abs(r[1]))
    return reasons


# ---------------------------------------------------------------- new records


def from_model(
    *,
    model: dict[str, Any],
    records: pd.DataFrame,
    clusters: dict[str, str],
    threshold: float,
    profile: Profile = PARTY,
) -> Resolution:
    """A `Resolution` rebuilt from a stored model and the records it clustered (`clusters`: record id -> entity
    id), for `link_new` in a later process: no training, no clustering."""
    db_api = DuckDBAPI()
    ready, alias = _collapse(profile.prepare(records))
    table = db_api.register(ready, dataset_display_name="s0")
    settings = {**model, "link_type": "dedupe_only"}
    linker = Linker(table, settings)
    for tf in linker._settings_obj._term_frequency_columns:
        linker.table_management.compute_tf_table(tf.name)
    out = pd.DataFrame({"record_id": list(alias), "entity_id": [clusters[r] for r in alias]})
    return Resolution(
        clusters=out,
        predictions=pd.DataFrame(),
        model=model,
        threshold=threshold,
        profile=profile,
        linker=linker,
        db_api=db_api,
        prepared=ready,
        alias=alias,
        _table=table,
    )


def link_with_model(
    *,
    model: dict[str, Any],
    known: pd.DataFrame,
    clusters: dict[str, str],
    new_records: pd.DataFrame,
    threshold: float,
    profile: Profile = PARTY,
) -> pd.DataFrame:
    """`link_new` against records clustered earlier with a stored model (see `from_model`)."""
    resolution = from_model(model=model, records=known, clusters=clusters, threshold=threshold, profile=profile)
    return link_new(resolution=resolution, new_records=new_records)


def link_new(*, resolution: Resolution, new_records: pd.DataFrame) -> pd.DataFrame:
    """Attach new records to the entities of `resolution` with the trained model, without training again.

    Returns one row per new record: record_id, entity_id (an existing entity, or a new one "new-<record_id>" shared
    by new records that match each other), match_probability of the link that decided it (None for a new entity)
    and matched_record_id. New records are scored against the existing ones (Splink's `predict_between`) and among
    themselves (`predict_within`); the best existing match at or above the threshold wins."""
    linker, db_api, profile = resolution.linker, resolution.db_api, resolution.profile
    ready = profile.prepare(new_records)
    if set(ready[ID]) & (set(resolution.prepared[ID].astype(str)) | set(resolution.alias)):
        raise ValueError("new records reuse record ids of the resolution")
    new_table = db_api.register(ready)
    existing = resolution._table
    if existing is None:
        raise ValueError("link_new needs a dedupe resolution (one input frame)")
    between = linker.inference.predict_between(
        existing, new_table, threshold_match_probability=resolution.threshold, warning_mode="never"
    ).as_pandas_dataframe()
    within = linker.inference.predict_within(
        new_table, threshold_match_probability=resolution.threshold, warning_mode="never"
    ).as_pandas_dataframe()
    known = dict(zip(resolution.clusters["record_id"], resolution.clusters["entity_id"], strict=True))
    new_ids = list(ready[ID])
    best: dict[str, tuple[float, str]] = {}
    new_set = set(new_ids)
    for left, right, p in zip(
        between[f"{ID}_l"].astype(str), between[f"{ID}_r"].astype(str), between["match_probability"], strict=True
    ):
        new, old = (right, left) if right in new_set else (left, right)
        if p > best.get(new, (-1.0, ""))[0]:
            best[new] = (float(p), old)
    # new records that match no existing entity, grouped among themselves (union-find over within-new pairs)
    parent = {r: r for r in new_ids}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    # identical new records are one entity whatever the model says (as `_collapse` has it for a resolution)
    _, same = _collapse(ready)
    pairs = [*zip(within[f"{ID}_l"].astype(str), within[f"{ID}_r"].astype(str), strict=True), *same.items()]
    for left, right in pairs:
        a, b = root(left), root(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    rows = []
    for r in new_ids:
        if r in best:
            p, old = best[r]
            rows.append({"record_id": r, "entity_id": known[old], "match_probability": p, "matched_record_id": old})
            continue
        group = [m for m in new_ids if root(m) == root(r) and m in best]
        if group:  # a new duplicate of a record that did attach
            p, old = best[group[0]]
            rows.append(
                {"record_id": r, "entity_id": known[old], "match_probability": None, "matched_record_id": group[0]}
            )
        else:
            rows.append(
                {"record_id": r, "entity_id": f"new-{root(r)}", "match_probability": None, "matched_record_id": None}
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- linking two sets (screening)

# Below this many records (left and right together) `link_sets` does not train: EM learns m from the pairs the
# training blocks bring together, and a few hundred records hold a handful of them, so a level seen once gets an
# extreme estimate and a level never seen keeps Splink's positional default (in a 31-record run that default made
# "same words in another order" count 3.6 bits *against* a match). The fixed model below is used instead.
MIN_TRAINING_RECORDS = 500

# A fixed model per profile, for sets too small to train on: the prior (probability that a random left-right pair
# is one party) and, per comparison and level label, (m, u). Chosen for screening parties against watch lists, where
# a list writes a name its own way (aliases, transliterations, surname first) and its addresses are often stale:
# * names: an exact name or the same words reordered is strong evidence (+16 to +17 bits), one typo +14, two typos
#   +12, one name inside the other +10 (a short alias is inside many longer names). A different name rules a link
#   out (m 1e-24, -80 bits: more than every other field together adds): front companies share address, phone,
#   e-mail and bank account, and only their names tell them apart (the trained model fixes the same m at 1e-5,
#   and its other weights are learnt lower).
#   Identifiers shared under different names are what `portguard.network.watchlists.screen` reports as exact
#   hits, which say what is shared instead of claiming one party;
# * phone, e-mail, EORI and IBAN agree by chance about once in a million pairs or less (+18 to +23 bits); a
#   different one is weak evidence against (people change numbers; lists are old);
# * country and legal form are weak either way (2-3 bits); an address counts when street and postcode agree.
# With the prior 1e-4 (-13.3 bits) the same name and country give p = 0.98, the same words reordered with the same
# country and legal form 0.99, one name inside the other with the same country 0.35 (one more agreeing field makes
# it a hit), a different name 0.
FIXED_MODELS: dict[str, tuple[float, dict[str, dict[str, tuple[float, float]]]]] = {
    "portguard-party": (
        1e-4,
        {
            "name": {
                "same name": (0.6, 5e-6),
                "same words in another order": (0.15, 2e-6),
                "name with one typo": (0.1, 5e-6),
                "one name contains the other": (0.1, 1e-4),
                "name with two typos": (0.05, 1e-5),
                "different name": (1e-24, 0.999878),
            },
            "legal_form": {"same legal form": (0.7, 0.2), "different legal form": (0.3, 0.8)},
            "address": {
                "same address": (0.3, 1e-4),
                "similar address": (0.15, 5e-4),
                "same postcode or city": (0.25, 0.02),
                "different address": (0.3, 0.9794),
            },
            "country": {"same country": (0.8, 0.15), "different country": (0.2, 0.85)},
            "phone": {"same phone": (0.4, 1e-6), "different phone": (0.6, 0.999999)},
            "email": {"same e-mail": (0.4, 1e-6), "different e-mail": (0.6, 0.999999)},
            "eori": {"same EORI": (0.95, 1e-7), "different EORI": (0.05, 0.9999999)},
            "iban": {"same IBAN": (0.9, 1e-7), "different IBAN": (0.1, 0.9999999)},
            "bic": {"same BIC": (0.9, 0.01), "different BIC": (0.1, 0.99)},
        },
    ),
}
LINK_COLUMNS = ["left_id", "right_id", "match_probability", "match_weight", "reasons"]
_LEFT, _RIGHT = "lhs", "rhs"  # source dataset names (also DuckDB table names: "left" is a keyword)


def fixed_model(profile: Profile = PARTY) -> dict[str, Any]:
    """The profile's Splink settings with the hand-set prior and m/u of `FIXED_MODELS` (ValueError without one)."""
    if profile.name not in FIXED_MODELS:
        raise ValueError(f"profile {profile.name} has no fixed model")
    prior, levels = FIXED_MODELS[profile.name]
    settings = _settings(profile, "link_only").create_settings_dict("duckdb")
    settings["probability_two_random_records_match"] = prior
    for comparison in settings["comparisons"]:
        column = comparison["output_column_name"]
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = levels[column][level["label_for_charts"]]
            level.update(m_probability=m, u_probability=u)
    return settings


def _union_model(ready: pd.DataFrame, profile: Profile) -> dict[str, Any]:
    """A model trained as `resolve` trains one, on both sets deduplicated together (identical records collapsed)."""
    ready = ready.assign(**{ID: [str(n) for n in range(len(ready))]})
    ready, _alias = _collapse(ready)
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(ready, dataset_display_name="u0"), _settings(profile, "dedupe_only"))
    _train(linker, profile)
    return linker.misc.save_model_to_json()


def _link_prior(linker: Linker, profile: Profile) -> dict[str, Any]:
    """The prior of a model trained on both sets, estimated again between them (the profile's near-certain rules over
    left-right pairs only): the union's prior counts the duplicates within each set, far more than a subject
    matches list entries; no pair found keeps the fixed model's prior. Returns the settings with it."""
    linker.training.estimate_probability_two_random_records_match(profile.deterministic(), recall=profile.recall)
    settings = linker._settings_obj  # Splink has no public setter; its estimate above writes the same attribute
    if settings._probability_two_random_records_match <= 0:
        settings._probability_two_random_records_match = FIXED_MODELS.get(profile.name, (1e-4, {}))[0]
    return linker.misc.save_model_to_json()


def _rule_dicts(rules: list[BlockingRuleCreator | str]) -> list[dict[str, Any] | str]:
    return [r if isinstance(r, str) else r.create_blocking_rule_dict("duckdb") for r in rules]


def link_sets(
    *,
    left: pd.DataFrame,
    right: pd.DataFrame,
    model: dict[str, Any] | None = None,
    threshold: float | None = None,
    profile: Profile = PARTY,
) -> pd.DataFrame:
    """Score every record of `left` against every record of `right` that a blocking rule of `profile` pairs it with
    (Splink's link_only: no pair within one side), and keep the pairs at or above `threshold` (match probability,
    default the profile's).

    Both frames have a `record_id` column (unique within its frame) and the profile's fields. `model` is a trained
    Splink settings dict (a network run's `Resolution.model`): loaded as it is, with link_type switched to link_only
    and the profile's blocking rules, never retrained. Without one, a model is trained on left and right together as
    `resolve` trains, or, below `MIN_TRAINING_RECORDS` records, the profile's fixed model (`FIXED_MODELS`) is used.
    Both sides are prepared as one batch, so keys computed from the batch (the rarest name word) agree across them.

    Returns columns left_id, right_id, match_probability, match_weight and reasons ((text, bits) per comparison, as
    `explain` gives them), best first; `attrs["model"]` holds the settings used and `attrs["source"]` says which
    ("given", "trained" or "fixed")."""
    threshold = profile.threshold if threshold is None else threshold
    for side, frame in (("left", left), ("right", right)):
        if "record_id" not in frame.columns:
            raise ValueError(f"{side} has no record_id column")
        if frame["record_id"].astype(str).duplicated().any():
            raise ValueError(f"{side} repeats a record_id")
    out = pd.DataFrame(columns=LINK_COLUMNS)
    if left.empty or right.empty:
        out.attrs.update(model=model or {}, source="given" if model is not None else "none")
        return out
    both = profile.prepare(pd.concat([left, right], ignore_index=True))
    if model is not None:
        settings, source = json.loads(json.dumps(model)), "given"  # a deep copy: the caller's dict stays as it was
    elif len(both) >= MIN_TRAINING_RECORDS or profile.name not in FIXED_MODELS:
        settings, source = _union_model(both, profile), "trained"
    else:
        settings, source = fixed_model(profile), "fixed"
    settings.update(
        link_type="link_only",
        blocking_rules_to_generate_predictions=_rule_dicts(profile.blocking()),
        retain_intermediate_calculation_columns=True,
        source_dataset_column_name=SOURCE,
    )
    lhs = both.iloc[: len(left)].assign(**{SOURCE: _LEFT})
    rhs = both.iloc[len(left) :].assign(**{SOURCE: _RIGHT})
    db_api = DuckDBAPI()
    tables = [db_api.register(lhs, dataset_display_name=_LEFT), db_api.register(rhs, dataset_display_name=_RIGHT)]
    linker = Linker(tables, settings)
    if source == "trained":
        settings = _link_prior(linker, profile)
    predictions = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    labels = _level_labels(settings)
    rows = []
    for row in predictions.to_dict("records"):
        left_id, right_id = str(row[f"{ID}_l"]), str(row[f"{ID}_r"])
        if row[f"{SOURCE}_l"] == _RIGHT:
            left_id, right_id = right_id, left_id
        reasons = _reasons(row, labels)
        rows.append((left_id, right_id, float(row["match_probability"]), float(row["match_weight"]), reasons))
    if rows:
        out = pd.DataFrame(rows, columns=LINK_COLUMNS)
        out = out.sort_values(["match_probability", "left_id", "right_id"], ascending=[False, True, True])
        out = out.reset_index(drop=True)
    out.attrs.update(model=settings, source=source)
    return out


# ---------------------------------------------------------------- scoring against a truth


def pairwise_scores(*, predicted: pd.Series, truth: pd.Series, source: pd.Series | None = None) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true clusters (both indexed alike).

    A pair counts when both records share a predicted (resp. true) cluster; with `source` (link-only between
    duplicate-free sets) only pairs across sources count. Computed from cluster sizes, not by listing pairs."""
    frame = pd.DataFrame({"p": predicted.astype(str).to_numpy(), "t": truth.astype(str).to_numpy()})
    if source is None:

        def pairs(keys: list[str]) -> float:
            sizes = frame.groupby(keys).size()
            return float((sizes * (sizes - 1) // 2).sum())

    else:
        frame["s"] = source.astype(str).to_numpy()

        def pairs(keys: list[str]) -> float:
            sizes = frame.groupby([*keys, "s"]).size().unstack(fill_value=0)
            total = sizes.sum(axis=1)
            return float(((total * total - (sizes * sizes).sum(axis=1)) // 2).sum())

    tp, pred, true = pairs(["p", "t"]), pairs(["p"]), pairs(["t"])
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs_predicted": pred, "pairs_true": true}
