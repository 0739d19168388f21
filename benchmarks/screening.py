"""Precursor screening by structure: unmasking designer forms with RDKit, against similarity and substructure search.

The registry: the shared list of scheduled precursors (`../shared/data/precursors/scheduled_precursors.csv`,
48 entries; its SOURCE.md gives the sources and notices). Unmasking looks for its category 1 and 2 organic
structures (38; category 3 solvents and inorganics are not targets, see `registry.unmasking_targets`); similarity
compares with every entry that has a structure (46).

The queries, as SMILES text (parsing is part of what is timed):

* **known**: the designer forms of the list (`calibration.FILE_DESIGNER_FORMS`, 19 rows), designer forms beyond it
  (`EXTRA_DESIGNER_FORMS`: P2NP, salts, glycidamides, N-benzyl and Boc variants), the legitimate look-alikes
  (`LOOK_ALIKES`: flavourings and fragrances of the same shapes) and the esters of category 2B acids, repeated to
  `--known` queries;
* **random**: `--random` drug-like molecules made by RDKit's BRICS from the fragments of the list's structures
  and of the calibration cases (`BRICSBuild`, seeded, at most 40 heavy atoms): unseen structures with the same
  functional groups, so the reaction rules fire and the frontier grows as on real goods.

What is timed (median of `--repeat` runs; structures per second):

* **unmasking**: `Unmasker.unmask` — up to four generic reactions breadth first, every product checked by
  InChIKey against the registry;
* **Morgan similarity**: the query's fingerprint (radius 2, 2048 bits) and `BulkTanimotoSimilarity` against the
  whole registry, ranked (`SimilarityIndex.nearest`);
* **baseline, substructure search**: the query parsed and searched for each of the 38 target structures
  (`HasSubstructMatch`), the plain test a structure screen would start from.

Then the hit/miss table: for each known case, what unmasking (does it reach the parent?), naive similarity
(Tanimoto ≥ 0.5 to the parent) and substructure search (does the query contain the parent?) make of it — for a
look-alike, against the nearest of the parents of all designer forms — and the count flagged by each method.

The same queries also go through `screening.Screener.screen_structure` (identifier, unmasking and similarity with
the reasons written), the call the service makes for a structure.

**Goods lines** (identifier + name screening, `Screener.screen_line`), lines per second, on a realistic mix: the
goods lines of `--lines` lines' worth of synthetic ICS2-like declarations (`declarations.generator`: fruit, coffee,
textiles, machinery and chemicals with their usual descriptions and HS/CN codes, acetone, MEK and piperonal among
them). The KCS data set in the shared folder has no goods descriptions (its SOURCE.md: HS6 codes only), so it cannot
serve here. About 1 % of the lines (`--inject`) are replaced by lines naming a scheduled precursor: a registry name,
abbreviation or shipped synonym as written, in capitals with the accents dropped, or its CAS number, in ordinary
packaging words and with the precursor's CN code half of the time. Measured in the same run:

* **screener, no cache**: every line analysed afresh (`cache_size=0`);
* **screener, batch**: `screen_lines` over the same lines, repeated descriptions analysed once (the generator, like
  real traffic, repeats descriptions);
* **baseline, substring search**: the line lowercased and searched (`in`) for every registry name, abbreviation,
  shipped synonym (lowercased) and CAS number — the plain test a text screen would start from.

Each is scored against what the lines name: the injected lines and the generator's lines whose description names a
scheduled precursor (acetone, MEK, piperonal, PMK methyl glycidate, APAAN). "Wrong" counts flagged lines that name
none (the substring search flags phenylacetonitrile as Phenylaceton, for instance).

Run: `.venv/bin/python benchmarks/screening.py [--known 2000] [--random 2000] [--lines 50000] [--repeat 3]
[--data ../shared/data]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import BRICS
from rdkit.rdBase import BlockLogs
from rich.console import Console
from rich.table import Table

from portguard.declarations import generator
from portguard.substances import calibration, registry, screening
from portguard.substances.calibration import Case
from portguard.substances.chemistry import Structure, Unmasker, parse_smiles, tanimoto

console = Console(width=160)
NAIVE_THRESHOLD = 0.5


def timed(work: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` runs of `work`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def known_cases(records: Sequence[registry.SubstanceRecord]) -> list[tuple[str, Case]]:
    """(kind, case) for every known answer: the list's designer forms, the extra ones, look-alikes, 2B esters."""
    by_name = {record.name: record for record in records}
    cases = [
        ("designer (list)", Case(name=by_name[name].abbrev or name, smiles=by_name[name].smiles, parent=parent, why=""))
        for name, parent in calibration.FILE_DESIGNER_FORMS.items()
    ]
    cases += [("designer (extra)", case) for case in calibration.EXTRA_DESIGNER_FORMS]
    cases += [("look-alike", case) for case in calibration.LOOK_ALIKES]
    cases += [("2B ester", case) for case in calibration.CATEGORY_2_ESTERS]
    return cases


