"""Structures, CAS numbers, drawings and fingerprints: RDKit's answers, and clear refusals of bad input."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.core.errors import InvalidInput
from portguard.substances.chemistry import (
    SimilarityIndex,
    Structure,
    draw_svg,
    morgan_fingerprint,
    parse_smiles,
    tanimoto,
    valid_cas,
)


def test_structure_is_canonical_whatever_the_spelling() -> None:
    one = Structure.from_smiles("CC(=O)Cc1ccccc1")
    other = Structure.from_smiles("c1ccccc1CC(C)=O")
    kekule = Structure.from_smiles("CC(=O)CC1=CC=CC=C1")
    assert one == other == kekule
    assert one.inchikey == "QCCDLTOVEPVEJK-UHFFFAOYSA-N"
    assert one.formula == "C9H10O"
    assert one.skeleton == "QCCDLTOVEPVEJK"
    assert one.to_mol().GetNumAtoms() == 10


def test_stereo_is_kept_in_the_identifiers() -> None:
    ephedrine = Structure.from_smiles("CN[C@@H](C)[C@H](O)c1ccccc1")
    pseudoephedrine = Structure.from_smiles("CN[C@@H](C)[C@@H](O)c1ccccc1")
    assert ephedrine.inchikey != pseudoephedrine.inchikey
    assert ephedrine.skeleton == pseudoephedrine.skeleton


@pytest.mark.parametrize(
    ("smiles", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("C1CC", "RDKit"),  # unclosed ring
        ("CC(C", "RDKit"),
        ("C(C)(C)(C)(C)C", "valence"),  # five bonds on carbon
        ("c1cccc1", "kekul"),  # five aromatic carbons
        ("CCO ethanol", "no spaces"),
        ("Xx", "RDKit"),
        ("C" * 5000, "at most"),
    ],
)
def test_unreadable_smiles_is_invalid_input_with_the_reason(smiles: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Structure.from_smiles(smiles)
    assert says.lower() in caught.value.detail.lower()
    assert caught.value.status == 422
    assert caught.value.extra["field"] == "smiles"


@given(st.text(alphabet="CNOScnos()[]=#123+-@H.lBr/\\%", max_size=40))
@settings(max_examples=300, deadline=None)
def test_parsing_any_text_gives_a_molecule_or_invalid_input(text: str) -> None:
    try:
        mol = parse_smiles(text)
    except InvalidInput:
        return
    assert mol.GetNumAtoms() > 0
    Structure.from_mol(mol)  # a molecule RDKit sanitised has identifiers


# ------------------------------------------------------------------------------------------------------ CAS


@pytest.mark.parametrize("cas", ["103-79-7", "4468-48-8", "2167189-50-4", "1369021-80-6", "7732-18-5", "64-17-5"])
def test_valid_cas_numbers(cas: str) -> None:
    assert valid_cas(cas) == cas
    assert valid_cas(f" {cas} ") == cas


@pytest.mark.parametrize("cas", ["1609-66-5", "103-79-8", "103-79", "0103-79-7", "abc-de-f", "", None, "1-23-4"])
def test_invalid_cas_numbers(cas: str | None) -> None:
    assert valid_cas(cas) is None  # 1609-66-5 is the norfentanyl CAS of one source: its check digit fails


def _check_digit(body: str) -> int:
    """The CAS rule written out: the digits from the right weighted 1, 2, 3, ..., summed, modulo 10."""
    return sum(weight * int(digit) for weight, digit in enumerate(reversed(body), start=1)) % 10


@given(st.integers(min_value=10, max_value=9_999_999), st.integers(min_value=0, max_value=99), st.data())
def test_cas_check_digit_rule(first: int, second: int, data: st.DataObject) -> None:
    check = _check_digit(f"{first}{second:02d}")
    cas = f"{first}-{second:02d}-{check}"
    assert valid_cas(cas) == cas
    wrong = data.draw(st.integers(min_value=0, max_value=9).filter(lambda digit: digit != check))
    assert valid_cas(f"{first}-{second:02d}-{wrong}") is None


@given(st.text(max_size=30))
def test_cas_validation_never_raises(text: str) -> None:
    result = valid_cas(text)
    assert result is None or _check_digit(result[:-2].replace("-", "")) == int(result[-1])


# -------------------------------------------------------------------------------------------------- drawings


def test_svg_drawing_is_plain_svg_without_scripts() -> None:
    svg = draw_svg("CC1(C)OC(=O)C(C(=O)Cc2ccc3c(c2)OCO3)C(=O)O1", width=320, height=240)
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    lowered = svg.lower()
    assert "<script" not in lowered and "<?xml" not in lowered and "href" not in lowered
    assert " onload=" not in lowered and "javascript:" not in lowered
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    assert root.tag.endswith("svg")
    assert "320px" in svg


@pytest.mark.parametrize("smiles", ["C |$<script>alert(1)</script>$|", "C|$<script>alert(1)</script>$|", "<svg>"])
def test_svg_drawing_refuses_text_that_is_not_a_plain_smiles(smiles: str) -> None:
    with pytest.raises(InvalidInput):
        draw_svg(smiles)


def test_svg_drawing_size_is_bounded() -> None:
    with pytest.raises(InvalidInput):
        draw_svg("CCO", width=100_000)


# ------------------------------------------------------------------------------------------------ similarity


def test_morgan_fingerprint_is_radius_2_with_2048_bits() -> None:
    fingerprint = morgan_fingerprint("CC(=O)Cc1ccccc1")
    assert fingerprint.GetNumBits() == 2048
    assert tanimoto("CC(=O)Cc1ccccc1", other="c1ccccc1CC(C)=O") == 1.0
    assert 0 < tanimoto("CC(=O)Cc1ccccc1", other="CC(=O)CCc1ccccc1") < 1


def test_similarity_index_ranks_the_registry() -> None:
    index = SimilarityIndex(
        [
            ("BMK", Structure.from_smiles("CC(=O)Cc1ccccc1")),
            ("PMK", Structure.from_smiles("CC(=O)Cc1ccc2c(c1)OCO2")),
            ("acetone", Structure.from_smiles("CC(C)=O")),
        ]
    )
    assert len(index) == 3
    scores = index.scores("CC(=O)Cc1ccccc1")
    assert scores[0] == 1.0 and scores[1] < 1.0
    nearest = index.nearest("CC(=O)Cc1ccc2c(c1)OCO2", top=2)
    assert [key for key, _ in nearest] == ["PMK", "BMK"]
    assert index.nearest("CC(=O)Cc1ccc2c(c1)OCO2", threshold=0.99) == [("PMK", 1.0)]
