"""Door opened outside inspection or stripping: the signature of rip-on/rip-off (drugs put in or taken out of a
box in the yard) and of extraction teams. Door sensors bounce, so an opening shorter than `min_open_s` is noise;
customs inspections and stripping open doors legitimately, so an opening within `legit_window_s` of such work is
not reported, nor the survey of an empty box just after its gate-in. Openings of an empty box are reported here
and by the hotel detector (a box declared empty that is opened in the yard is both)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, unexplained_openings

NAME = "door_open"
TRIGGERS = ANY  # an unclosed door or a stay grows with every later event


@dataclass(frozen=True)
class Params:
    min_open_s: float = 60.0  # shorter openings are sensor bounce
    legit_window_s: float = 3 * 3600.0  # inspection/stripping within this of the opening makes it legitimate
    survey_s: float = 3600.0  # empties are opened for the damage survey at gate-in


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    found = unexplained_openings(events, min_open_s=p.min_open_s, legit_window_s=p.legit_window_s, survey_s=p.survey_s)
    for o in found:
        where = f" at {o.opened.spot}" if o.opened.spot else ""
        still = "" if o.closed is not None else " (no close reported)"
        what = "empty box, doors" if o.empty else "doors"
        reason = f"{what} open {o.seconds / 60:.0f} min{where}{still} with no inspection or stripping"
        yield Finding(NAME, tl.container, o.opened.key, reason, o.keys, o.opened.t)