def random_molecules(sources: Sequence[str], *, count: int, seed: int) -> list[str]:
    """`count` distinct molecules of at most 40 heavy atoms built by BRICS from the fragments of `sources`."""
    fragments: set[str] = set()
    for smiles in sources:
        fragments |= BRICS.BRICSDecompose(Chem.MolFromSmiles(smiles))
    ordered = sorted(fragments)
    rng = random.Random(seed)
    rng.shuffle(ordered)
    random.seed(seed)  # BRICSBuild scrambles its reagents with the module's generator
    built: set[str] = set()
    with BlockLogs():
        for mol in BRICS.BRICSBuild([Chem.MolFromSmiles(f) for f in ordered], scrambleReagents=True, maxDepth=2):
            if Chem.SanitizeMol(mol, catchErrors=True) != Chem.SanitizeFlags.SANITIZE_NONE:
                continue
            if mol.GetNumHeavyAtoms() <= 40:
                built.add(Chem.MolToSmiles(mol))
            if len(built) >= 3 * count:
                break
    return rng.sample(sorted(built), min(count, len(built)))


# the generator's descriptions that name a scheduled precursor, by commodity key (the others of those commodities,
# "Organic powder" or "Fine chemical", name nothing)
NAMED_BY_GENERATOR = {
    "acetone": ("Acetone", "ACETONE 99.5% MIN", "Acetone, technical grade"),
    "mek": ("Butanone (methyl ethyl ketone)", "METHYL ETHYL KETONE (MEK)", "MEK solvent"),
    "piperonal": ("Piperonal", "Heliotropin (piperonal) for fragrances"),
    "pmk_glycidate": ("PMK methyl glycidate", "Methyl 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylate"),
    "apaan": ("alpha-Phenylacetoacetonitrile", "APAAN"),
}
PACKAGING = ("25 kg drums", "200 L drums", "IBC", "fibre drums", "bags", "1 x 20' container", "net 500 kg", "pallets")


@dataclass(frozen=True, slots=True)
class GoodsLine:
    """One goods line of the benchmark and whether it names a scheduled precursor."""

    description: str
    hs_code: str | None
    names_precursor: bool


def _ascii_upper(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)).upper()


def goods_lines(
    records: Sequence[registry.SubstanceRecord], *, count: int, inject: float, seed: int
) -> list[GoodsLine]:
    """`count` goods lines of generated declarations, with a share `inject` replaced by lines naming a precursor."""
    named = tuple(text for texts in NAMED_BY_GENERATOR.values() for text in texts)
    lines: list[GoodsLine] = []
    for declaration in generator.generate(count, seed=seed):
        for goods in declaration["goods"]:
            description = goods["description"]
            lines.append(GoodsLine(description, goods["hs_code"], description.endswith(named)))
        if len(lines) >= count:
            break
    lines = lines[:count]
    synonyms = screening.load_synonyms()
    names = [
        (record, text)
        for record in records
        for text in (record.name, *record.abbrev.split("/"), *(s.text for s in synonyms.get(record.name, ())))
        if text
    ]
    rng = random.Random(seed)
    for index in rng.sample(range(len(lines)), round(len(lines) * inject)):
        record, text = rng.choice(names)
        form = rng.random()
        if form < 0.25 and record.cas:
            text = f"organic chemical CAS {record.cas}"
        elif form < 0.5:
            text = _ascii_upper(text)
        packaging = rng.choice(PACKAGING)
        description = f"{text}, {packaging}" if rng.random() < 0.5 else f"{packaging} {text}"
        code = record.cn_codes[0].digits.ljust(8, "0") if record.cn_codes and rng.random() < 0.5 else "29420000"
        lines[index] = GoodsLine(description, code, True)
    return lines


def substring_baseline(records: Sequence[registry.SubstanceRecord]) -> Callable[[str], set[str]]:
    """The plain search: lowercased names, abbreviations, shipped synonyms and CAS numbers, each tested with `in`."""
    synonyms = screening.load_synonyms()
    terms: list[tuple[str, str]] = []
    for record in records:
        texts = {record.name, *record.abbrev.split("/"), *(s.text for s in synonyms.get(record.name, ()))}
        terms += [(text.lower(), record.name) for text in texts if text]
        if record.cas:
            terms.append((record.cas, record.name))

    def search(description: str) -> set[str]:
        text = description.lower()
        return {name for term, name in terms if term in text}

    return search


