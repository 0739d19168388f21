"""Cloned container: one number, two boxes. It shows as the number seen somewhere else while the box is inside a
terminal (between its arrival and its departure there), as two places further apart than a truck could cover in
the time between, as a second arrival at the facility while the box is still inside, or as an ISO size or type
that a box cannot change (a 20-foot dry box seen as a 45-foot reefer). Only sightings count: release steps and
customs decisions are paperwork, stamped where the office is, often before the box arrives. Camera reads count only
above `min_camera_confidence` (OCR misreads would otherwise clone every box)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.detectors import Finding, Timeline
from portguard.tracking.detectors._common import ANY, ARRIVALS, CUSTOMS, DEPARTURES
from portguard.tracking.models import Ev

NAME = "clone"
TRIGGERS = ANY

# Approximate positions of the ports PortGuard's partners report from (for the travel-time check).
PORTS = {
    "NLRTM": (51.95, 4.14),
    "NLAMS": (52.40, 4.80),
    "NLVLI": (51.44, 3.60),
    "BEANR": (51.27, 4.34),
    "BEZEE": (51.33, 3.20),
    "DEHAM": (53.54, 9.97),
    "DEBRV": (53.56, 8.55),
    "FRLEH": (49.48, 0.11),
    "FRDKK": (51.03, 2.37),
    "ESALG": (36.13, -5.44),
    "ESVLC": (39.44, -0.32),
    "ITGOA": (44.40, 8.92),
    "GRPIR": (37.94, 23.63),
    "PLGDN": (54.40, 18.67),
    "GBFXT": (51.95, 1.35),
}


@dataclass(frozen=True)
class Params:
    min_camera_confidence: float = 0.9
    max_speed_kmh: float = 80.0  # road speed including nothing else
    handling_s: float = 900.0  # at least this between leaving one facility and showing up at another
    unknown_distance_s: float = 4 * 3600.0  # needed between two places whose positions are not known


def _where(e: Ev) -> tuple[str | None, str | None]:
    return e.place, e.facility


def _km(a: str, b: str) -> float | None:
    pa, pb = PORTS.get(a), PORTS.get(b)
    if pa is None or pb is None:
        return None
    la1, lo1, la2, lo2 = map(math.radians, (*pa, *pb))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


def _size_type(iso: str) -> str:
    return iso[0] + iso[2]  # length and type letter: 22G1/22GP alike; height (42G1/45G1) is often mistyped


def check(tl: Timeline, p: Params) -> Iterator[Finding]:
    seen = [
        e
        for e in tl.actual()
        if (e.place or e.facility)
        and e.kind != "RELEASE"
        and e.code not in CUSTOMS
        and (e.kind != "CAMERA" or (e.confidence or 0) >= p.min_camera_confidence)
    ]
    inside: Ev | None = None  # the arrival event of the stay in progress
    prev: Ev | None = None
    for e in seen:
        here = _where(e)
        if inside is not None and here != _where(inside):
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"seen at {e.place or '?'}/{e.facility or '?'} ({e.code}) while inside "
                f"{inside.place or '?'}/{inside.facility or '?'} since {inside.code}",
                (inside.key, e.key),
                e.t,
            )
        elif inside is not None and e.code in ARRIVALS:
            yield Finding(
                NAME,
                tl.container,
                e.key,
                f"arrived again at {e.place or '?'}/{e.facility or '?'} ({e.code}) while inside since {inside.code}",
                (inside.key, e.key),
                e.t,
            )
        elif prev is not None and _where(prev) != here:
            gap = e.t - prev.t
            km = _km(prev.place, e.place) if prev.place and e.place and prev.place != e.place else 0.0
            need = p.handling_s + (km / p.max_speed_kmh * 3600 if km else 0.0)
            if km is None:
                need = p.unknown_distance_s
            if gap < need:
                yield Finding(
                    NAME,
                    tl.container,
                    e.key,
                    f"at {prev.place}/{prev.facility} and {e.place}/{e.facility} {gap / 60:.0f} min apart "
                    f"(needs {need / 60:.0f} min)",
                    (prev.key, e.key),
                    e.t,
                )
        if e.code in ARRIVALS and inside is None:
            inside = e
        elif e.code in DEPARTURES and inside is not None and here == _where(inside):
            inside = None
        prev = e
    kinds: dict[str, Ev] = {}
    for e in tl.actual():
        if e.iso:
            kinds.setdefault(_size_type(e.iso), e)
    if len(kinds) > 1:
        first, *others = sorted(kinds.values(), key=lambda e: e.t)
        for o in others:
            yield Finding(
                NAME,
                tl.container,
                f"iso:{o.key}",
                f"declared as {first.iso} at {first.code} but as {o.iso} at {o.code}",
                (first.key, o.key),
                o.t,
            )
