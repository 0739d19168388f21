"""Screening of goods lines and structures for scheduled and designer drug precursors, without a database.

Why this module exists: a declaration names its goods in free text ("25 DRUMS FENILACETONA 99%"), in any EU
language, misspelt, abbreviated, sometimes with a CAS number, under a CN code that a precursor shares with many
legal goods. A customs officer needs the lines that name a scheduled precursor, or a designer precursor one or two
reactions away from one, and for each hit a reason in words that can be checked at the container. The screening
weighs four kinds of evidence, strongest first:

1. **identifiers**: a CAS number whose check digit holds, an InChIKey, or the line's CN code together with the
   substance's name (a CN code alone is no hit: 2933 39 99 covers thousands of legal chemicals);
2. **names**: the registry names, abbreviations and the multilingual trade names of `data/synonyms.csv`,
   normalised (case, accents) and matched over word windows, fuzzily (rapidfuzz) with a high cutoff;
3. **unmasking**: a line naming an *unscheduled* registry substance with a structure is also a hit for the
   scheduled substance that substance unmasks to (precomputed once with `chemistry.Unmasker`); a structure given
   directly (`screen_structure`) is unmasked on the spot;
4. **similarity** (structures only): Morgan similarity to the registry, the weak signal it is.

Names are where false positives come from, because chemical names are dense: acetone sits inside phenylacetone,
piperonyl (butoxide, a legal insecticide synergist) is one letter from piperonal, dimethyl ether one from diethyl
ether. So the matching works on whole words, never inside one; a longer name that contains a shorter one wins
(phenyl acetone is BMK, not acetone), and a few legal chemicals that contain a precursor's name as words
(toluene diisocyanate, acetone cyanohydrin) are listed to win the same way; a name joined by a hyphen to a further
word is part of a different compound (2,2,6,6-tetramethyl-4-piperidone, toluene-2,4-diisocyanate) unless the word
is a stereo descriptor or a salt, and so is a name after a substituent (benzyl acetone, isopropyl toluene); "acetone
free" says the opposite of a hit; short abbreviations (BMK, 4-AP) count only as whole tokens and never fuzzily;
and a fuzzy match may only change words that are *not* known words, since a correctly spelt different word
(piperonyl, dimethyl, phenylacetate) is not a typo. Fuzzy matches also keep the digits (locants) and first letters
of the name and are bounded in edits. Where the line's CN code is the substance's own (not an "ex" code), a
misspelling a little further from the name is accepted, because the code corroborates it.

Everything here is computation on text and structures: no database, no settings, nothing at import time. A
`Screener` is built once from `ScreenSubstance`s (from the registry's records, or from the stored substances the
user may see) and then screens any number of lines; repeated descriptions are analysed once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

import normality
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from portguard.core.errors import InvalidInput
from portguard.substances.chemistry import (
    SimilarityIndex,
    Structure,
    Target,
    Unmasker,
    UnmaskHit,
    parse_smiles,
    valid_cas,
)
from portguard.substances.models import HitMethod
from portguard.substances.registry import SubstanceRecord, is_unmasking_target

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.csv"

STRENGTH = {HitMethod.IDENTIFIER: 1.0, HitMethod.NAME: 0.9, HitMethod.UNMASKING: 0.8, HitMethod.SIMILARITY: 0.5}
_METHOD_RANK = {HitMethod.IDENTIFIER: 0, HitMethod.NAME: 1, HitMethod.UNMASKING: 2, HitMethod.SIMILARITY: 3}
MAX_MATCHED = 300
MAX_DESCRIPTION = 5000  # a goods description is at most 512 characters in a declaration; the API allows 5,000
MIN_FUZZY_LENGTH = 8  # letters and digits of a name; shorter names are matched exactly only
MAX_ABBREVIATION = 5  # a name this short (BMK, 4-AP, MDP2P) counts only as whole tokens, never fuzzily
AMBIGUOUS_SCORE = 0.8  # the name score of an abbreviation that also means something else

LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "nl": "Dutch", "es": "Spanish", "it": "Italian",
    "pl": "Polish", "pt": "Portuguese", "cs": "Czech", "da": "Danish", "sv": "Swedish", "fi": "Finnish",
    "el": "Greek", "hu": "Hungarian", "ro": "Romanian", "bg": "Bulgarian", "hr": "Croatian", "sk": "Slovak",
    "sl": "Slovenian", "et": "Estonian", "lv": "Latvian", "lt": "Lithuanian", "ga": "Irish", "mt": "Maltese",
}  # fmt: skip

# Abbreviations that also mean something else in trade: (the other meaning, HS chapters where they count; None for
# every chapter). Outside those chapters the abbreviation is no hit; inside, it is a weaker name hit that says so.
AMBIGUOUS_ABBREVIATIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "ppa": ("polyphthalamide (a plastic) and polyphosphoric acid", ("29", "30")),
    "mapa": ("the Spanish and Portuguese word for a map", ("29",)),
    "4ap": ("4-aminopyridine (fampridine)", None),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Legal chemicals whose names contain a precursor's name as whole words. Matched like names, they hit nothing but
# win over the shorter name they contain, as a longer precursor name does.
LEGAL_COMPOUNDS = (
    "toluene diisocyanate", "toluene sulfonic acid", "toluene sulphonic acid", "acetone cyanohydrin",
    "acetone oxime", "piperonyl acetone", "benzyl acetone", "piperonyl butoxide", "glycol diethyl ether",
    "glycol ethyl ether", "methyl ethyl ketone peroxide", "mek peroxide", "methyl ethyl ketone oxime",
    "butanone oxime", "tetramethyl 4 piperidone", "piperidine 4 carboxylic acid", "piperidine carboxylic acid",
    "lysergic acid diethylamide",
)  # fmt: skip

# Correctly spelt words of ordinary chemistry and trade that lie within a few edits of a precursor's name. A fuzzy
# match may not change one of these (nor a word of any registry name): "piperonyl" is not a misspelt "piperonal".
KNOWN_WORDS = _words(
    """
    acetate acetates phenylacetate phenylacetates acetoacetate ethylacetate methylacetate butylacetate acetyl
    piperonyl butoxide safflower saffron sassafras toluidine toluidines ethylbenzene dimethylbenzene xylene xylol
    xylenes benzene benzol styrene phenol phenols ethanol methanol propanol isopropanol butanol isobutanol
    dimethyl diethylene dimethylether dimethylique methylique metilico metilica metylowy metylowa siarkawy
    siarkawa azotawy azotowy sulphurous sulfurous sulphite sulfite sulphate sulfate sulfonic sulphonic sulfamic
    sulphamic nitric nitrous phosphoric phosphorous phosphate phosphite phosphide phosphine hydrochloride
    hydrochlorides hydrobromide chloride chlorate perchlorate chlorite manganate manganese sodium calcium
    magnesium ammonium phthalic maleic succinic propionic butyric benzoic salicylic citric lactic formic oxalic
    acrylic aniline anisole anethole estragole eugenol isoeugenol myristicin vanillin helional coumarin
    cinnamaldehyde cinnamate benzaldehyde acetophenone propiophenone benzylacetone piperine piperazine pyridine
    pyrrolidine morpholine pyrrole triacetonamine tetramethylpiperidine ephedra epinephrine norepinephrine
    glycerine glycerol glycol glycidol glycidyl glycine nitrotoluene chlorotoluene acetonitrile
    phenylacetonitrile propionitrile acrylonitrile diacetone acetylacetone cyanohydrin isobutyl isopropyl butyl
    propyl hexane heptane pentane cyclohexane cyclohexanone isophorone ketones oxime peroxide ethers esters
    ester methylene ethylene propylene butylene polyethylene polypropylene polyamide polyester polyphthalamide
    phenethyl phenylethyl aminopyridine fampridine aminophenol paracetamol ethyl methyl phenyl benzyl heliotrope
    heliotropyl heliotropes
    """
)

_STEREO = re.compile(r"^(?:\d*(?:r|s|rs|sr)|l|d|dl|rac|cis|trans|e|z|meso|erythro|threo)$")
_SALT_WORDS = _words(
    "hcl hbr hydrochloride hydrobromide sulfate sulphate tartrate bitartrate citrate maleate salt salts base "
    "hydrate monohydrate hemihydrate dihydrate solution oil powder rich grade tech technical pure reich reiches "
    "haltig haltiges"
)
_ABSENT = _words("free frei vrij")
_TOKEN = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_CAS = re.compile(r"(?<![\d-])(\d{2,7}-\d{2}-\d)(?![\d-])")
_INCHIKEY = re.compile(r"(?<![A-Za-z-])([A-Za-z]{14}-[A-Za-z]{10}-[A-Za-z])(?![A-Za-z-])")
_EU_CATEGORY = re.compile(r"EU cat\. (1|2A|2B|3|4)\b")
_SPECIAL_CHARS = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "µ": "u", "μ": "u", "ø": "o", "Ø": "o"}


# ------------------------------------------------------------------------------------------------ substances


@dataclass(frozen=True, slots=True)
class Synonym:
    """One other name of a substance and its language (ISO 639-1, "trade", or "" when not known)."""

    text: str
    language: str = ""


@dataclass(frozen=True, slots=True)
class ScreenSubstance:
    """What the screening knows of one substance: names, identifiers, structure, legal status, scheduled parent.

    `synonyms` may be given as plain strings (their language is then looked up in `data/synonyms.csv`);
    `ex_cn_codes` are those of `cn_codes` that are "ex" codes (the substance is only part of what they cover);
    `eu_category` is read from `label` ("EU cat. 2B, ...") when not given.
    """

    id: str
    name: str
    abbrev: str = ""
    synonyms: tuple[Synonym, ...] = ()
    cas: str | None = None
    inchikey: str | None = None
    cn_codes: tuple[str, ...] = ()
    structure: Structure | None = None
    scheduled: bool = True
    label: str = ""
    parent_id: str | None = None
    parent_name: str | None = None
    ex_cn_codes: tuple[str, ...] = ()
    eu_category: str | None = None

    def __post_init__(self) -> None:
        if not self.id or not self.name.strip():
            raise InvalidInput("a substance to screen for needs an id and a name", field="name")
        shipped = _shipped_languages().get(self.name, {})
        synonyms = []
        for synonym in self.synonyms:
            if isinstance(synonym, str):
                synonym = Synonym(synonym, shipped.get(synonym.casefold(), ""))
            synonyms.append(synonym)
        object.__setattr__(self, "synonyms", tuple(synonyms))
        object.__setattr__(self, "cn_codes", tuple(re.sub(r"\D", "", code) for code in self.cn_codes))
        object.__setattr__(self, "ex_cn_codes", tuple(re.sub(r"\D", "", code) for code in self.ex_cn_codes))
        if self.structure is not None:  # computed by RDKit, never trusted from the caller
            object.__setattr__(self, "inchikey", self.structure.inchikey)
        if self.eu_category is None and (found := _EU_CATEGORY.search(self.label)):
            object.__setattr__(self, "eu_category", found[1])
        if not self.label:
            object.__setattr__(self, "label", "" if self.scheduled else "not scheduled")

    @classmethod
    def from_record(cls, record: SubstanceRecord, *, id: str, synonyms: Iterable[Synonym] = ()) -> ScreenSubstance:
        """The screening view of a registry record, with extra synonyms (e.g. those of `load_synonyms`)."""
        names = [Synonym(text) for text in record.synonyms]
        return cls(
            id=id,
            name=record.name,
            abbrev=record.abbrev,
            synonyms=(*names, *synonyms),
            cas=record.cas,
            cn_codes=tuple(code.digits for code in record.cn_codes),
            ex_cn_codes=tuple(code.digits for code in record.cn_codes if code.ex),
            structure=record.structure,
            scheduled=bool(record.eu_category or record.un_1988_table),
            label=record.label or "not scheduled",
            eu_category=record.eu_category,
        )

    @property
    def display(self) -> str:
        """The name with the abbreviation: `1-Phenyl-2-propanone (BMK/P-2-P)`."""
        return f"{self.name} ({self.abbrev})" if self.abbrev and self.abbrev != self.name else self.name

    @property
    def short(self) -> str:
        """The name an officer knows it by: the first abbreviation (`BMK`), else the name."""
        return self.abbrev.split("/")[0].strip() if self.abbrev else self.name

    @property
    def status(self) -> str:
        """The legal status for a reason: the label, or "not scheduled" with the scheduled parent if known."""
        if self.scheduled:
            return self.label or "scheduled"
        if self.parent_name:
            return f"not scheduled, a designer precursor of {self.parent_name}"
        return "not scheduled"


def load_synonyms(source: Path = SYNONYMS_FILE) -> dict[str, tuple[Synonym, ...]]:
    """The synonyms of a `name,synonym,language` file by registry name (default: the shipped `data/synonyms.csv`)."""
    table: dict[str, list[Synonym]] = {}
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        missing = {"name", "synonym", "language"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidInput(f"{source.name}: missing columns {', '.join(sorted(missing))}", field="header")
        for number, row in enumerate(reader, start=1):
            name, text, language = (row[key].strip() for key in ("name", "synonym", "language"))
            if not name or not text:
                raise InvalidInput(f"{source.name}, record {number}: a name and a synonym are needed", field="synonym")
            if language != "trade" and language not in LANGUAGES:
                raise InvalidInput(
                    f"{source.name}, record {number}, language: {language!r} is neither an EU language code nor "
                    "'trade'",
                    field="language",
                )
            table.setdefault(name, []).append(Synonym(text, language))
    return {name: tuple(values) for name, values in table.items()}


@cache
def _shipped_languages() -> dict[str, dict[str, str]]:
    if not SYNONYMS_FILE.is_file():
        return {}
    out: dict[str, dict[str, str]] = {}
    for name, synonyms in load_synonyms().items():
        for synonym in synonyms:
            out.setdefault(name, {}).setdefault(synonym.text.casefold(), synonym.language)
    return out


def substances_from_records(
    records: Iterable[SubstanceRecord], *, synonyms: dict[str, tuple[Synonym, ...]] | None = None
) -> list[ScreenSubstance]:
    """Screening substances for registry records (ids are the names), with the shipped synonyms by default."""
    table = load_synonyms() if synonyms is None else synonyms
    return [ScreenSubstance.from_record(r, id=r.name, synonyms=table.get(r.name, ())) for r in records]


# ------------------------------------------------------------------------------------------------------ hits


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding: which substance, how it was found, how strong (0–1), what matched and why, in words."""

    substance_id: str
    substance_name: str
    method: HitMethod
    strength: float
    matched: str
    reason: str


