"""Screening goods lines and structures: identifiers, multilingual names, unmasking, similarity, and what must not hit.

The screener is built from the shared list of scheduled precursors and the shipped synonyms (`data/synonyms.csv`);
designer forms beyond the list are added as unscheduled substances where a test needs them. The false-positive
cases are legal chemicals whose names come within a letter or a word of a precursor's.
"""

from __future__ import annotations

import csv
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.core.errors import InvalidInput
from portguard.substances import calibration, screening
from portguard.substances.calibration import BMK, FILE_DESIGNER_FORMS, LOOK_ALIKES, PMK
from portguard.substances.chemistry import Structure
from portguard.substances.models import HitMethod
from portguard.substances.registry import RegistryFile, SubstanceRecord
from portguard.substances.screening import Hit, Screener, ScreenSubstance, Synonym

ACETONE, TOLUENE, PIPERONAL, KMNO4 = "Acetone", "Toluene", "Piperonal", "Potassium permanganate"
AC2O, NPP, FOUR_AP, PIPERIDONE = (
    "Acetic anhydride",
    "N-Phenethyl-4-piperidone",
    "N-Phenylpiperidin-4-amine",
    ("Piperidin-4-one"),
)


@pytest.fixture(scope="session")
def screener(precursors: RegistryFile) -> Screener:
    """The shared list with the shipped synonyms."""
    return Screener(screening.substances_from_records(precursors.records))


@pytest.fixture(scope="session")
def with_designers(precursors: RegistryFile) -> Screener:
    """The shared list plus the designer forms beyond it (unscheduled, with structures) and two named ones."""
    extra = [
        ScreenSubstance(
            id=f"extra:{case.name}", name=case.name, structure=Structure.from_smiles(case.smiles), scheduled=False
        )
        for case in calibration.EXTRA_DESIGNER_FORMS
    ]
    extra += [
        ScreenSubstance(
            id="named:p2np",
            name="Phenyl-2-nitropropene",
            abbrev="P2NP",
            synonyms=("1-phenyl-2-nitropropene",),
            structure=Structure.from_smiles("CC(=Cc1ccccc1)[N+](=O)[O-]"),
            scheduled=False,
        ),
        ScreenSubstance(
            id="named:benzylpiperidone",
            name="N-Benzyl-4-piperidone",
            synonyms=("1-benzyl-4-piperidone",),
            structure=Structure.from_smiles("O=C1CCN(Cc2ccccc2)CC1"),
            scheduled=False,
        ),
    ]
    return Screener([*screening.substances_from_records(precursors.records), *extra])


def _line(screener: Screener, description: str, hs_code: str | None = None) -> list[Hit]:
    return screener.screen_line(description=description, hs_code=hs_code)


def _found(hits: list[Hit], method: HitMethod | None = None) -> set[str]:
    return {hit.substance_name for hit in hits if method is None or hit.method == method}


# ---------------------------------------------------------------------------------------------- the synonyms


def test_the_synonyms_name_entries_of_the_shared_list_in_known_languages(
    by_name: dict[str, SubstanceRecord],
) -> None:
    with screening.SYNONYMS_FILE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"name", "synonym", "language"}
    assert {row["name"] for row in rows} <= set(by_name)
    assert len({(row["name"], row["synonym"], row["language"]) for row in rows}) == len(rows)
    assert {row["language"] for row in rows} <= {*screening.LANGUAGES, "trade"}
    table = screening.load_synonyms()
    assert len(table) >= 40
    assert {"de", "fr", "nl", "es", "it", "pl"} <= {s.language for synonyms in table.values() for s in synonyms}
    owners: dict[str, set[str]] = {}
    for name, synonyms in table.items():
        for synonym in synonyms:
            owners.setdefault("".join(screening.fold(synonym.text).split()), set()).add(name)
    assert [spelling for spelling, names in owners.items() if len(names) > 1] == []  # one spelling, one substance


