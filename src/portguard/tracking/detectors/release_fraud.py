"""Pick-up without a valid release right: a laden import, or any box released against a right (empties picked up
on an empty release), gated out with no gate check passed shortly before (the stolen-PIN pick-up), by a driver
other than the one the right was last assigned to, after the right was revoked, or right after the gate refused
the driver. Release steps reach the timeline as RELEASE events (from the release
domain or a partner's system); the gate's clock and the terminal's differ by seconds, hence `tolerance_s`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import laden_import

NAME = "release_fraud"
TRIGGERS = frozenset({"GTOT", "GATE_ALLOWED", "GATE_DENIED", "TRANSFERRED", "ISSUED", "REVOKED", "DISC"})


@dataclass(frozen=True)
class Params:
    tolerance_s: float = 120.0
    allowed_before_s: float = 2 * 3600.0  # a passed gate check counts for this long before the gate-out


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    events = tl.actual()
    if not laden_import(events) and not any(e.kind == "RELEASE" for e in events):
        return
    for g in (e for e in events if e.code == "GTOT"):
        window = [e for e in events if g.t - p.allowed_before_s <= e.t <= g.t + p.tolerance_s]
        allowed = [e for e in window if e.code == "GATE_ALLOWED"]
        denied = [e for e in window if e.code == "GATE_DENIED"]
        if not allowed:
            why = "gate refused the driver, then it left" if denied else "no release-right gate check passed"
            yield Finding(NAME, tl.container, g.key, f"gated out: {why}", (g.key, *(d.key for d in denied)), g.t)
            continue
        ok = allowed[-1]
        steps = [e for e in events if e.right == ok.right and e.t <= ok.t + p.tolerance_s and e is not ok]
        revoked = [e for e in steps if e.code == "REVOKED"]
        assigned = [e for e in steps if e.code == "TRANSFERRED" and e.driver]
        if revoked:
            yield Finding(
                NAME,
                tl.container,
                g.key,
                f"gated out on right {ok.right}, which was revoked",
                (g.key, ok.key, revoked[-1].key),
                g.t,
            )
        elif assigned and ok.driver and assigned[-1].driver != ok.driver:
            yield Finding(
                NAME,
                tl.container,
                g.key,
                f"picked up by driver {ok.driver}, but right {ok.right} was assigned to {assigned[-1].driver}",
                (g.key, ok.key, assigned[-1].key),
                g.t,
            )
