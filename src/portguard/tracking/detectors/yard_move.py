"""Unplanned yard move or abnormal dwell. Every move in a terminal's yard follows a work order, which the
terminal publishes as a planned (PLN) location event for the target slot; an actual move to a slot nobody planned
is how a box is put out of the cameras' sight or next to a hotel container. A box staying far longer than boxes
do, with no customs hold to explain it, is waiting for someone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, ARRIVALS, DEPARTURES

NAME = "yard_move"
TRIGGERS = ANY  # an unclosed door or a stay grows with every later event
HOLDS = frozenset({"CUSS", "CUSI", "HOLD"})


@dataclass(frozen=True)
class Params:
    plan_window_s: float = 12 * 3600.0  # a work order for the slot at most this long before the move
    plan_tolerance_s: float = 3 * 3600.0  # straddle carriers move up to hours after the planned time
    max_dwell_days: float = 12.0
    hold_extra_days: float = 20.0


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    plans = [(e.t, _stack(e.spot)) for e in tl.events if e.code == "LOC" and e.classifier == "PLN" and e.spot]
    events = tl.actual()
    spot = None
    for e in events:
        if e.code != "LOC" or not e.spot or e.spot == spot:
            continue
        planned = any(s == _stack(e.spot) and e.t - p.plan_window_s <= t <= e.t + p.plan_tolerance_s for t, s in plans)
        if (not planned and spot is not None) or (not planned and spot is None and _arrived(events, e.t)):
            frm = f"from {spot} " if spot else ""
            yield Finding(NAME, tl.container, e.key, f"moved {frm}to {e.spot} with no work order", (e.key,), e.t)
        spot = e.spot
    arrival = next((e for e in events if e.code in ARRIVALS), None)
    if arrival is None:
        return
    leave = next((e for e in events if e.code in DEPARTURES and e.t > arrival.t), None)
    end = leave.t if leave is not None else events[-1].t
    held = any(e.code in HOLDS for e in tl.events)
    limit = (p.max_dwell_days + (p.hold_extra_days if held else 0.0)) * 86400
    if end - arrival.t > limit:
        days = (end - arrival.t) / 86400
        yield Finding(
            NAME,
            tl.container,
            f"dwell:{arrival.key}",
            f"in the terminal {days:.1f} days since {arrival.code} (limit {limit / 86400:.0f})",
            (arrival.key,) + ((leave.key,) if leave else ()),
            end,
            severity="medium",
        )


def _arrived(events: list, t: float) -> bool:
    return any(e.code in ARRIVALS and e.t <= t for e in events)


def _stack(spot: str) -> str:
    """The yard stack of a slot ('YARD B12-03-2' → 'YARD B12-03'): a box put one tier off the plan was not moved."""
    head, sep, _ = spot.rpartition("-")
    return head if sep and head.count("-") >= 1 else spot