def test_a_substance_given_plain_synonyms_gets_their_language_and_computed_identifiers() -> None:
    substance = ScreenSubstance(
        id="s1",
        name=BMK,
        synonyms=("fenilacetona", "my own name"),
        structure=Structure.from_smiles("O=C(C)Cc1ccccc1"),
        inchikey="WRONG",
        cn_codes=("2914 31 00",),
        label="EU cat. 1, UN Table I",
    )
    assert substance.synonyms == (Synonym("fenilacetona", "es"), Synonym("my own name", ""))
    assert substance.inchikey == "QCCDLTOVEPVEJK-UHFFFAOYSA-N"
    assert substance.cn_codes == ("29143100",)
    assert substance.eu_category == "1"


# --------------------------------------------------------------------------------------------- identifiers


def test_every_cas_number_of_the_list_is_an_identifier_hit_with_its_reason(
    screener: Screener, precursors: RegistryFile
) -> None:
    for record in precursors.records:
        if not record.cas:
            continue
        hits = _line(screener, f"Organic chemical, CAS No. {record.cas}, 25 kg drums")
        hit = next(h for h in hits if h.substance_name == record.name)
        assert hit.method == HitMethod.IDENTIFIER and hit.strength == 1.0
        assert hit.reason == f"CAS {record.cas} in the description is {_display(record)}, {record.label}"
        assert hit.matched == record.cas
        assert hits[0] == hit


def _display(record: SubstanceRecord) -> str:
    return f"{record.name} ({record.abbrev})" if record.abbrev else record.name


@pytest.mark.parametrize(
    "description",
    [
        "CAS 103-79-8 organic chemical",  # BMK's number with the check digit wrong
        "CAS 1609-66-5",  # norfentanyl as one UN list prints it: the check digit fails
        "CAS 64-17-5 ethanol, denatured",  # a valid number that is no precursor
        "order 2024-05-1 batch 103-79-77",  # dates and longer numbers are no CAS numbers
    ],
)
def test_a_cas_number_failing_its_check_digit_or_unknown_is_no_hit(screener: Screener, description: str) -> None:
    assert _line(screener, description) == []


def test_every_inchikey_of_the_list_is_an_identifier_hit(screener: Screener, precursors: RegistryFile) -> None:
    for record in precursors.records:
        if not record.inchikey:
            continue
        for written in (record.inchikey, record.inchikey.lower()):
            hits = _line(screener, f"sample, InChIKey={written}")
            hit = next(h for h in hits if h.substance_name == record.name)
            assert hit.method == HitMethod.IDENTIFIER
            assert hit.reason.startswith(f"InChIKey {record.inchikey} in the description is {record.name}")


def test_a_cn_code_alone_is_no_hit(screener: Screener, precursors: RegistryFile) -> None:
    for record in precursors.records:
        for code in record.cn_codes:
            line = code.digits.ljust(8, "0")
            assert _line(screener, "Organic chemicals, 25 kg fibre drums", line) == [], (record.name, line)
            assert _line(screener, "Organic chemicals", line + "00") == []


def test_a_cn_code_with_the_name_is_an_identifier_hit(screener: Screener) -> None:
    hits = _line(screener, "phenylacetone 99%", "29143100")
    assert [(h.method, h.substance_name) for h in hits] == [(HitMethod.IDENTIFIER, BMK), (HitMethod.NAME, BMK)]
    assert hits[0].reason.startswith("CN 2914 31 00 of the line is the code of 1-Phenyl-2-propanone (BMK/P-2-P)")
    assert "names it ('phenylacetone')" in hits[0].reason
    assert hits[0].matched == "CN 2914 31 00 + 'phenylacetone'"

    ex = _line(screener, "4-Piperidone hydrochloride monohydrate", "2933399990")  # TARIC: ten digits
    assert ex[0].method == HitMethod.IDENTIFIER and ex[0].substance_name == PIPERIDONE
    assert "an ex code of Piperidin-4-one" in ex[0].reason and "the name decides" in ex[0].reason

    hs6 = _line(screener, "Phenylaceton", "291431")  # an HS6 line falls under the CN code
    assert hs6[0].method == HitMethod.IDENTIFIER and hs6[0].reason.startswith("HS 2914 31 of the line falls under")

    other = _line(screener, "phenylacetone", "29329300")  # the name under another code: a name hit only
    assert [h.method for h in other] == [HitMethod.NAME]


