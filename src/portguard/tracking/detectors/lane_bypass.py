"""High-risk lane bypassed: customs selected the box for a scan or an inspection (a CUSS or CUSI event, or an open
scan or physical control order on its declaration) and it left the terminal with no scan or inspection after the
selection. A corrupt insider who moves a selected box past the scanner leaves exactly this trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ARRIVALS, DEPARTURES

NAME = "lane_bypass"
TRIGGERS = frozenset({"CUSS", "CUSI", "SCAN", "INSP", "GTOT", "LOAD", "DISC", "GTIN"})


@dataclass(frozen=True)
class Params:
    use_declaration_lane: bool = True  # also count a control order on the declaration as a selection


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    selections = [e for e in events if e.code in ("CUSS", "CUSI")]
    start = selections[0] if selections else None
    if start is None and p.use_declaration_lane and tl.context.get("lane") == "red":
        start = next((e for e in events if e.code in ARRIVALS), None)
        why = "its declaration was selected for control"
    else:
        why = f"customs selected it ({start.code})" if start else ""
    if start is None:
        return
    checked = any(e.t >= start.t and (e.kind == "SCAN" or e.code == "INSP") for e in events)
    if checked:
        return
    for e in events:
        if e.code in DEPARTURES and e.t >= start.t:
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"{why} but it left ({e.code}) with no scan or inspection",
                (start.key, e.key),
                e.t,
            )
            return
