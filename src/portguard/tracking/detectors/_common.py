"""Small helpers the detectors share: code sets, seal normalisation, door openings no work explains, and an
'every code' trigger set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from portguard.tracking.models import Ev

ARRIVALS = frozenset({"DISC", "GTIN", "DROP"})
DEPARTURES = frozenset({"GTOT", "LOAD", "PICK"})
CUSTOMS = frozenset({"CUSS", "CUSI", "CUSR"})  # customs decisions: paperwork, not sightings
OPENING_WORK = frozenset({"INSP", "STRP", "STUF"})  # work that opens the doors legitimately
RESEAL_WORK = frozenset({"RSEA", "INSP", "STRP", "STUF"})  # after which new seals are expected


class _Any(frozenset):
    """A trigger set that contains every code: the detector re-runs on any event."""

    def __contains__(self, item: object) -> bool:
        return True


ANY = _Any()

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def seal_set(ev: Ev) -> frozenset[str] | None:
    """The event's seal numbers without punctuation or case ('ML-123456' is 'ML123456'); None when not stated."""
    if not ev.seals:
        return None
    # sorted characters: a clerk swapping two digits writes the same seal
    return frozenset("".join(sorted(_NOT_ALNUM.sub("", s.upper()))) for s in ev.seals)


def laden_import(events: list[Ev]) -> bool:
    """Whether the container came in laden by discharge (an import or transshipment box)."""
    disc = [e for e in events if e.code == "DISC"]
    return bool(disc) and disc[0].empty is not True


def empty_at(events: list[Ev], t: float) -> bool | None:
    """The last stated empty/laden indicator at or before `t`."""
    state: bool | None = None
    for e in events:
        if e.t > t:
            break
        if e.empty is not None:
            state = e.empty
    return state


@dataclass(frozen=True, slots=True)
class Opening:
    """Doors opened at `opened` and closed at `closed` (None: no close reported), open `seconds`, while `empty`."""

    opened: Ev
    closed: Ev | None
    seconds: float
    empty: bool

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.opened.key, self.closed.key) if self.closed is not None else (self.opened.key,)


def unexplained_openings(
    events: list[Ev], *, min_open_s: float, legit_window_s: float, survey_s: float
) -> Iterator[Opening]:
    """Door openings (DRO, closed by the next DRC) that no work explains, in `events` (actual, in order).

    Not reported: sensor bounces (open less than `min_open_s`, or an open door still younger than that at the
    last event), openings within `legit_window_s` of inspection, stripping or stuffing, and the survey of an empty
    box within `survey_s` after its gate-in. An opening followed by another DRO before any DRC lost its close: its
    duration runs to that DRO."""
    work = [e.t for e in events if e.code in OPENING_WORK]
    gate_ins = [e.t for e in events if e.code == "GTIN"]
    for i, e in enumerate(events):
        if e.code != "DRO":
            continue
        nxt = next((c for c in events[i + 1 :] if c.code in ("DRC", "DRO")), None)
        closed = nxt if nxt is not None and nxt.code == "DRC" else None
        end = nxt.t if nxt is not None else events[-1].t
        seconds = end - e.t
        if seconds < min_open_s or any(abs(w - e.t) <= legit_window_s for w in work):
            continue
        empty = empty_at(events, e.t) is True
        if empty and any(0 <= e.t - g <= survey_s for g in gate_ins):
            continue
        yield Opening(e, closed, seconds, empty)
