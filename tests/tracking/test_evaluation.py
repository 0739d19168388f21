"""Precision and recall per modus: hand-made findings and labels with known answers, and the undefined cases."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from portguard.tracking.evaluation import ALL, Row, as_json, evaluate, table
from portguard.tracking.simulator import MODI


def _label(container: str, modus: str) -> dict[str, object]:
    return {"container": container, "modus": modus, "eventIDs": [f"{container}-{modus}"], "note": ""}


LABELS = [
    _label("MSKU0000001", "door_open"),
    _label("MSKU0000002", "door_open"),
    _label("MSKU0000003", "door_open"),
    _label("MSKU0000004", "door_open"),
    _label("MSKU0000002", "seal_tamper"),
    _label("HLXU0000005", "clone"),
    _label("TGHU0000006", "hotel"),
    _label("TGHU0000006", "hotel"),  # a second row of the same modus for the same container counts once
    _label("TGHU0000006", "door_open"),
]


def _rows(findings: list[tuple[str, str]], labels: list[dict[str, object]] = LABELS) -> dict[str, Row]:
    return {r.modus: r for r in evaluate(findings=findings, labels=labels)}


def test_known_precision_and_recall() -> None:
    findings = [
        ("MSKU0000001", "door_open"),
        ("MSKU0000001", "door_open"),  # twice about one container: one flag
        ("MSKU0000002", "door_open"),
        ("MSKU0000009", "door_open"),  # false positive
        ("MSKU0000002", "seal_tamper"),
        ("HLXU0000005", "seal_tamper"),  # labelled clone, not seal_tamper: a false positive of seal_tamper
        ("TGHU0000006", "hotel"),
    ]
    rows = _rows(findings)
    door = rows["door_open"]
    assert (door.labelled, door.flagged, door.true_positives) == (5, 3, 2)
    assert door.precision == pytest.approx(2 / 3)
    assert door.recall == pytest.approx(2 / 5)
    assert door.f1 == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    seal = rows["seal_tamper"]
    assert (seal.labelled, seal.flagged, seal.true_positives, seal.precision, seal.recall) == (1, 2, 1, 0.5, 1.0)
    hotel = rows["hotel"]
    assert (hotel.labelled, hotel.flagged, hotel.true_positives, hotel.precision, hotel.recall) == (1, 1, 1, 1.0, 1.0)
    clone = rows["clone"]  # labelled, never flagged: recall 0, precision undefined
    assert (clone.labelled, clone.flagged, clone.true_positives) == (1, 0, 0)
    assert clone.precision is None
    assert clone.recall == 0.0
    assert clone.f1 is None


def test_micro_average_row() -> None:
    findings = [("MSKU0000001", "door_open"), ("MSKU0000009", "door_open"), ("HLXU0000005", "clone")]
    rows = evaluate(findings=findings, labels=LABELS)
    assert [r.modus for r in rows] == [*MODI, ALL]
    total = rows[-1]
    assert (total.labelled, total.flagged, total.true_positives) == (8, 3, 2)
    assert total.precision == pytest.approx(2 / 3)
    assert total.recall == pytest.approx(2 / 8)


def test_zero_division_is_none() -> None:
    rows = evaluate(findings=[], labels=[])
    for r in rows:
        assert (r.labelled, r.flagged, r.true_positives) == (0, 0, 0)
        assert r.precision is None and r.recall is None and r.f1 is None
    only_fp = _rows([("MSKU0000009", "yard_move")])["yard_move"]
    assert (only_fp.precision, only_fp.recall) == (0.0, None)
    zero = Row("x", labelled=3, flagged=2, true_positives=0, precision=0.0, recall=0.0)
    assert zero.f1 == 0.0


def test_unknown_detectors_and_chosen_modi() -> None:
    rows = evaluate(findings=[("MSKU0000001", "camera_mismatch")], labels=LABELS)
    assert [r.modus for r in rows][-2:] == ["camera_mismatch", ALL]
    extra = rows[-2]
    assert (extra.labelled, extra.flagged, extra.precision, extra.recall) == (0, 1, 0.0, None)
    chosen = evaluate(findings=[("MSKU0000001", "door_open")], labels=LABELS, modi=["door_open", "door_open"])
    assert [r.modus for r in chosen] == ["door_open", ALL]
    assert chosen[-1].true_positives == 1 and chosen[-1].labelled == 5


def test_table_and_json() -> None:
    rows = evaluate(findings=[("MSKU0000001", "door_open")], labels=LABELS)
    data = as_json(rows)
    assert json.loads(json.dumps(data)) == data
    door = next(d for d in data if d["modus"] == "door_open")
    assert door == {
        "modus": "door_open",
        "labelled": 5,
        "flagged": 1,
        "true_positives": 1,
        "precision": 1.0,
        "recall": 0.2,
        "f1": pytest.approx(1 / 3),
    }
    console = Console(width=120, record=True)
    console.print(table(rows))
    text = console.export_text()
    assert "door_open" in text and "20.0%" in text and "100.0%" in text and ALL in text
    assert "–" in text  # undefined precision of modi nobody flagged
