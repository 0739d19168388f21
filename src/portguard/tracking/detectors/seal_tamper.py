"""Seal changed without a reseal or an inspection: the seal at a later event differs from the one before, and no
RSEA, INSP, STRP or STUF lies between. Seal numbers are compared without punctuation or case, because terminals
and carriers write the same seal differently."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import RESEAL_WORK, seal_set
from portguard.tracking.models import EQUIPMENT_CODES

NAME = "seal_tamper"
TRIGGERS = EQUIPMENT_CODES  # any equipment event may state seals


@dataclass(frozen=True)
class Params:
    ignore_missing: bool = True  # an event that states no seals says nothing about them


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    last = None
    last_ev = None
    for e in tl.actual():
        if e.code in RESEAL_WORK:
            last = seal_set(e)  # new seals after work on the box (None: not stated yet)
            last_ev = e if last is not None else None
            continue
        seals = seal_set(e)
        if seals is None:
            continue
        if last is not None and seals - last and last - seals and last_ev is not None:
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"seal {', '.join(sorted(seals))} at {e.code} differs from {', '.join(sorted(last))} at "
                f"{last_ev.code}, with no reseal or inspection between",
                (last_ev.key, e.key),
                e.t,
            )
        last, last_ev = seals, e
