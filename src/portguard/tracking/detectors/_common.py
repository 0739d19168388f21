"""Small helpers the detectors share: code sets, seal normalisation, and an 'every code' trigger set."""

from __future__ import annotations

import re

from portguard.tracking.models import Ev

ARRIVALS = frozenset({"DISC", "GTIN", "DROP"})
DEPARTURES = frozenset({"GTOT", "LOAD", "PICK"})
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