def goods_line_table(records: Sequence[registry.SubstanceRecord], args: argparse.Namespace) -> None:
    """Time and score goods-line screening against the substring baseline."""
    lines = goods_lines(records, count=args.lines, inject=args.inject, seed=args.seed)
    substances = screening.substances_from_records(records)
    baseline = substring_baseline(records)
    truth = [line.names_precursor for line in lines]
    distinct = len({(line.description, line.hs_code) for line in lines})

    def cold() -> list[bool]:
        screener = screening.Screener(substances, cache_size=0)
        return [bool(screener.screen_line(description=g.description, hs_code=g.hs_code)) for g in lines]

    def batch() -> list[bool]:
        screener = screening.Screener(substances)
        found = screener.screen_lines(lines=((i, g.description, g.hs_code) for i, g in enumerate(lines)))
        return [bool(hits) for _, hits in found]

    def plain() -> list[bool]:
        return [bool(baseline(line.description)) for line in lines]

    rows = []
    for task, work in (
        ("screener, no cache (identifiers + names)", cold),
        ("screener, batch (repeated descriptions cached)", batch),
        ("baseline: substring search (`in`)", plain),
    ):
        seconds = timed(work, args.repeat)
        flagged = work()
        right = sum(f and t for f, t in zip(flagged, truth, strict=True))
        wrong = sum(f and not t for f, t in zip(flagged, truth, strict=True))
        rows.append((task, seconds, sum(flagged), right, wrong))
    base_rate = len(lines) / rows[-1][1]

    table = Table(
        title=f"goods-line screening: {len(lines):,} lines ({distinct:,} distinct), {sum(truth):,} name a precursor "
        f"({round(len(lines) * args.inject):,} injected), median of {args.repeat}"
    )
    for column in ("task", "seconds", "lines/s", "µs/line", "× baseline speed", "flagged", "right", "wrong", "missed"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, seconds, flagged, right, wrong in rows:
        rate = len(lines) / seconds
        table.add_row(
            task, f"{seconds:.3f}", f"{rate:,.0f}", f"{seconds / len(lines) * 1e6:,.1f}", f"{rate / base_rate:.2f}",
            f"{flagged:,}", f"{right:,}", f"{wrong:,}", f"{sum(truth) - right:,}",
        )  # fmt: skip
    console.print(table)

    screener = screening.Screener(substances)
    examples = [
        line.description
        for line in lines
        if bool(baseline(line.description))
        != bool(screener.screen_line(description=line.description, hs_code=line.hs_code))
    ]
    counts = Counter(examples).most_common(6)
    if counts:
        console.print("where the two disagree (most frequent lines): " + "; ".join(f"{d!r} ×{n}" for d, n in counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--known", type=int, default=2000, help="known queries (the cases, repeated)")
    parser.add_argument("--random", type=int, default=2000, help="random BRICS molecules")
    parser.add_argument("--lines", type=int, default=50000, help="goods lines for the goods-line screening")
    parser.add_argument("--inject", type=float, default=0.01, help="share of goods lines naming a precursor")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()

    source = registry.precursor_file(args.data)
    if not source.is_file():
        sys.exit(f"the scheduled precursors list is not at {registry.PRECURSORS_FILE} in the shared data folder")
    records = registry.read_csv(source).records
    targets = registry.unmasking_targets(records)
    unmasker = Unmasker(targets)
    index = registry.similarity_index(records)
    target_mols = [target.structure.to_mol() for target in targets]

    cases = known_cases(records)
    known = [case.smiles for _, case in cases]
    known_queries = (known * (args.known // len(known) + 1))[: args.known]
    sources = [record.smiles for record in records if record.smiles] + known
    random_queries = random_molecules(sources, count=args.random, seed=args.seed)
    console.print(
        f"registry: {len(records)} entries, {len(targets)} unmasking targets, {len(index)} fingerprints; "
        f"queries: {len(known_queries):,} known ({len(known)} cases), {len(random_queries):,} random (BRICS)"
    )

    def unmask_all(queries: list[str]) -> Callable[[], object]:
        return lambda: [unmasker.unmask(smiles) for smiles in queries]

    def similar_all(queries: list[str]) -> Callable[[], object]:
        return lambda: [index.nearest(smiles, top=5) for smiles in queries]

    structure_screener = screening.Screener(screening.substances_from_records(records))

    def screen_all(queries: list[str]) -> Callable[[], object]:
        return lambda: [structure_screener.screen_structure(smiles=smiles) for smiles in queries]

    def substructure_all(queries: list[str]) -> Callable[[], object]:
        def run() -> list[bool]:
            out = []
            for smiles in queries:
                mol = parse_smiles(smiles)
                out.append(any(mol.HasSubstructMatch(target) for target in target_mols))
            return out

        return run

    unmasker.unmask(known[0])  # compile the reactions outside the timing
    explored = [unmasker.unmask(smiles) for smiles in random_queries]
    rows: list[tuple[str, str, int, float, str]] = []
    for label, queries in (("known", known_queries), ("random", random_queries)):
        rows.append(("unmasking (≤ 4 steps)", label, len(queries), timed(unmask_all(queries), args.repeat), ""))
        rows.append(
            ("Morgan similarity, whole registry", label, len(queries), timed(similar_all(queries), args.repeat), "")
        )
        rows.append(
            ("Screener.screen_structure (all three, reasons)", label, len(queries), timed(screen_all(queries), 1), "")
        )
        rows.append(
            ("baseline: substructure search", label, len(queries), timed(substructure_all(queries), args.repeat), "")
        )
    sizes = sorted(result.explored for result in explored)
    reactive = [size for size in sizes if size > 1]
    note = (
        f"random: {len(reactive):,} of {len(sizes):,} queries react (median {statistics.median(reactive or [0]):.0f} "
        f"structures explored, max {sizes[-1]}), {sum(result.truncated for result in explored)} truncated, "
        f"{sum(bool(result.hits) for result in explored)} reach a scheduled structure (or are one)"
    )

    table = Table(title=f"structure screening, per query (median of {args.repeat})")
    for column in ("task", "queries", "n", "seconds", "structures/s", "µs/structure"):
        table.add_column(column, justify="left" if column in ("task", "queries") else "right")
    for task, label, n, seconds, _ in rows:
        table.add_row(task, label, f"{n:,}", f"{seconds:.3f}", f"{n / seconds:,.0f}", f"{seconds / n * 1e6:,.0f}")
    console.print(table)
    console.print(note)

    by_name = {record.name: record for record in records}
    parent_structures = {
        parent: by_name[parent].structure
        for parent in {*calibration.FILE_DESIGNER_FORMS.values(), *(c.parent for c in calibration.EXTRA_DESIGNER_FORMS)}
    }
    hits = Table(title="known cases: unmasking vs naive similarity (Tanimoto ≥ 0.5 to the parent) vs substructure")
    for column in (
        "kind",
        "case",
        "parent (or nearest parent)",
        "unmasking",
        "steps",
        "Tanimoto",
        "≥ 0.5",
        "substructure",
    ):
        hits.add_column(column, justify="right" if column in ("steps", "Tanimoto") else "left")
    summary: dict[str, list[int]] = {}
    for kind, case in cases:
        structure, mol = Structure.from_smiles(case.smiles), parse_smiles(case.smiles)
        candidates = [case.parent] if case.parent else sorted(parent_structures)
        score, parent = max((tanimoto(structure, other=by_name[name].structure), name) for name in candidates)
        contains = any(mol.HasSubstructMatch(by_name[name].structure.to_mol()) for name in candidates)
        result = unmasker.unmask(case.smiles)
        hit = result.hit(case.parent) if case.parent else next(iter(result.hits), None)
        naive = score >= NAIVE_THRESHOLD
        flags = summary.setdefault(kind, [0, 0, 0, 0])
        flags[0] += 1
        flags[1] += hit is not None
        flags[2] += naive
        flags[3] += contains
        hits.add_row(
            kind, case.name[:38], parent[:36], ("→ " + hit.target.key[:28]) if hit else "—",
            str(len(hit.steps)) if hit else "", f"{score:.2f}", "yes" if naive else "no", "yes" if contains else "no",
        )  # fmt: skip
    console.print(hits)

    verdicts = Table(title="flagged, by method (designer forms should be, look-alikes should not)")
    for column in ("kind", "cases", "unmasking", "similarity ≥ 0.5", "substructure"):
        verdicts.add_column(column, justify="left" if column == "kind" else "right")
    for kind, (n, by_unmasking, by_similarity, by_substructure) in summary.items():
        verdicts.add_row(kind, str(n), str(by_unmasking), str(by_similarity), str(by_substructure))
    console.print(verdicts)

    goods_line_table(records, args)


if __name__ == "__main__":
    main()