def _hit(substance: ScreenSubstance, method: HitMethod, *, score: float, matched: str, reason: str) -> Hit:
    strength = round(STRENGTH[method] * score, 3)
    text = matched if len(matched) <= MAX_MATCHED else matched[: MAX_MATCHED - 1] + "…"
    return Hit(substance.id, substance.name, method, strength, text, reason)


def _ordered(hits: Iterable[Hit]) -> list[Hit]:
    best: dict[tuple[str, HitMethod], Hit] = {}
    for hit in hits:
        key = (hit.substance_id, hit.method)
        if key not in best or hit.strength > best[key].strength:
            best[key] = hit
    return sorted(best.values(), key=lambda h: (-h.strength, _METHOD_RANK[h.method], h.substance_name, h.substance_id))


# ------------------------------------------------------------------------------------------------------ text


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _SPECIAL_CHARS:
        return _SPECIAL_CHARS[char]
    return (normality.ascii_text(char) or "").lower()


def fold(text: str) -> str:
    """Lower case, accents and ligatures folded to ASCII (normality), Greek letters spelt out: the compare form."""
    return _folded(text)[0]


def _folded(text: str) -> tuple[str, list[int] | None]:
    """The folded text and, if it is not plain ASCII, the index in `text` of each folded character."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = char.lower() if char.isascii() else _fold_char(char)
        out.append(piece)
        origin.extend([index] * len(piece))
    return "".join(out), origin


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int


def _tokens(folded: str) -> list[_Token]:
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]


def _is_locant(token: str) -> bool:
    """A token that is never a misspelling: a locant, a short letter group, anything with a digit."""
    return len(token) <= 2 or any(ch.isdigit() for ch in token)


@dataclass(slots=True)
class _Pattern:
    """One name to look for: as written, its tokens and compact form, whose it is (None: a legal compound)."""

    text: str
    tokens: tuple[str, ...]
    compact: str
    substance: int | None
    forms: list[tuple[str, str]] = field(default_factory=list)  # (as written, kind: a language, "name", "trade", ...)
    abbreviation: bool = False
    fuzzy: bool = False
    digits: tuple[str, ...] = ()
    ambiguous: tuple[str, tuple[str, ...] | None] | None = None
    spellings: set[tuple[str, ...]] = field(default_factory=set)  # the token sequences of its written forms

    @property
    def cap(self) -> int:
        """Edits (OSA: a transposition is one) a fuzzy match of this name may need."""
        length = len(self.compact)
        return 1 if length < 12 else 2 if length < 24 else 3

    def what(self, matched: str) -> str:
        """What kind of name matched, for the reason: `registry name`, `Spanish and Portuguese name`, `trade name`.

        The kinds whose written form is the matched text (accents and all) are named; if none is, every kind."""
        written = [kind for text, kind in self.forms if text.casefold() == matched.casefold()]
        kinds = written or [kind for _, kind in self.forms]
        if "name" in kinds:
            return "registry name"
        languages = list(dict.fromkeys(LANGUAGES[k] for k in kinds if k in LANGUAGES))
        if languages:
            joined = ", ".join(languages[:-1]) + " and " + languages[-1] if len(languages) > 1 else languages[0]
            return f"{joined} name" + (", also a trade name" if "trade" in kinds else "")
        for kind, label in (("trade", "trade name"), ("abbreviation", "abbreviation")):
            if kind in kinds:
                return label
        return "synonym"


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A name found in a description: token span, pattern, score (0–100, rapidfuzz ratio), edits, text as written."""

    start: int
    end: int
    pattern: _Pattern
    score: float
    edits: int
    matched: str

    def inside(self, other: _Candidate) -> bool:
        return (
            other.start <= self.start and self.end <= other.end and (other.start, other.end) != (self.start, self.end)
        )


