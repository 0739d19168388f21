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

Goods-line screening (identifiers and names in declarations' goods descriptions, lines per second) is measured by
the screening service that reads declarations; its rows are added to this benchmark with that service.

Run: `.venv/bin/python benchmarks/screening.py [--known 2000] [--random 2000] [--repeat 3] [--data ../shared/data]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import BRICS
from rdkit.rdBase import BlockLogs
from rich.console import Console
from rich.table import Table

from portguard.substances import calibration, registry
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--known", type=int, default=2000, help="known queries (the cases, repeated)")
    parser.add_argument("--random", type=int, default=2000, help="random BRICS molecules")
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


if __name__ == "__main__":
    main()
