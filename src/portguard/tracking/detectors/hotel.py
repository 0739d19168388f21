"""Hotel container: a box declared empty that carries people (an extraction team waiting in the yard for a
shipment) — heavier on the weighbridge or scanner than an empty box of its type can be, flagged by a scanner, or
opened while empty. When the weighing gives the tare marked on the box, the limit is that tare plus
`marked_margin_kg`; otherwise the heaviest empty box of its type (`max_tare_kg`, by the ISO size code's first
character, the length; reefers weigh more) plus `margin_kg`. Dunnage and lashing gear left inside weigh up to a few
hundred kilograms, so a margin below that trades precision for recall."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, empty_at, unexplained_openings

NAME = "hotel"
TRIGGERS = ANY  # an unclosed door or a stay grows with every later event


@dataclass(frozen=True)
class Params:
    margin_kg: float = 400.0  # above the heaviest empty box of its type (dunnage left inside weighs less)
    marked_margin_kg: float = 300.0  # above the box's own marked tare
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
    for e in events:
        if e.kind == "SCAN" and empty_at(events, e.t) is True:
            if e.weight is not None and e.tare is not None and e.weight > e.tare + p.marked_margin_kg:
                reason = f"declared empty but weighs {e.weight:,.0f} kg (its tare is {e.tare:,.0f} kg)"
                yield Finding(NAME, tl.container, e.key, reason, (e.key,), e.t)
            elif e.weight is not None and e.tare is None and e.weight > tare + p.margin_kg:
                most = f"an empty {iso or 'box'} weighs at most {tare:,.0f} kg"
                reason = f"declared empty but weighs {e.weight:,.0f} kg ({most})"
                yield Finding(NAME, tl.container, e.key, reason, (e.key,), e.t)
            elif e.verdict in ("SUSPECT", "ALARM"):
                yield Finding(NAME, tl.container, e.key, f"declared empty, scanner verdict {e.verdict}", (e.key,), e.t)
    found = unexplained_openings(events, min_open_s=p.min_open_s, legit_window_s=p.legit_window_s, survey_s=p.survey_s)
    for o in found:
        if o.empty:
            still = "" if o.closed is not None else " (no close reported)"
            reason = f"declared empty, doors opened for {o.seconds / 60:.0f} min{still}"
            yield Finding(NAME, tl.container, o.opened.key, reason, o.keys, o.opened.t)
