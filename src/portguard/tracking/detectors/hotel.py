"""Hotel container: a box declared empty that carries people (an extraction team waiting in the yard for a
shipment) — heavier on the weighbridge or scanner than an empty box of its type can be, flagged by a scanner, or
opened while empty. `max_tare_kg` is by the ISO size code's first character (length); reefers weigh more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, OPENING_WORK, empty_at

NAME = "hotel"
TRIGGERS = ANY  # an unclosed door or a stay grows with every later event


@dataclass(frozen=True)
class Params:
    margin_kg: float = 400.0  # above the heaviest empty box of its type (dunnage left inside weighs less)
    survey_s: float = 3600.0  # empties are opened for the survey at gate-in
    reefer_extra_kg: float = 900.0
    min_open_s: float = 60.0
    legit_window_s: float = 3 * 3600.0
    max_tare_kg: dict[str, float] = field(default_factory=lambda: {"2": 2480.0, "4": 3980.0, "L": 4100.0})


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    iso = next((e.iso for e in events if e.iso), None)
    tare = p.max_tare_kg.get(iso[0], max(p.max_tare_kg.values())) if iso else max(p.max_tare_kg.values())
    if iso and iso[2] == "R":
        tare += p.reefer_extra_kg
    work = [e.t for e in events if e.code in OPENING_WORK]
    for i, e in enumerate(events):
        if e.kind == "SCAN" and empty_at(events, e.t) is True:
            if e.weight is not None and e.weight > tare + p.margin_kg:
                yield Finding(
                    NAME,
                    tl.container,
                    e.key,
                    f"declared empty but weighs {e.weight:,.0f} kg (an empty {iso or 'box'} weighs at most "
                    f"{tare:,.0f} kg)",
                    (e.key,),
                    e.t,
                )
            elif e.verdict in ("SUSPECT", "ALARM"):
                yield Finding(NAME, tl.container, e.key, f"declared empty, scanner verdict {e.verdict}", (e.key,), e.t)
        elif e.code == "DRO" and empty_at(events, e.t) is True:
            close = next((c for c in events[i + 1 :] if c.code == "DRC"), None)
            end = close.t if close is not None else events[-1].t
            surveyed = any(g.code == "GTIN" and 0 <= e.t - g.t <= p.survey_s for g in events)
            if surveyed or end - e.t < p.min_open_s or any(abs(w - e.t) <= p.legit_window_s for w in work):
                continue
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"declared empty, doors opened for {(end - e.t) / 60:.0f} min",
                (e.key,) + ((close.key,) if close else ()),
                e.t,
            )