def test_the_lines_own_cn_code_admits_a_misspelling_a_little_further_off(screener: Screener) -> None:
    assert _line(screener, "PIPERONLA 25 KG") == []  # 89 %: below the cutoff alone
    hits = _line(screener, "PIPERONLA 25 KG", "29329300")  # piperonal's own code
    assert [(h.method, h.substance_name) for h in hits] == [
        (HitMethod.IDENTIFIER, PIPERONAL),
        (HitMethod.NAME, PIPERONAL),
    ]
    assert "accepted below the usual 90 %" in hits[1].reason
    assert _line(screener, "PIPERONLA 25 KG", "29329900") == []  # a neighbouring code does not corroborate


def test_bad_input_is_refused_with_a_clear_message(screener: Screener) -> None:
    with pytest.raises(InvalidInput, match="4 to 10 digits"):
        _line(screener, "phenylacetone", "29x4")
    with pytest.raises(InvalidInput, match="must be text"):
        screener.screen_line(description=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cannot be screened: not a SMILES RDKit can read"):
        screener.screen_structure(smiles="C1CC(")
    with pytest.raises(InvalidInput, match="cannot be screened"):
        screener.screen_structure(smiles="")
    assert _line(screener, "   ") == []


# --------------------------------------------------------------------------------------------------- names


def test_every_shipped_synonym_hits_its_substance_with_its_language(screener: Screener) -> None:
    for name, synonyms in screening.load_synonyms().items():
        for synonym in synonyms:
            hits = _line(screener, f"{synonym.text}, 200 kg drums")
            named = [h for h in hits if h.method == HitMethod.NAME]
            assert named and named[0].substance_name == name, (synonym, hits)
            language = screening.LANGUAGES.get(synonym.language, "trade")
            assert language in named[0].reason or "registry name" in named[0].reason, named[0].reason
            assert named[0].matched == synonym.text


def test_every_name_and_abbreviation_of_the_list_hits(screener: Screener, precursors: RegistryFile) -> None:
    for record in precursors.records:
        for text in (record.name, *record.abbrev.split("/")):
            if not text:
                continue
            hits = _line(screener, f"{text} (sample)")
            assert record.name in _found(hits, HitMethod.NAME), (text, hits)


@pytest.mark.parametrize(
    ("description", "substance"),
    [
        ("25 drums FENILACETONNA 99%", BMK),  # a letter doubled
        ("phenylacetnoe", BMK),  # two letters swapped
        ("benzylmethyl ketone", BMK),  # words run together
        ("Kaliumpermanganatt technisch", KMNO4),
        ("Kalium permanganat", KMNO4),  # a word split
        ("Essigsaeureanhydrid", AC2O),  # ä written ae
        ("acetic anhydryde", AC2O),
        ("ANHIDRIDO ACETICO", AC2O),  # accents dropped
        ("N-phenethyl-4-piperidon hydrochloride", NPP),
        ("Phenylessigsaeure", "Phenylacetic acid"),
        ("pseudoefedrin HCl", "Pseudoephedrine"),
        ("alpha-phenylacetoacetonitrille", "alpha-Phenylacetoacetonitrile"),
        ("roten Phosphor", "Red phosphorus"),  # inflected
        ("Norfentanil", "N-Phenyl-N-(piperidin-4-yl)propanamide"),
        ("Safrol-reiches Öl", "Safrole"),  # a safrole-rich oil
    ],
)
def test_misspellings_within_the_cutoff_hit(screener: Screener, description: str, substance: str) -> None:
    hits = _line(screener, description)
    assert substance in _found(hits, HitMethod.NAME), hits
    hit = next(h for h in hits if h.substance_name == substance)
    assert 0.9 * 0.9 <= hit.strength <= 0.9


@pytest.mark.parametrize(
    "description",
    [
        "ethyl acetate 99.9 %",
        "ethyl phenylacetate, flavouring (honey note)",
        "methyl phenylacetate",
        "safflower oil, refined",
        "piperonyl butoxide technical 95%",
        "piperonyl acetate",
        "piperonyl acetone (heliotropyl acetone)",
        "benzyl acetone",
        "toluidine",
        "o-toluidine",
        "nitrotoluene",
        "toluene diisocyanate (TDI)",
        "toluene-2,4-diisocyanate",
        "acetone cyanohydrin",
        "isopropanol / propan-2-ol / 2-propanol",
        "butanol, 2-butanol",
        "dimethyl ether (DME) aerosol propellant",
        "dimethylether",
        "ethylene glycol diethyl ether",
        "methyl ethyl ketone peroxide (MEKP)",
        "ethylbenzene",
        "dimethylbenzene (xylene)",
        "2,2,6,6-tetramethyl-4-piperidone",
        "piperidine-4-carboxylic acid",
        "4-aminobenzoic acid (PABA)",
        "p-aminobenzoic acid",
        "sulphurous acid / kwas siarkawy / zwavelig zuur",
        "heliotrope fragrance",
        "benzyl cyanide (phenylacetonitrile)",
        "sodium chloride, sulphate and phosphate",
        "ACETONE FREE NAIL POLISH REMOVER",
        "toluene-free contact adhesive",
        "acetyl acetone",
        "isopropyl toluene (p-cymene)",
        "N-methyl piperidine",
        "petroleum ether 40-60",
        "vinyl ethyl ether",
    ],
)
def test_legal_chemicals_with_names_near_a_precursors_are_no_hits(screener: Screener, description: str) -> None:
    assert _line(screener, description) == []


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("acetone", {ACETONE}),
        ("phenylacetone", {BMK}),
        ("phenyl acetone", {BMK}),  # the longer name wins over acetone inside it
        ("N-phenethyl-4-piperidone", {NPP}),  # not 4-piperidone
        ("1-boc-4-AP", {"tert-Butyl 4-(phenylamino)piperidine-1-carboxylate"}),  # not 4-AP
        ("pseudo-efedrine", {"Pseudoephedrine"}),  # not efedrine
        ("BMK glycidate", {"Methyl 2-methyl-3-phenyloxirane-2-carboxylate"}),  # not BMK
        ("PMK methyl glycidate", {"Methyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate"}),
        ("toluene", {TOLUENE}),
        ("piperonal", {PIPERONAL}),
        ("safrole", {"Safrole"}),
        ("N-acetylanthranilic acid", {"N-Acetylanthranilic acid"}),  # not anthranilic acid
    ],
)
def test_the_longest_name_wins(screener: Screener, description: str, expected: set[str]) -> None:
    assert _found(_line(screener, description)) == expected


