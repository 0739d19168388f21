"""Impossible order: a gate-out before the container was discharged, or a laden import leaving without customs
release. Either means the terminal's record was forged or a box left that should not have (release fraud, a
cloned box driven out). A late customs-release event withdraws the alert, since findings are recomputed by event
time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import laden_import

NAME = "impossible_order"
TRIGGERS = frozenset({"GTOT", "DISC", "CUSR", "GTIN"})


@dataclass(frozen=True)
class Params:
    tolerance_s: float = 120.0  # clock skew between the terminal's and customs' systems
    require_customs_release: bool = True  # a laden import needs CUSR before gate-out


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    gtots = [e for e in events if e.code == "GTOT"]
    if not gtots:
        return
    discs = [e for e in events if e.code == "DISC"]
    releases = [e.t for e in events if e.code == "CUSR"]
    laden = laden_import(events)
    for g in gtots:
        if discs and all(d.t > g.t + p.tolerance_s for d in discs):
            d = discs[0]
            yield Finding(NAME, tl.container, g.key, "gated out before it was discharged", (g.key, d.key), g.t)
            continue
        if p.require_customs_release and laden and not any(r <= g.t + p.tolerance_s for r in releases):
            yield Finding(
                NAME, tl.container, g.key, "laden import gated out without customs release (no CUSR)", (g.key,), g.t
            )
