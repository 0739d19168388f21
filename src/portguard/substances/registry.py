"""The substances registry as files: typed records of scheduled substances, read and written as CSV and SDF.

Why: the registry is seeded from the shared list of scheduled drug precursors (`precursors/scheduled_precursors.csv`
in the shared data folder: EU categories 1–4 of Regulations 273/2004 and 111/2005, UN 1988 Convention Tables I/II,
compiled with its sources in the folder's SOURCE.md, whose notices travel with the file), and partners exchange
substance lists as CSV (spreadsheets) and SDF (chemistry tools). Every structure is read through RDKit, so the
stored SMILES is canonical and the InChIKey and formula are computed, never trusted: where a file's own InChIKey,
formula or CAS check digit disagrees with what RDKit and the CAS rule give, the reader reports it as a `Problem`
(the computed value is kept). A row that cannot be read at all (no name, a SMILES RDKit refuses, an unknown
category) is an `InvalidInput` naming the file, row and field.

Database-free: the registry tables and their service come with the `substances` domain; these records are what
they store and what the screening reads (`unmasking_targets`, `similarity_index`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from portguard.core.errors import InvalidInput
from portguard.core.export import spreadsheet_safe
from portguard.substances.chemistry import SimilarityIndex, Structure, Target, valid_cas

PRECURSORS_FILE = Path("precursors") / "scheduled_precursors.csv"  # inside the shared data folder

EuCategory = Literal["1", "2A", "2B", "3", "4"]
UnTable = Literal["I", "II"]
EU_CATEGORIES: tuple[EuCategory, ...] = ("1", "2A", "2B", "3", "4")
UN_TABLES: tuple[UnTable, ...] = ("I", "II")

# The columns of the shared file, in its order; exports add `synonyms` after `abbrev`.
FILE_COLUMNS = (
    "name", "abbrev", "cas", "cas_checkdigit", "cn_code", "eu_category", "un_1988_table", "smiles", "inchikey",
    "formula", "added_by", "sources",
)  # fmt: skip
EXPORT_COLUMNS = (*FILE_COLUMNS[:2], "synonyms", *FILE_COLUMNS[2:])
REQUIRED_COLUMNS = ("name", "cas", "cn_code", "eu_category", "un_1988_table", "smiles")

_CATEGORY = re.compile(r"^\s*(1|2A|2B|3|4)\s*(?:\((?P<note>[^)]*)\))?\s*$", re.IGNORECASE)
_CN = re.compile(r"^\s*(?P<ex>ex\s+)?(?P<digits>\d{4}(?:\s?\d{2}){0,3})\b")
_UNQUOTE = re.compile(r"(^|;\s*)'(?=[=+\-@\t\r])")  # undoes `spreadsheet_safe` on the cells we exported


def parse_cn_codes(text: str | None) -> tuple[CnCode, ...]:
    """The CN codes of a printed list ("ex 2918 30 00; 2939 41 00") as digits; text after a code is ignored."""
    codes = []
    for part in (text or "").split(";"):
        found = _CN.match(part)
        if found:
            codes.append(CnCode(digits=re.sub(r"\s", "", found["digits"]), ex=bool(found["ex"])))
    return tuple(codes)


def status_label(eu_category: str | None, un_1988_table: str | None) -> str:
    """A precursor status in a few words: `EU cat. 1, UN Table I` ("" when neither lists it)."""
    parts = []
    if eu_category:
        parts.append(f"EU cat. {eu_category}")
    if un_1988_table:
        parts.append(f"UN Table {un_1988_table}")
    return ", ".join(parts)


def precursor_file(data_dir: Path) -> Path:
    """The shared list of scheduled precursors inside a shared data folder (`Settings.shared_data_dir`)."""
    return data_dir / PRECURSORS_FILE


@dataclass(frozen=True, slots=True)
class CnCode:
    """One Combined Nomenclature code of a record: its digits (4 to 8) and whether it is an `ex` (part of) code."""

    digits: str
    ex: bool = False


@dataclass(frozen=True, slots=True)
class SubstanceRecord:
    """A scheduled substance: names, identifiers, structure (None for mixtures and products), legal status."""

    name: str
    abbrev: str = ""
    synonyms: tuple[str, ...] = ()
    cas: str | None = None  # as printed (`103-79-7`); kept even if its check digit fails (then a Problem says so)
    cn_code: str = ""  # as the source prints it: "2914 31 00", "ex 2918 30 00", "3003 41 00; 3004 41 00"
    eu_category: EuCategory | None = None
    eu_category_note: str = ""  # the file's remark in brackets, e.g. "111/2005 only"
    un_1988_table: UnTable | None = None
    structure: Structure | None = None
    added_by: str = ""  # the regulation that scheduled it
    sources: tuple[str, ...] = ()  # keys of the file's SOURCE.md

    @property
    def smiles(self) -> str | None:
        """Canonical SMILES (RDKit), if the record has a structure."""
        return self.structure.smiles if self.structure else None

    @property
    def inchikey(self) -> str | None:
        """Standard InChIKey computed by RDKit, if the record has a structure."""
        return self.structure.inchikey if self.structure else None

    @property
    def formula(self) -> str | None:
        """Hill formula computed by RDKit, if the record has a structure."""
        return self.structure.formula if self.structure else None

    @property
    def cas_valid(self) -> bool:
        """Whether the CAS number's check digit holds (False without a CAS number)."""
        return valid_cas(self.cas) is not None

    @property
    def cn_codes(self) -> tuple[CnCode, ...]:
        """The CN codes of `cn_code` as digits; text the source adds after a code is ignored."""
        return parse_cn_codes(self.cn_code)

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every synonym, without repeats: what name screening looks for."""
        return tuple(dict.fromkeys((self.name, *self.synonyms)))

    @property
    def label(self) -> str:
        """The legal status in a few words: `EU cat. 1, UN Table I`."""
        return status_label(self.eu_category, self.un_1988_table)


@dataclass(frozen=True, slots=True)
class Problem:
    """A value of a file that disagrees with what RDKit or the CAS rule computes (the computed value is kept)."""

    source: str
    row: int  # 1 = the first record (CSV: the line after the header; SDF: the first molecule)
    name: str
    field: str
    file_value: str
    computed: str
    note: str = ""

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        where = f"{self.source}, record {self.row} ({self.name}), {self.field}"
        return f"{where}: {self.file_value!r} ≠ {self.computed!r}{note}"


@dataclass(frozen=True, slots=True)
class RegistryFile:
    """What a reader got from one file: the records in file order and the problems found in it."""

    records: tuple[SubstanceRecord, ...]
    problems: tuple[Problem, ...] = ()

    def by_name(self) -> dict[str, SubstanceRecord]:
        """The records by name."""
        return {record.name: record for record in self.records}


# --------------------------------------------------------------------------------------------- reading a record


def _split(text: str, sep: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def _category(text: str, *, where: str) -> tuple[EuCategory | None, str]:
    if not text.strip():
        return None, ""
    found = _CATEGORY.match(text)
    if not found:
        raise InvalidInput(f"{where}, eu_category: {text!r} is none of 1, 2A, 2B, 3, 4", field="eu_category")
    category: EuCategory = found[1].upper()  # type: ignore[assignment]
    return category, (found["note"] or "").strip()


def _table(text: str, *, where: str) -> UnTable | None:
    value = text.strip().upper()
    if not value:
        return None
    if value not in UN_TABLES:
        raise InvalidInput(f"{where}, un_1988_table: {text!r} is neither I nor II", field="un_1988_table")
    return value  # type: ignore[return-value]


def _record(
    row: dict[str, str], *, structure: Structure | None, source: str, number: int, problems: list[Problem]
) -> SubstanceRecord:
    where = f"{source}, record {number}"
    name = row.get("name", "").strip()
    if not name:
        raise InvalidInput(f"{where}, name: a record needs a name", field="name")
    category, note = _category(row.get("eu_category", ""), where=where)
    abbrev = row.get("abbrev", "").strip()
    synonyms = _split(row["synonyms"], ";") if row.get("synonyms") else _split(abbrev, "/")
    cas = row.get("cas", "").strip() or None
    computed_check = "" if cas is None else ("ok" if valid_cas(cas) else "fails")
    if cas is not None and computed_check == "fails":
        problems.append(Problem(source, number, name, "cas", cas, "check digit fails", "CAS check-digit rule"))
    stated_check = row.get("cas_checkdigit", "").strip().lower()
    if stated_check and stated_check != computed_check:
        problems.append(Problem(source, number, name, "cas_checkdigit", stated_check, computed_check))
    for column, computed in (
        ("inchikey", structure.inchikey if structure else ""),
        ("formula", structure.formula if structure else ""),
    ):
        stated = row.get(column, "").strip()
        if stated and stated != computed:
            problems.append(Problem(source, number, name, column, stated, computed, "computed by RDKit, kept"))
    return SubstanceRecord(
        name=name,
        abbrev=abbrev,
        synonyms=synonyms,
        cas=cas,
        cn_code=row.get("cn_code", "").strip(),
        eu_category=category,
        eu_category_note=note,
        un_1988_table=_table(row.get("un_1988_table", ""), where=where),
        structure=structure,
        added_by=row.get("added_by", "").strip(),
        sources=_split(row.get("sources", ""), ";"),
    )


def _structure(smiles: str, *, where: str) -> Structure | None:
    if not smiles.strip():
        return None
    try:
        return Structure.from_smiles(smiles)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}, smiles: {exc.detail}", field="smiles") from exc


def _duplicate_keys(records: Sequence[SubstanceRecord], *, source: str) -> list[Problem]:
    """Records that share one InChIKey (the same structure under two entries)."""
    first: dict[str, tuple[int, SubstanceRecord]] = {}
    out = []
    for number, record in enumerate(records, start=1):
        if not record.inchikey:
            continue
        if record.inchikey in first:
            other_number, other = first[record.inchikey]
            computed = f"the InChIKey of record {other_number} ({other.name})"
            note = "one structure under two entries: stereo not encoded, or a duplicate"
            out.append(Problem(source, number, record.name, "structure", record.inchikey, computed, note))
        else:
            first[record.inchikey] = (number, record)
    return out


# -------------------------------------------------------------------------------------------------------- CSV


def read_csv(source: Path | IO[str], *, name: str | None = None) -> RegistryFile:
    """The records of a registry CSV (the shared file's columns; `synonyms` optional), with the problems found."""
    if isinstance(source, Path):
        with source.open(newline="", encoding="utf-8-sig") as handle:
            return read_csv(handle, name=name or source.name)
    label = name or getattr(source, "name", "CSV")
    reader = csv.DictReader(source)
    records: list[SubstanceRecord] = []
    problems: list[Problem] = []
    try:
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise InvalidInput(f"{label}: missing columns {', '.join(missing)}", field="header")
        for number, raw in enumerate(reader, start=1):
            row = {key: _UNQUOTE.sub(r"\1", value or "") for key, value in raw.items() if key}
            where = f"{label}, record {number}"
            structure = _structure(row.get("smiles", ""), where=where)
            records.append(_record(row, structure=structure, source=label, number=number, problems=problems))
    except csv.Error as exc:
        raise InvalidInput(f"{label}, line {reader.line_num}: not CSV ({exc})", field="file") from None
    problems.extend(_duplicate_keys(records, source=label))
    return RegistryFile(records=tuple(records), problems=tuple(problems))


def _export_row(record: SubstanceRecord) -> list[str]:
    category = record.eu_category or ""
    if record.eu_category_note:
        category = f"{category} ({record.eu_category_note})"
    check = "" if record.cas is None else ("ok" if record.cas_valid else "fails")
    values = [
        record.name, record.abbrev, ";".join(record.synonyms), record.cas or "", check, record.cn_code, category,
        record.un_1988_table or "", record.smiles or "", record.inchikey or "", record.formula or "",
        record.added_by, ";".join(record.sources),
    ]  # fmt: skip
    return [spreadsheet_safe(value) for value in values]


def write_csv(records: Iterable[SubstanceRecord], *, target: Path | IO[str]) -> None:
    """Write records as CSV with the shared file's columns plus `synonyms`; cells are spreadsheet-safe."""
    if isinstance(target, Path):
        with target.open("w", newline="", encoding="utf-8") as handle:
            write_csv(records, target=handle)
        return
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for record in records:
        writer.writerow(_export_row(record))


def csv_text(records: Iterable[SubstanceRecord]) -> str:
    """The CSV export of records as text."""
    buffer = io.StringIO()
    write_csv(records, target=buffer)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------------------------- SDF

_SD_TAGS = tuple(column for column in EXPORT_COLUMNS if column not in ("name", "smiles"))


def write_sdf(records: Iterable[SubstanceRecord], *, target: Path) -> None:
    """Write records as an SD file (RDKit `SDWriter`): the title is the name, every other column an SD tag.

    A record without a structure (a medicinal product) is written as a molecule of no atoms, so that no record
    is lost; the `smiles` tag repeats the canonical SMILES for tools that do not read mol blocks.
    """
    writer = Chem.SDWriter(str(target))
    try:
        for record in records:
            mol = record.structure.to_mol() if record.structure else Chem.Mol()
            mol.SetProp("_Name", record.name)
            row = dict(zip(EXPORT_COLUMNS, _export_row(record), strict=True))
            row["smiles"] = record.smiles or ""
            for tag in (*_SD_TAGS, "smiles"):
                if row[tag]:
                    mol.SetProp(tag, row[tag])
            writer.write(mol)
    finally:
        writer.close()


def read_sdf(source: Path) -> RegistryFile:
    """The records of an SD file (RDKit `SDMolSupplier`): structure from the mol block, the rest from SD tags."""
    records: list[SubstanceRecord] = []
    problems: list[Problem] = []
    with BlockLogs():
        supplier = Chem.SDMolSupplier(str(source), sanitize=True, removeHs=True)
        for number, mol in enumerate(supplier, start=1):
            where = f"{source.name}, record {number}"
            if mol is None:
                raise InvalidInput(f"{where}: a mol block RDKit cannot read", field="molblock")
            row = {tag: mol.GetProp(tag) for tag in mol.GetPropNames()}
            row = {key: _UNQUOTE.sub(r"\1", value) for key, value in row.items()}
            row["name"] = mol.GetProp("_Name") if mol.HasProp("_Name") else row.get("name", "")
            structure = Structure.from_mol(mol) if mol.GetNumAtoms() else None
            tagged = row.get("smiles", "")
            if structure and tagged and Structure.from_smiles(tagged).inchikey != structure.inchikey:
                note = "the mol block is kept"
                problems.append(Problem(source.name, number, row["name"], "smiles", tagged, structure.smiles, note))
            records.append(_record(row, structure=structure, source=source.name, number=number, problems=problems))
    problems.extend(_duplicate_keys(records, source=source.name))
    return RegistryFile(records=tuple(records), problems=tuple(problems))


# ------------------------------------------------------------------------------------------- for the screening

# Category 3 (acetone, toluene, ether, MEK, sulphuric and hydrochloric acid) is left out of unmasking: those are
# bulk solvents and acids released by ordinary hydrolysis of countless legitimate goods (any acetonide gives
# acetone, any benzylamine toluene), and their trade is controlled by quantity, not by masked forms. Category 4 are
# medicinal products, without a structure. Inorganic entries (red phosphorus, permanganate) have no organic form to
# hide in. Category 2 stays: esters of phenylacetic or anthranilic acid do unmask to a category 2B acid, and the
# hit says which category it reached so the screening can weigh it below category 1.
UNMASKING_CATEGORIES: tuple[EuCategory, ...] = ("1", "2A", "2B")


def organic(structure: Structure) -> bool:
    """Whether a structure contains carbon (its Hill formula starts with C and no other element starting with C)."""
    formula = structure.formula
    return formula.startswith("C") and (len(formula) == 1 or not formula[1].islower())


def is_unmasking_target(
    *,
    structure: Structure | None,
    scheduled: bool,
    eu_category: str | None,
    categories: Sequence[str] = UNMASKING_CATEGORIES,
) -> bool:
    """Whether unmasking looks for this substance: a scheduled organic structure, of the given EU categories
    (default 1, 2A, 2B) if the EU lists it at all (one the UN 1988 tables alone list counts too)."""
    if structure is None or not scheduled or not organic(structure):
        return False
    return eu_category is None or eu_category in categories


def unmasking_targets(
    records: Iterable[SubstanceRecord], *, categories: Sequence[str] = UNMASKING_CATEGORIES
) -> list[Target]:
    """The records unmasking looks for (see `is_unmasking_target`)."""
    return [
        Target(key=record.name, structure=record.structure, label=record.label)
        for record in records
        if record.structure is not None
        and is_unmasking_target(
            structure=record.structure,
            scheduled=bool(record.eu_category or record.un_1988_table),
            eu_category=record.eu_category,
            categories=categories,
        )
    ]


def similarity_index(records: Iterable[SubstanceRecord]) -> SimilarityIndex:
    """Morgan fingerprints of every record with a structure, keyed by name."""
    return SimilarityIndex((record.name, record.structure) for record in records if record.structure is not None)


# ------------------------------------------------------------------------------------- seeding the registry

# The substance group of each entry of the shared file (what alert subscriptions filter by): the drug whose
# manufacture the precursor serves. Category 3 solvents and acids are counted with cocaine, their largest illicit use
# in Europe's ports (they are also used for heroin and many others).
SEED_GROUPS: dict[str, str] = {
    "1-Phenyl-2-propanone": "amphetamine",
    "Methyl alpha-phenylacetoacetate": "amphetamine",
    "Ethyl alpha-phenylacetoacetate": "amphetamine",
    "Diethyl (phenylacetyl)propanedioate": "amphetamine",
    "Methyl 2-methyl-3-phenyloxirane-2-carboxylate": "amphetamine",
    "2-Methyl-3-phenyloxirane-2-carboxylic acid": "amphetamine",
    "Ethyl 2-methyl-3-phenyloxirane-2-carboxylate": "amphetamine",
    "alpha-Phenylacetoacetamide": "amphetamine",
    "alpha-Phenylacetoacetonitrile": "amphetamine",
    "Phenylacetic acid": "amphetamine",
    "Isosafrole (cis+trans)": "mdma",
    "3,4-Methylenedioxyphenylpropan-2-one": "mdma",
    "Piperonal": "mdma",
    "Safrole": "mdma",
    "Methyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate": "mdma",
    "3-(1,3-Benzodioxol-5-yl)-2-methyloxirane-2-carboxylic acid": "mdma",
    "Ethyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate": "mdma",
    "Methyl 3-oxo-2-(3,4-methylenedioxyphenyl)butanoate": "mdma",
    "Isopropylidene (2-(3,4-methylenedioxyphenyl)acetyl)malonate": "mdma",
    "Ephedrine": "methamphetamine",
    "Pseudoephedrine": "methamphetamine",
    "Norephedrine": "amphetamine",
    "(1R,2S)-(-)-Chloroephedrine": "methamphetamine",
    "(1S,2S)-(+)-Chloropseudoephedrine": "methamphetamine",
    "Red phosphorus": "methamphetamine",
    "Medicinal/veterinary products containing ephedrine or its salts": "methamphetamine",
    "Medicinal/veterinary products containing pseudoephedrine or its salts": "methamphetamine",
    "Ergometrine": "lsd",
    "Ergotamine": "lsd",
    "Lysergic acid": "lsd",
    "4-Anilino-N-phenethylpiperidine": "fentanyl",
    "N-Phenethyl-4-piperidone": "fentanyl",
    "N-Phenylpiperidin-4-amine": "fentanyl",
    "tert-Butyl 4-(phenylamino)piperidine-1-carboxylate": "fentanyl",
    "N-Phenyl-N-(piperidin-4-yl)propanamide": "fentanyl",
    "Piperidin-4-one": "fentanyl",
    "tert-Butyl 4-oxopiperidine-1-carboxylate": "fentanyl",
    "Acetic anhydride": "heroin",
    "Potassium permanganate": "cocaine",
    "Hydrochloric acid": "cocaine",
    "Sulphuric acid": "cocaine",
    "Toluene": "cocaine",
    "Ethyl ether": "cocaine",
    "Acetone": "cocaine",
    "Methylethylketone": "cocaine",
}


def seed_group(name: str) -> str:
    """The substance group of a shared-file entry ("other" for a name the table does not know)."""
    return SEED_GROUPS.get(name, "other")