@pytest.mark.parametrize(
    "description", ["L-ephedrine hydrochloride", "(+)-pseudoephedrine HCl", "D-(-)-ephedrine sulphate", "ephedrine-HCl"]
)
def test_stereo_descriptors_and_salts_do_not_hide_a_name(screener: Screener, description: str) -> None:
    assert _found(_line(screener, description), HitMethod.NAME) & {"Ephedrine", "Pseudoephedrine"}


def test_short_abbreviations_count_only_as_whole_tokens(screener: Screener) -> None:
    assert _found(_line(screener, "BMK 25 kg")) == {BMK}
    assert _found(_line(screener, "pmk oil")) == {PMK}
    for description in ("BMKX", "ABMK", "B M K", "BNK", "PMKK", "GMK", "4-APX"):
        assert _line(screener, description) == [], description
    four_ap = _line(screener, "4-AP 10 kg")
    assert _found(four_ap) == {FOUR_AP} and four_ap[0].strength == pytest.approx(0.72)
    assert "4-aminopyridine" in four_ap[0].reason
    assert _found(_line(screener, "4AP")) == {FOUR_AP}


def test_ambiguous_abbreviations_need_a_chemical_line(screener: Screener) -> None:
    assert _line(screener, "PPA granules, glass fibre reinforced", "39089000") == []  # polyphthalamide
    assert _line(screener, "MAPA DE CARRETERAS", "49059100") == []  # a road map
    ppa = _line(screener, "PPA 99%", "29392000")
    assert _found(ppa) == {"Norephedrine"} and "polyphthalamide" in ppa[0].reason


