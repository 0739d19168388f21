"""Normalisation of party names for entity resolution.

Why it exists: one company is written many ways across declarations ("Fruit Imp. Turia S.L.", "FRUIT IMPORT
TURIA SL", "Fruit Import Turia Sociedad Limitada"), and string distances on the raw text score those variants as
far apart while scoring two distinct front companies ("Noordzee Fresh B.V.", "Noordzee Fruit B.V.") as close. The
matcher therefore compares a *key* in which the noise is gone and the distinguishing words are left: transliterated
to ASCII (`normality`), tokenised and case-folded (`rigour`), legal form taken out and canonicalised (`rigour`'s
org-type database, ISO 20275 based, with a few forms it misses added here), common business abbreviations expanded
and connectors ("&", "and", "und", "en") dropped. The legal form is kept apart (`legal_form`) so the matcher can
weigh it on its own: it is weak evidence, and a missing form is not a disagreement.

Nothing here decides that two names match; `portguard.network.resolve` does, with Splink.
"""

from __future__ import annotations

import re
from functools import lru_cache

import normality
from rigour.names import extract_org_types, remove_org_types
from rigour.text.normalize import Normalize, normalize

__all__ = ["expand_abbreviations", "fold", "legal_form", "name_tokens", "normalise_name", "strip_legal_form"]

# the flags rigour's org-type table is built with must be the flags the input is normalised with
_FLAGS = Normalize.CASEFOLD | Normalize.NAME

# dotted or spaced acronyms: "s.a.c." / "s. a." / "b.v" -> "sac" / "sa" / "bv" (before punctuation is dropped)
_ACRONYM = re.compile(r"(?<![a-z0-9])[a-z](?:\.(?:\s(?=[a-z]\.))?[a-z](?![a-z0-9]))+\.?")

# legal forms that rigour's table (2.6) does not recognise once folded, or splits wrongly; checked against its
# output for the forms used in European, Latin American and Asian trade ("s.a r.l." folds to "sa rl", ...).
# Longest phrase first; the value is the compare form.
_EXTRA_FORMS: tuple[tuple[str, str], ...] = (
    ("private limited", "pvtltd"),
    ("pvt ltd", "pvtltd"),
    ("p ltd", "pvtltd"),
    ("company limited", "coltd"),
    ("compania limitada", "coltd"),
    ("sociedad limitada", "sl"),
    ("spolka z oo", "spzoo"),
    ("anonim sirketi", "as"),
    ("limited sirketi", "ltdsti"),
    ("ltd sti", "ltdsti"),
    ("gmbh cokg", "gmbhcokg"),
    ("sa rl", "sarl"),
    ("sa c", "sac"),
    ("sa s", "sas"),
    ("sr l", "srl"),
    ("sac", "sac"),
    ("sl", "sl"),
)
_EXTRA_RE = re.compile(r"(?<!\S)(" + "|".join(re.escape(p) for p, _ in _EXTRA_FORMS) + r")(?!\S)")
_EXTRA_MAP = dict(_EXTRA_FORMS)

# business abbreviations seen on trade documents -> the word; singular/plural pairs that one abbreviation stands
# for ("Chem." = Chemical or Chemicals) collapse to one word so that both spellings meet.
ABBREVIATIONS: dict[str, str] = {
    "intl": "international",
    "int": "international",
    "internacional": "international",
    "imp": "import",
    "exp": "export",
    "impex": "import export",
    "trdg": "trading",
    "co": "company",
    "cia": "company",
    "compania": "company",
    "log": "logistics",
    "chem": "chemical",
    "chemicals": "chemical",
    "tech": "technology",
    "ind": "industrial",
    "inds": "industries",
    "ci": "comercializadora international",
    "comercializadora": "comercializadora",
    "handelsges": "handelsgesellschaft",
    "engg": "engineering",
    "eng": "engineering",
    "equip": "equipment",
    "garm": "garments",
    "tex": "textiles",
    "agr": "agricola",
    "ste": "societe",
    "pharma": "pharmaceutical",
    "mach": "machinery",
    "fwdg": "forwarding",
    "svcs": "services",
    "svc": "services",
    "distr": "distribution",
    "dist": "distribution",
    "mfg": "manufacturing",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "mgmt": "management",
    "natl": "national",
    "bros": "brothers",
    "hnos": "hermanos",  # Spanish: "Rodriguez Hnos." = Rodriguez Hermanos (brothers)
    "assoc": "associates",
    "dept": "department",
}
# connectors that writers add or drop freely ("Import & Export", "Import and Export", "Import en Export")
CONNECTORS = frozenset({"and", "en", "und", "et", "y", "e", "of", "the"})