@dataclass(frozen=True, slots=True)
class _Analysis:
    """The hs-code-free part of screening one description, cached per description."""

    cas: tuple[tuple[str, str], ...]  # (CAS as normalised, as written)
    inchikeys: tuple[str, ...]
    candidates: tuple[_Candidate, ...]


def _whole(folded: str, tokens: Sequence[_Token], start: int, end: int) -> bool:
    """Whether tokens[start:end] stand as a name of their own, not as part of a longer compound's name.

    Not whole: hyphen-joined to a word before (other than a stereo descriptor: L-, (1R,2S)-) or after (other than
    a salt or form: -HCl, -rich), following a substituent (a word ending in -yl: benzyl acetone), or followed by
    "free" (acetone-free)."""
    if start > 0:
        previous = tokens[start - 1].text
        before = folded[tokens[start - 1].end : tokens[start].start]
        joined = before.endswith("-") and not any(ch.isspace() for ch in before)
        if joined and not _STEREO.match(previous):
            return False
        if before.strip(" \t\n-") == "" and previous.endswith("yl") and len(previous) >= 4:
            return False  # benzyl acetone, isopropyl toluene, methyl piperidine: other compounds
    if end < len(tokens):
        after = folded[tokens[end - 1].end : tokens[end].start]
        joined = after.startswith("-") and not any(ch.isspace() for ch in after)
        if joined and tokens[end].text not in _SALT_WORDS:
            return False
        if after.strip(" \t\n-") == "" and tokens[end].text in _ABSENT:
            return False  # "acetone-free nail polish remover" says the substance is not there
    return True