def test_one_hit_per_substance_and_method_strongest_first(screener: Screener) -> None:
    description = "phenylacetone (fenilacetona, Phenylaceton) CAS 103-79-7; Kaliumpermanganatt; 4-AP"
    hits = _line(screener, description)
    keys = [(h.substance_name, h.method) for h in hits]
    assert len(keys) == len(set(keys))
    assert keys[:2] == [(BMK, HitMethod.IDENTIFIER), (BMK, HitMethod.NAME)]
    assert {name for name, _ in keys} == {BMK, KMNO4, FOUR_AP}
    assert [h.strength for h in hits] == sorted((h.strength for h in hits), reverse=True)
    assert all(0 < h.strength <= 1 and len(h.matched) <= 300 and h.reason for h in hits)


def test_a_named_unscheduled_designer_form_is_a_hit_for_its_parent_by_unmasking(with_designers: Screener) -> None:
    hits = _line(with_designers, "1-Phenyl-2-nitropropene, yellow crystals, 500 kg")
    assert [(h.method, h.substance_name) for h in hits] == [
        (HitMethod.NAME, "Phenyl-2-nitropropene"),
        (HitMethod.UNMASKING, BMK),
    ]
    assert "not scheduled, a designer precursor of 1-Phenyl-2-propanone" in hits[0].reason
    assert hits[1].strength == 0.8
    assert "unmasks to BMK (1-Phenyl-2-propanone, EU cat. 1, UN Table I) by nitroalkene" in hits[1].reason
    benzyl = _line(with_designers, "1-benzyl-4-piperidone")
    assert (HitMethod.UNMASKING, PIPERIDONE) in {(h.method, h.substance_name) for h in benzyl}
    assert "by N-debenzylation (1 step)" in benzyl[-1].reason
    assert _line(with_designers, "2,2,6,6-tetramethyl-4-piperidone") == []
    parent = next(s for s in with_designers.substances if s.id == "named:p2np")
    assert (parent.parent_id, parent.parent_name) == (BMK, BMK)


def test_a_batch_gives_what_single_lines_give_and_reads_a_repeated_description_once(precursors: RegistryFile) -> None:
    screener = Screener(screening.substances_from_records(precursors.records))
    lines = [
        (("d1", 1), "Acetone, technical grade", "29141100"),
        (("d1", 2), "Fresh bananas", "08039010"),
        (("d2", 1), "Acetone, technical grade", "29141100"),
        (("d3", 1), "Acetone, technical grade", None),
    ]
    out = list(screener.screen_lines(lines=lines))
    assert [key for key, _ in out] == [key for key, _, _ in lines]
    for (_, description, hs_code), (_, hits) in zip(lines, out, strict=True):
        assert hits == screener.screen_line(description=description, hs_code=hs_code)
    assert [h.method for h in out[0][1]] == [HitMethod.IDENTIFIER, HitMethod.NAME]
    assert [h.method for h in out[3][1]] == [HitMethod.NAME]
    assert out[1][1] == []
    assert screener._analyse.cache_info().misses == 2  # two distinct descriptions


# ---------------------------------------------------------------------------------------------- structures


@pytest.mark.parametrize(("designer", "parent"), sorted(FILE_DESIGNER_FORMS.items()))
def test_every_designer_form_of_the_list_is_itself_and_unmasks_to_its_parent(
    designer: str, parent: str, screener: Screener, by_name: dict[str, SubstanceRecord]
) -> None:
    hits = screener.screen_structure(smiles=by_name[designer].smiles)
    assert (hits[0].method, hits[0].substance_name) == (HitMethod.IDENTIFIER, designer)
    assert hits[0].reason.startswith(f"the structure is {designer}")
    unmasked = next(h for h in hits if h.substance_name == parent and h.method == HitMethod.UNMASKING)
    assert unmasked.strength == 0.8
    assert "the structure unmasks to" in unmasked.reason and " step" in unmasked.reason


