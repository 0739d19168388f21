"""Door opened outside inspection or stripping: the signature of rip-on/rip-off (drugs put in or taken out of a
box in the yard) and of extraction teams. Door sensors bounce, so an opening shorter than `min_open_s` is noise;
customs inspections and stripping open doors legitimately, so an opening within `legit_window_s` of such work is
not reported. Openings of an empty box are the hotel detector's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, OPENING_WORK, empty_at

NAME = "door_open"
TRIGGERS = ANY  # an unclosed door or a stay grows with every later event


@dataclass(frozen=True)
class Params:
    min_open_s: float = 60.0  # shorter openings are sensor bounce
    legit_window_s: float = 3 * 3600.0  # inspection/stripping within this of the opening makes it legitimate


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    work = [e.t for e in events if e.code in OPENING_WORK]
    for i, e in enumerate(events):
        if e.code != "DRO":
            continue
        close = next((c for c in events[i + 1 :] if c.code == "DRC"), None)
        if close is not None:
            duration = close.t - e.t
        else:
            last = events[-1].t
            if last - e.t < p.min_open_s:
                continue  # still open, too early to tell a bounce from an opening
            duration = last - e.t
        if duration < p.min_open_s:
            continue
        if any(abs(w - e.t) <= p.legit_window_s for w in work):
            continue
        if empty_at(events, e.t) is True:
            continue
        minutes = duration / 60
        keys = (e.key, close.key) if close is not None else (e.key,)
        where = f" at {e.spot}" if e.spot else ""
        yield Finding(
            NAME, tl.container, e.key, f"doors open {minutes:.0f} min{where} with no inspection or stripping", keys, e.t
        )