def _digits(tokens: Iterable[str]) -> tuple[str, ...]:
    return tuple(run for token in tokens for run in _DIGITS.findall(token))


def _format_cn(code: str) -> str:
    return " ".join([code[:4], *(code[i : i + 2] for i in range(4, len(code), 2))])


# -------------------------------------------------------------------------------------------------- screener

K = TypeVar("K")


class Screener:
    """Screens goods lines and structures against a fixed set of substances; build once, use for many lines."""

    def __init__(
        self,
        substances: Sequence[ScreenSubstance],
        *,
        fuzzy_cutoff: float = 90.0,
        corroborated_cutoff: float = 80.0,
        similarity_cutoff: float = 0.5,
        similarity_top: int = 5,
        max_unmasking_steps: int = 4,
        cache_size: int = 65536,
    ) -> None:
        if not 50 <= corroborated_cutoff <= fuzzy_cutoff <= 100:
            raise ValueError("cutoffs: 50 ≤ corroborated_cutoff ≤ fuzzy_cutoff ≤ 100")
        if not 0 < similarity_cutoff <= 1:
            raise ValueError("similarity_cutoff is above 0 and at most 1")
        ids = [s.id for s in substances]
        if len(set(ids)) != len(ids):
            raise InvalidInput("two substances to screen for have the same id", field="id")
        self.fuzzy_cutoff = fuzzy_cutoff
        self.corroborated_cutoff = corroborated_cutoff
        self.similarity_cutoff = similarity_cutoff
        self.similarity_top = similarity_top
        self._unmasker = Unmasker(
            [
                Target(key=s.id, structure=s.structure, label=s.label)
                for s in substances
                if s.structure is not None
                and is_unmasking_target(structure=s.structure, scheduled=s.scheduled, eu_category=s.eu_category)
            ],
            max_steps=max_unmasking_steps,
        )
        # an unscheduled substance is unmasked once, here; its parent is the first scheduled structure it reaches
        self._unmasked: dict[str, tuple[UnmaskHit, ...]] = {}
        resolved: list[ScreenSubstance] = []
        by_id = {s.id: s for s in substances}
        for substance in substances:
            if not substance.scheduled and substance.structure is not None:
                reached = tuple(
                    hit for hit in self._unmasker.unmask(substance.structure).hits if hit.target.key != substance.id
                )
                self._unmasked[substance.id] = reached
                if substance.parent_id is None and reached:
                    parent = by_id[reached[0].target.key]
                    substance = replace(substance, parent_id=parent.id, parent_name=parent.name)
            resolved.append(substance)
        self.substances: tuple[ScreenSubstance, ...] = tuple(resolved)
        self._by_id = {s.id: s for s in self.substances}
        self._by_cas: dict[str, list[int]] = {}
        self._by_inchikey: dict[str, list[int]] = {}
        for index, substance in enumerate(self.substances):
            if cas := valid_cas(substance.cas):
                self._by_cas.setdefault(cas, []).append(index)
            if substance.inchikey:
                self._by_inchikey.setdefault(substance.inchikey, []).append(index)
        self._index = SimilarityIndex((s.id, s.structure) for s in self.substances if s.structure is not None)
        self._build_patterns()
        self._analyse = lru_cache(maxsize=cache_size)(self._analyse_text)

    # ---------------------------------------------------------------------------------------------- patterns

    def _build_patterns(self) -> None:
        by_compact: dict[tuple[str, int | None], _Pattern] = {}

        def add(text: str, substance: int | None, kind: str) -> None:
            tokens = tuple(token.text for token in _tokens(fold(text)))
            compact = "".join(tokens)
            if not compact:
                return
            pattern = by_compact.get((compact, substance))
            if pattern is None:
                abbreviation = len(compact) <= MAX_ABBREVIATION
                pattern = _Pattern(
                    text=text,
                    tokens=tokens,
                    compact=compact,
                    substance=substance,
                    abbreviation=abbreviation,
                    fuzzy=substance is not None and len(compact) >= MIN_FUZZY_LENGTH,
                    digits=_digits(tokens),
                    ambiguous=AMBIGUOUS_ABBREVIATIONS.get(compact) if abbreviation else None,
                )
                by_compact[(compact, substance)] = pattern
            pattern.spellings.add(tokens)
            if (text, kind) not in pattern.forms:
                pattern.forms.append((text, kind))

        for index, substance in enumerate(self.substances):
            add(substance.name, index, "name")
            for part in substance.abbrev.split("/") if substance.abbrev else ():
                add(part.strip(), index, "abbreviation")
            for synonym in substance.synonyms:
                add(synonym.text, index, synonym.language or "synonym")
        for text in LEGAL_COMPOUNDS:
            add(text, None, "legal")
        patterns = list(by_compact.values())
        self._exact: dict[str, list[_Pattern]] = {}
        for pattern in patterns:
            self._exact.setdefault(pattern.compact, []).append(pattern)
        self._known = KNOWN_WORDS | {token for pattern in patterns for token in pattern.tokens}
        self._max_compact = max((len(p.compact) for p in patterns), default=0)
        self._max_tokens = max((len(p.tokens) for p in patterns), default=0) + 1
        fuzzy = [p for p in patterns if p.fuzzy]
        self._fuzzy: dict[int, tuple[list[str], list[_Pattern]]] = {}
        for length in range(MIN_FUZZY_LENGTH - 3, self._max_compact + 4):
            near = [p for p in fuzzy if abs(len(p.compact) - length) <= p.cap + 1]
            self._fuzzy[length] = ([p.compact for p in near], near)

    # ---------------------------------------------------------------------------------------------- analysis

    def _analyse_text(self, description: str) -> _Analysis:
        cas = []
        for found in _CAS.finditer(description):
            normalised = valid_cas(found[1])
            if normalised:  # a number failing its check digit is a typo or not a CAS number: no hit
                cas.append((normalised, found[1]))
        inchikeys = tuple(dict.fromkeys(found[1].upper() for found in _INCHIKEY.finditer(description)))
        folded, origin = _folded(description)
        tokens = _tokens(folded)
        return _Analysis(tuple(cas), inchikeys, tuple(self._names(description, folded, origin, tokens)))

    def _names(
        self, description: str, folded: str, origin: list[int] | None, tokens: list[_Token]
    ) -> Iterator[_Candidate]:
        low = self.corroborated_cutoff

        def matched(start: int, end: int) -> str:
            first, last = tokens[start].start, tokens[end - 1].end - 1
            if origin is not None:
                first, last = origin[first], origin[last]
            return description[first : last + 1]

        for start in range(len(tokens)):
            compact = ""
            unknown = False
            for end in range(start + 1, min(len(tokens), start + self._max_tokens) + 1):
                token = tokens[end - 1].text
                compact += token
                if len(compact) > self._max_compact + 3:
                    break
                unknown = unknown or (token not in self._known and not _is_locant(token))
                window = tuple(t.text for t in tokens[start:end])
                for pattern in self._exact.get(compact, ()):
                    if pattern.abbreviation and end - start > 1 and window not in pattern.spellings:
                        continue  # "B M K" is not BMK: an abbreviation counts only as written
                    if _whole(folded, tokens, start, end):
                        yield _Candidate(start, end, pattern, 100.0, 0, matched(start, end))
                if not unknown or len(compact) not in self._fuzzy:
                    continue  # only a word that is no known word can be a misspelling
                choices, near = self._fuzzy[len(compact)]
                found = process.extract(compact, choices, scorer=fuzz.ratio, score_cutoff=low, limit=None)
                for _choice, score, index in found:
                    pattern = near[index]
                    if score >= 100 or compact[:2] != pattern.compact[:2] or _digits(window) != pattern.digits:
                        continue
                    if any(t in self._known and t not in pattern.tokens and t not in pattern.compact for t in window):
                        continue  # a correctly spelt other word (piperonyl for piperonal) is no typo
                    edits = OSA.distance(compact, pattern.compact, score_cutoff=pattern.cap + 1)
                    if edits <= pattern.cap + 1 and _whole(folded, tokens, start, end):
                        yield _Candidate(start, end, pattern, score, edits, matched(start, end))

    # ------------------------------------------------------------------------------------------------ lines

    def screen_line(self, *, description: str, hs_code: str | None = None) -> list[Hit]:
        """The hits on one goods line (identifiers, names, unmasking of a named designer form), strongest first."""
        if not isinstance(description, str):
            raise InvalidInput("a goods description must be text", field="description")
        line_code = _line_code(hs_code)
        text = description[:MAX_DESCRIPTION]
        if not text.strip():
            return []
        analysis = self._analyse(text)
        hits: list[Hit] = []
        found: set[str] = set()  # substances found by identifier or name (for the unmasking of designer forms)

        for cas, written in analysis.cas:
            for index in self._by_cas.get(cas, ()):
                substance = self.substances[index]
                reason = f"CAS {cas} in the description is {substance.display}, {substance.status}"
                hits.append(_hit(substance, HitMethod.IDENTIFIER, score=1.0, matched=written, reason=reason))
                found.add(substance.id)
        for key in analysis.inchikeys:
            for index in self._by_inchikey.get(key, ()):
                substance = self.substances[index]
                reason = f"InChIKey {key} in the description is {substance.display}, {substance.status}"
                hits.append(_hit(substance, HitMethod.IDENTIFIER, score=1.0, matched=key, reason=reason))
                found.add(substance.id)

        for candidate in self._accepted(analysis.candidates, line_code):
            substance = self.substances[candidate.pattern.substance]  # type: ignore[index]
            hits.append(self._name_hit(substance, candidate))
            found.add(substance.id)
            cn = _cn_match(substance, line_code)
            if cn is not None:
                code, ex, _ = cn
                hits.append(self._cn_hit(substance, candidate, line_code or "", code, ex))

        for substance_id in sorted(found):
            for reached in self._unmasked.get(substance_id, ()):
                designer = self._by_id[substance_id]
                target = self._by_id[reached.target.key]
                reason = f"{designer.display}, found on the line, {_unmask_words(reached, target)}"
                hits.append(_hit(target, HitMethod.UNMASKING, score=1.0, matched=designer.name, reason=reason))
        return _ordered(hits)

    def screen_lines(self, *, lines: Iterable[tuple[K, str, str | None]]) -> Iterator[tuple[K, list[Hit]]]:
        """Screen `(key, description, hs_code)` lines in turn; a description seen before is not analysed again."""
        for key, description, hs_code in lines:
            yield key, self.screen_line(description=description or "", hs_code=hs_code)

    def _accepted(self, candidates: Sequence[_Candidate], line_code: str | None) -> list[_Candidate]:
        """The name candidates that hold for this line: cutoffs, ambiguous abbreviations, longest name wins."""
        kept = []
        for candidate in candidates:
            pattern = candidate.pattern
            if pattern.substance is not None:
                if candidate.score < 100 and not self._fuzzy_holds(candidate, line_code):
                    continue
                chapters = pattern.ambiguous[1] if pattern.ambiguous else None
                if chapters and line_code and not line_code.startswith(chapters):
                    continue  # PPA on a line of plastics is polyphthalamide
            kept.append(candidate)
        exact = [c for c in kept if c.score >= 100]
        # a misspelling is no better explanation of words that spell another name exactly ("men's ethyl ..." is not
        # a misspelt "methyl ..."), and a name inside a longer one (exact, or as close) is part of that one
        kept = [c for c in kept if c.score >= 100 or not any(_other(e, c) and _covers(c, e) for e in exact)]
        whole = [c for c in kept if not any(_other(o, c) and c.inside(o) and o.score >= c.score for o in kept)]
        best: dict[int, _Candidate] = {}
        for candidate in whole:
            index = candidate.pattern.substance
            if index is None:
                continue
            if index not in best or _better(candidate, best[index]):
                best[index] = candidate
        return list(best.values())

    def _fuzzy_holds(self, candidate: _Candidate, line_code: str | None) -> bool:
        pattern = candidate.pattern
        if candidate.score >= self.fuzzy_cutoff and candidate.edits <= pattern.cap:
            return True
        substance = self.substances[pattern.substance]  # type: ignore[index]
        cn = _cn_match(substance, line_code)
        return cn is not None and cn[2] and candidate.score >= self.corroborated_cutoff

    def _name_hit(self, substance: ScreenSubstance, candidate: _Candidate) -> Hit:
        pattern = candidate.pattern
        score = 1.0 if candidate.score >= 100 else candidate.score / 100
        if candidate.score >= 100:
            reason = (
                f"'{candidate.matched}' ({pattern.what(candidate.matched)}) in the description is {substance.display}"
            )
        else:
            what = pattern.what(candidate.matched)
            reason = (
                f"'{candidate.matched}' matches '{pattern.text}' ({what}) of {substance.display}, "
                f"{candidate.score:.0f} %"
            )
            if candidate.score < self.fuzzy_cutoff or candidate.edits > pattern.cap:
                reason += f", accepted below the usual {self.fuzzy_cutoff:.0f} % because the line's CN code is its own"
        reason += f"; {substance.status}"
        if pattern.ambiguous:
            score = min(score, AMBIGUOUS_SCORE)
            reason += f"; '{pattern.text}' is also used for {pattern.ambiguous[0]}: check the full name"
        return _hit(substance, HitMethod.NAME, score=score, matched=candidate.matched, reason=reason)

    def _cn_hit(self, substance: ScreenSubstance, candidate: _Candidate, line_code: str, code: str, ex: bool) -> Hit:
        line = _format_cn(line_code[:8])
        kind = "CN" if len(line_code) >= 8 else "HS"
        if ex:
            of = f"an ex code of {substance.display} (it covers other goods too, so the name decides)"
        else:
            of = f"the code of {substance.display}"
        where = (
            f"{kind} {line} of the line is {of}"
            if line_code[:8] == code
            else (f"{kind} {line} of the line falls under {'ex ' if ex else ''}{_format_cn(code)}, {of}")
        )
        reason = f"{where}, and the description names it ('{candidate.matched}'); {substance.status}"
        matched = f"{kind} {line} + '{candidate.matched}'"
        return _hit(substance, HitMethod.IDENTIFIER, score=1.0, matched=matched, reason=reason)

    # ------------------------------------------------------------------------------------------- structures

    def screen_structure(self, *, smiles: str) -> list[Hit]:
        """The hits on one structure: the registry entry it is, what it unmasks to, what it resembles."""
        try:
            mol = parse_smiles(smiles)
            structure = Structure.from_mol(mol)
        except InvalidInput as exc:
            raise InvalidInput(f"the structure cannot be screened: {exc.detail}", field="smiles") from exc
        result = self._unmasker.unmask(mol)  # the molecule is copied, not changed
        hits: list[Hit] = []
        identified: set[str] = set()
        for index in self._by_inchikey.get(structure.inchikey, ()):
            substance = self.substances[index]
            reason = f"the structure is {substance.display} (InChIKey {structure.inchikey}), {substance.status}"
            hits.append(_hit(substance, HitMethod.IDENTIFIER, score=1.0, matched=structure.smiles, reason=reason))
            identified.add(substance.id)
        if not identified and result.query != structure.smiles:
            main = Structure.from_smiles(result.query)
            for index in self._by_inchikey.get(main.inchikey, ()):
                substance = self.substances[index]
                reason = (
                    f"the structure's main component ({main.smiles}, salt or solvent left out) is "
                    f"{substance.display}, {substance.status}"
                )
                hits.append(_hit(substance, HitMethod.IDENTIFIER, score=1.0, matched=structure.smiles, reason=reason))
                identified.add(substance.id)
        for reached in result.hits:
            target = self._by_id[reached.target.key]
            if target.id in identified:
                continue
            reason = f"the structure {_unmask_words(reached, target)}"
            hits.append(_hit(target, HitMethod.UNMASKING, score=1.0, matched=structure.smiles, reason=reason))
        for key, score in self._index.nearest(mol, top=self.similarity_top, threshold=self.similarity_cutoff):
            if key in identified:
                continue
            substance = self._by_id[key]
            reason = (
                f"Morgan similarity {score:.2f} to {substance.short} ({substance.name}, {substance.status}) "
                "(weaker signal: look-alike flavourings score as high)"
            )
            hits.append(_hit(substance, HitMethod.SIMILARITY, score=score, matched=structure.smiles, reason=reason))
        return _ordered(hits)


