"""Precision and recall of the detectors per modus operandi, against the simulator's labels.

The unit is the container: a detector named after a modus (`simulator.MODI`) flags a container or not, and the
simulator labelled the container with that modus or not. Several findings of one detector about one container
count once, as do several label rows of one modus for one container (a hotel container can be labelled for its
weight and for its doors). A detector is scored only against its own modus: a `seal_tamper` finding on a container
labelled `clone` is a false positive of `seal_tamper`, even when the clone's seals truly differ. The last row,
`all`, is the micro average over the (container, modus) pairs of every row above it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from rich.table import Table

from portguard.tracking.simulator import MODI

ALL = "all"


@dataclass(frozen=True, slots=True)
class Row:
    """One modus: containers labelled, flagged, flagged and labelled, and the two ratios (None when undefined)."""

    modus: str
    labelled: int
    flagged: int
    true_positives: int
    precision: float | None
    recall: float | None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall (None when either is undefined, 0.0 when both are 0)."""
        if self.precision is None or self.recall is None:
            return None
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _row(modus: str, labelled: int, flagged: int, tp: int) -> Row:
    return Row(modus, labelled, flagged, tp, _ratio(tp, flagged), _ratio(tp, labelled))


def evaluate(
    *,
    findings: Iterable[tuple[str, str]],
    labels: Iterable[dict[str, Any]],
    modi: Iterable[str] | None = None,
) -> list[Row]:
    """Rows per modus (`modi`, by default `MODI` and any other detector found) for `(container, detector)` findings
    against simulator labels, then the micro-averaged `all` row."""
    flagged: dict[str, set[str]] = defaultdict(set)
    for container, detector in findings:
        flagged[detector].add(container)
    truth: dict[str, set[str]] = defaultdict(set)
    for label in labels:
        truth[label["modus"]].add(label["container"])
    others = sorted((set(flagged) | set(truth)) - set(MODI))
    names = list(MODI) + others if modi is None else list(dict.fromkeys(modi))
    rows = []
    for name in names:
        got, want = flagged.get(name, set()), truth.get(name, set())
        rows.append(_row(name, len(want), len(got), len(got & want)))
    rows.append(
        _row(
            ALL,
            sum(r.labelled for r in rows),
            sum(r.flagged for r in rows),
            sum(r.true_positives for r in rows),
        )
    )
    return rows


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def table(rows: Iterable[Row], *, title: str = "Detectors against injected modi (unit: container)") -> Table:
    """The rows as a rich table (undefined ratios shown as –)."""
    out = Table(title=title)
    out.add_column("modus")
    for name in ("labelled", "flagged", "TP", "precision", "recall", "F1"):
        out.add_column(name, justify="right")
    for r in rows:
        if r.modus == ALL:
            out.add_section()
        out.add_row(
            r.modus,
            str(r.labelled),
            str(r.flagged),
            str(r.true_positives),
            _pct(r.precision),
            _pct(r.recall),
            _pct(r.f1),
            style="bold" if r.modus == ALL else None,
        )
    return out


def as_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (ratios as floats or None, with F1)."""
    return [{**asdict(r), "f1": r.f1} for r in rows]
