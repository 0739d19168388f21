"""Seal changed without a reseal or an inspection: within one stay at a facility, the seal at a later event differs
from the one before, and no RSEA, INSP, STRP or STUF lies between. Seal numbers are compared without punctuation or
case, because terminals and carriers write the same seal differently.

Seals are compared within a stay (arrival to departure at one place and facility), never across facilities: a box
with a cloned number shows up elsewhere, or at a second gate-in while the real one is inside, with seals of its own.
That is the clone detector's finding; an arrival while the box is already inside is skipped here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ARRIVALS, DEPARTURES, RESEAL_WORK, seal_set
from portguard.tracking.models import EQUIPMENT_CODES, Ev

NAME = "seal_tamper"
TRIGGERS = EQUIPMENT_CODES  # any equipment event may state seals


@dataclass(frozen=True)
class Params:
    ignore_missing: bool = True  # an event that states no seals says nothing about them


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    last: dict[tuple[str | None, str | None], tuple[frozenset[str], Ev] | None] = {}  # per facility
    inside: set[tuple[str | None, str | None]] = set()
    for e in tl.actual():
        where = (e.place, e.facility)
        if e.code in ARRIVALS:
            if where in inside:
                continue  # a second box with this number arriving: the clone detector's
            inside.add(where)
            last[where] = None  # a new stay: its first seals are the reference
        elif e.code in DEPARTURES:
            inside.discard(where)
        seals = seal_set(e)
        if e.code in RESEAL_WORK:
            last[where] = (seals, e) if seals is not None else None  # new seals after work on the box
            continue
        if seals is None:
            continue
        before = last.get(where)
        if before is not None and seals - before[0] and before[0] - seals:
            old, ref = before
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"seal {', '.join(sorted(seals))} at {e.code} differs from {', '.join(sorted(old))} at "
                f"{ref.code}, with no reseal or inspection between",
                (ref.key, e.key),
                e.t,
            )
        last[where] = (seals, e)