# ---------------------------------------------------------------------------------------------------- helpers


def _other(one: _Candidate, two: _Candidate) -> bool:
    return one.pattern.substance != two.pattern.substance


def _covers(outer: _Candidate, inner: _Candidate) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _better(candidate: _Candidate, other: _Candidate) -> bool:
    """A higher score wins; of two exact names, the longer (it says more of what the line says)."""
    return (candidate.score, candidate.end - candidate.start) > (other.score, other.end - other.start)


def _line_code(hs_code: str | None) -> str | None:
    if hs_code is None:
        return None
    digits = re.sub(r"[\s.]", "", str(hs_code))
    if not digits:
        return None
    if not digits.isdigit() or not 4 <= len(digits) <= 10:
        raise InvalidInput(f"an HS or CN code has 4 to 10 digits, not {str(hs_code)[:20]!r}", field="hs_code")
    return digits


def _cn_match(substance: ScreenSubstance, line_code: str | None) -> tuple[str, bool, bool] | None:
    """The substance's CN code that the line's code falls under: (code, is ex, corroborates a name on its own)."""
    if not line_code or len(line_code) < 6:
        return None
    line = line_code[:8]
    for code in substance.cn_codes:
        if len(code) < 6:
            continue
        if line.startswith(code) or code.startswith(line):
            ex = code in substance.ex_cn_codes
            return code, ex, not ex and line.startswith(code)
    return None


def _unmask_words(reached: UnmaskHit, target: ScreenSubstance) -> str:
    what = f"{target.short} ({target.name}, {target.status})" if target.short != target.name else target.display
    if target.short == target.name:
        what = f"{target.name} ({target.status})"
    if not reached.steps and reached.match == "exact":
        return f"is {what} once salt or solvent is left out"
    if not reached.steps:
        return f"has the skeleton of {what} (stereo differs or is unspecified)"
    stereo = "; same skeleton, stereo differs or is unspecified" if reached.match == "skeleton" else ""
    steps = len(reached.steps)
    path = ", then ".join(reached.reaction_names)
    return f"unmasks to {what} by {path} ({steps} step{'s' if steps > 1 else ''}){stereo}"
