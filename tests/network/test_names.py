"""Party-name normalisation: the variants one company is written in meet, distinct companies stay apart."""

from hypothesis import given
from hypothesis import strategies as st

from portguard.network.names import fold, legal_form, normalise_name


def test_dutch_legal_form_variants_give_one_form_and_one_key() -> None:
    variants = [
        "Noordzee Fresh B.V.",
        "Noordzee Fresh BV",
        "NOORDZEE FRESH B.V",
        "Noordzee Fresh Besloten Vennootschap",
    ]
    assert {legal_form(v) for v in variants} == {"bv"}
    assert {normalise_name(v) for v in variants} == {normalise_name("Noordzee Fresh")}


def test_other_legal_forms_are_canonicalised() -> None:
    assert legal_form("Acme Co., Ltd.") == legal_form("Acme Company Limited") == "coltd"
    assert legal_form("Acme Sp. z o.o.") == legal_form("ACME SP Z OO") == "spzoo"
    assert legal_form("Acme GmbH & Co. KG") == legal_form("Acme GmbH und Co. KG") == "gmbhcokg"
    assert legal_form("Acme S.A.C.") == legal_form("Acme SAC") == "sac"
    assert legal_form("Acme Trading") is None


def test_accents_are_transliterated() -> None:
    assert normalise_name("Agrícola Ñandú Ltda.") == normalise_name("AGRICOLA NANDU LTDA")
    assert fold("Spółka Łódź") == "spolka lodz"


def test_word_order_is_canonical_when_sorting() -> None:
    assert normalise_name("Turia Fruit Import S.L.") == normalise_name("Fruit Import Turia SL")
    assert normalise_name("Turia Fruit Import", sort_tokens=False) == "turia fruit import"


def test_abbreviations_and_connectors() -> None:
    assert normalise_name("Intl. Trdg. Co") == normalise_name("International Trading Company")
    assert normalise_name("Imp. & Exp. Chem.") == normalise_name("Import and Export Chemicals")


def test_spanish_brothers_abbreviation_meets_the_word() -> None:
    assert normalise_name("RODRIGUEZ HNOS TRANSPORTES SA") == normalise_name("Transportes Rodríguez Hermanos S.A.")


def test_distinct_front_company_names_stay_distinct() -> None:
    assert normalise_name("Noordzee Fresh B.V.") != normalise_name("Noordzee Fruit B.V.")


def test_a_name_that_is_only_a_legal_form_keeps_it() -> None:
    assert normalise_name("AG") == "ag"
    assert normalise_name("") == ""
    assert normalise_name(None) == ""


@given(st.text(max_size=40))
def test_normalise_name_is_idempotent(name: str) -> None:
    once = normalise_name(name, sort_tokens=False)
    assert normalise_name(once, sort_tokens=False) == once