def test_the_reason_names_the_reactions(screener: Screener, by_name: dict[str, SubstanceRecord]) -> None:
    hits = screener.screen_structure(smiles=by_name["Methyl alpha-phenylacetoacetate"].smiles)
    bmk = next(h for h in hits if h.substance_name == BMK)
    assert bmk.reason == (
        "the structure unmasks to BMK (1-Phenyl-2-propanone, EU cat. 1, UN Table I) by ester hydrolysis, "
        "then beta-keto acid decarboxylation (2 steps)"
    )


@pytest.mark.parametrize("case", calibration.EXTRA_DESIGNER_FORMS, ids=lambda case: case.name)
def test_designer_forms_beyond_the_list_unmask_to_their_parent(screener: Screener, case: calibration.Case) -> None:
    hits = screener.screen_structure(smiles=case.smiles)
    assert case.parent in _found(hits, HitMethod.UNMASKING), hits
    identified = [h for h in hits if h.method == HitMethod.IDENTIFIER]  # only a salt of a listed acid is listed
    assert all("main component" in h.reason for h in identified)


def test_a_salt_is_identified_by_its_main_component(screener: Screener) -> None:
    hits = screener.screen_structure(smiles="[Na+].CC1(C(=O)[O-])OC1c1ccccc1")
    assert (hits[0].method, hits[0].substance_name) == (
        HitMethod.IDENTIFIER,
        "2-Methyl-3-phenyloxirane-2-carboxylic acid",
    )
    assert "main component" in hits[0].reason
    assert BMK in _found(hits, HitMethod.UNMASKING)


@pytest.mark.parametrize("case", LOOK_ALIKES, ids=lambda case: case.name)
def test_no_look_alike_is_flagged_by_unmasking(screener: Screener, case: calibration.Case) -> None:
    hits = screener.screen_structure(smiles=case.smiles)
    assert not [h for h in hits if h.method in (HitMethod.UNMASKING, HitMethod.IDENTIFIER)], hits


def test_similarity_is_weaker_than_unmasking(screener: Screener, by_name: dict[str, SubstanceRecord]) -> None:
    queries = [by_name[name].smiles for name in FILE_DESIGNER_FORMS]
    queries += [case.smiles for case in (*calibration.EXTRA_DESIGNER_FORMS, *LOOK_ALIKES)]
    seen_similarity = False
    for smiles in queries:
        hits = screener.screen_structure(smiles=smiles)
        assert [h.strength for h in hits] == sorted((h.strength for h in hits), reverse=True)
        similar = [h for h in hits if h.method == HitMethod.SIMILARITY]
        unmasked = [h for h in hits if h.method == HitMethod.UNMASKING]
        seen_similarity |= bool(similar)
        assert all(h.strength <= 0.5 and "weaker signal" in h.reason for h in similar)
        assert all(s.strength < u.strength for s in similar for u in unmasked)
    assert seen_similarity
    helional = screener.screen_structure(smiles="CC(Cc1ccc2c(c1)OCO2)C=O")  # a look-alike is at most "similar"
    assert {h.method for h in helional} <= {HitMethod.SIMILARITY}


def test_unspecified_stereo_reaches_both_stereoisomers_by_skeleton(screener: Screener) -> None:
    hits = screener.screen_structure(smiles="CNC(C)C(O)c1ccccc1")
    skeleton = [h for h in hits if h.method == HitMethod.UNMASKING]
    assert {h.substance_name for h in skeleton} == {"Ephedrine", "Pseudoephedrine"}
    assert all("skeleton" in h.reason for h in skeleton)


# ---------------------------------------------------------------------------------------------- properties