@lru_cache(maxsize=65536)
def fold(text: str | None) -> str:
    """ASCII, case-folded, punctuation-free, single-spaced text: the common ground of every comparison.

    Dotted acronyms are joined first ("B.V." -> "bv", "S. A." -> "sa") because dropping the dots alone would leave
    single letters ("b v") that no legal-form table or string distance handles well."""
    if not text:
        return ""
    ascii_text = (normality.ascii_text(text) or "").casefold()
    ascii_text = _ACRONYM.sub(lambda m: re.sub(r"[^a-z]", "", m.group()) + " ", ascii_text)
    return normalize(ascii_text, _FLAGS) or ""


def _extra_forms(folded: str) -> list[str]:
    return [_EXTRA_MAP[m.group(1)] for m in _EXTRA_RE.finditer(folded)]


@lru_cache(maxsize=65536)
def legal_form(name: str | None) -> str | None:
    """The canonical compare form of the name's legal form ("bv", "gmbh", "coltd", "spzoo"), or None.

    "B.V.", "BV" and "Besloten Vennootschap" all give "bv", so the matcher can treat the form as one field that
    agrees, disagrees (B.V. against N.V.) or is missing (a writer dropped it), instead of noise inside the name."""
    folded = fold(name)
    if not folded:
        return None
    forms = _extra_forms(folded)
    rest = _EXTRA_RE.sub(" ", folded)
    forms += [target for _match, target in extract_org_types(rest, normalize_flags=_FLAGS)]
    return " ".join(dict.fromkeys(forms)) or None


def strip_legal_form(folded: str) -> str:
    """`folded` (output of `fold`) without its legal-form designations; unchanged if nothing else would remain."""
    rest = _EXTRA_RE.sub(" ", folded)
    rest = " ".join(remove_org_types(rest, replacement=" ", normalize_flags=_FLAGS).split())
    return rest or folded


def expand_abbreviations(tokens: list[str]) -> list[str]:
    """Abbreviations written out and connectors dropped, so that "Imp. & Exp." and "Import Export" meet."""
    out: list[str] = []
    for token in tokens:
        if token in CONNECTORS:
            continue
        out.extend(ABBREVIATIONS.get(token, token).split())
    return out or tokens


@lru_cache(maxsize=65536)
def name_tokens(name: str | None) -> tuple[str, ...]:
    """The words that identify the party, in the order written: folded, legal form out, abbreviations expanded."""
    folded = fold(name)
    if not folded:
        return ()
    return tuple(expand_abbreviations(strip_legal_form(folded).split()))


def normalise_name(name: str | None, *, sort_tokens: bool = True) -> str:
    """The matching key of a party name ("" for a missing name).

    With `sort_tokens` (the default) the words are sorted, so that "Turia Fruit Import" and "Fruit Import Turia"
    give one key: word order carries little identity for company names and varies between writers. Keep the order
    (`sort_tokens=False`) for string distances, where a typo in the first letter would otherwise reorder the key.
    The key keeps every distinguishing word: "Noordzee Fresh B.V." and "Noordzee Fruit B.V." stay apart."""
    tokens = name_tokens(name)
    return " ".join(sorted(tokens) if sort_tokens else tokens)