GOODS_WORDS = (
    "fresh", "bananas", "cavendish", "pineapples", "green", "coffee", "beans", "arabica", "cocoa", "cotton", "yarn",
    "t-shirts", "knitted", "men's", "trousers", "denim", "furniture", "wooden", "tables", "chairs", "toys", "plastic",
    "tyres", "radial", "solar", "modules", "photovoltaic", "pumps", "centrifugal", "impellers", "machinery",
    "packaging", "line", "spare", "parts", "steel", "pipes", "stainless", "cartons", "pallets", "boxes", "bags",
    "drums", "crates", "kg", "net", "gross", "organic", "industrial", "frozen", "shrimps", "rice", "sugar", "flour",
    "ceramic", "tiles", "glass", "bottles", "paper", "labels", "printed", "electric", "motors", "cables", "copper",
    "aluminium", "sheets", "footwear", "rubber", "soles", "sandals", "leather", "handbags", "lamps", "LED", "bulbs",
)  # fmt: skip
GOODS_PHRASES = (
    "ethyl acetate", "methyl phenylacetate", "ethyl phenylacetate", "safflower oil", "piperonyl butoxide",
    "citric acid", "sodium chloride", "polyethylene granules", "PVC resin", "vanillin", "benzyl acetate",
    "phenethyl alcohol", "acetophenone", "isopropanol", "dimethyl ether", "toluidine", "xylene", "ethylbenzene",
    "heliotrope fragrance", "glycerine", "titanium dioxide", "calcium carbonate", "HS 3901", "25 kg", "1,000 pcs",
)  # fmt: skip
PRECURSOR_CODES = ("29143100", "2933399990", "29329300", "29153900", "28416100", "291431", "08039010", None)
ACCENTS = {"a": "áàâäã", "e": "éèêë", "i": "íìîï", "o": "óòôöõ", "u": "úùûü", "c": "ç", "n": "ñ"}
WHITESPACE = (" ", "  ", "\t", " \n ", "\u00a0")


def _strip(char: str) -> str:
    return unicodedata.normalize("NFD", char)[0]


@st.composite
def variants(draw: st.DrawFn, text: str) -> str:
    """`text` with random case, accents added or dropped, and random runs of whitespace between its words."""
    out = []
    for char in text:
        if char == " ":
            out.append(draw(st.sampled_from(WHITESPACE)))
            continue
        base = _strip(char).lower() if char.isalpha() else char
        choice = draw(st.sampled_from(("keep", "strip", "accent")))
        if choice == "strip":
            char = _strip(char)
        elif choice == "accent" and base in ACCENTS:
            char = draw(st.sampled_from(ACCENTS[base]))
        out.append(draw(st.sampled_from((char.lower(), char.upper()))) if char.isalpha() else char)
    return "".join(out)


def _words() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(GOODS_WORDS), max_size=4).map(" ".join)


SHIPPED = [(name, synonym.text) for name, synonyms in screening.load_synonyms().items() for synonym in synonyms]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_case_accent_or_spacing_of_a_synonym_among_goods_words_still_hits(
    screener: Screener, data: st.DataObject
) -> None:
    name, synonym = data.draw(st.sampled_from(SHIPPED))
    written = data.draw(variants(synonym))
    before, after = data.draw(_words()), data.draw(_words())
    sep = data.draw(st.sampled_from((" ", ", ", "; ", " / ", ": ")))
    description = sep.join(part for part in (before, written, after) if part)
    hits = screener.screen_line(description=description)
    assert name in _found(hits, HitMethod.NAME), (description, hits)


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(st.one_of(st.sampled_from(GOODS_WORDS), st.sampled_from(GOODS_PHRASES)), min_size=1, max_size=12),
    numbers=st.lists(st.integers(min_value=1, max_value=99999), max_size=3),
    separators=st.lists(st.sampled_from((" ", ", ", "; ", "/", " - ", "  ")), min_size=1, max_size=4),
    hs_code=st.sampled_from(PRECURSOR_CODES),
    upper=st.booleans(),
)
def test_ordinary_goods_text_never_hits(
    screener: Screener, parts: list[str], numbers: list[int], separators: list[str], hs_code: str | None, upper: bool
) -> None:
    words = [*parts, *(str(n) for n in numbers)]
    description = "".join(word + separators[i % len(separators)] for i, word in enumerate(words)).strip()
    description = description.upper() if upper else description
    assert screener.screen_line(description=description, hs_code=hs_code) == [], description
