"""Smuggling-pattern detectors over one container's timeline, and the tracker that runs them as events arrive.

Each detector is a small module with a `Params` dataclass (its tunable thresholds, documented) and a function
`check(tl: Timeline, p: Params) -> Iterator[Finding]` that reads the whole timeline, ordered by event time. A
finding carries a stable `key` (what it is about, e.g. the door-open event's id), so re-running a detector after
a late event yields the same key for the same finding: the tracker reports a key it has not seen as raised, and a
key that no longer comes out as withdrawn. That is how out-of-order events are placed by event time and the
detectors re-evaluated, without a second code path for "late".

Re-running every detector on every event costs a pass over the timeline per detector; timelines are short (a
container's stay in a port is tens of events), and a detector is skipped when the new event has none of its
`TRIGGERS` codes and arrived in order (its findings cannot have changed).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from types import ModuleType
from typing import Any

from portguard.tracking.models import Ev


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector firing: what, about which container, why, and the events that show it."""

    detector: str
    container: str
    key: str
    reason: str
    event_keys: tuple[str, ...]
    t: float
    severity: str = "high"


@dataclass
class Timeline:
    """A container's events ordered by (event time, id), with the findings standing at the moment."""

    container: str
    events: list[Ev] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # e.g. the declaration's risk lane

    def add(self, ev: Ev) -> bool:
        """Place `ev` by event time; False when it was already there (a redelivery). Returns whether in order."""
        if ev.key in self.keys:
            raise DuplicateEvent(ev.key)
        self.keys.add(ev.key)
        if not self.events or (ev.t, ev.key) >= (self.events[-1].t, self.events[-1].key):
            self.events.append(ev)
            return True
        bisect.insort(self.events, ev, key=lambda e: (e.t, e.key))
        return False

    def replace(self, ev: Ev) -> None:
        """Put a newer version of an event in place of the stored one (DCSA: same id, later update)."""
        self.events = [e for e in self.events if e.key != ev.key]
        self.keys.discard(ev.key)
        self.add(ev)

    def remove(self, key: str) -> None:
        """Drop a retracted event."""
        self.events = [e for e in self.events if e.key != key]
        self.keys.discard(key)

    def actual(self) -> list[Ev]:
        """Events that happened (classifier ACT), in order."""
        return [e for e in self.events if e.classifier == "ACT"]


class DuplicateEvent(Exception):
    """The event id is already on the timeline."""


def _load() -> dict[str, ModuleType]:
    from portguard.tracking.detectors import (
        clone,
        door_open,
        hotel,
        impossible_order,
        lane_bypass,
        release_fraud,
        seal_tamper,
        yard_move,
    )

    mods = (impossible_order, door_open, seal_tamper, clone, hotel, yard_move, lane_bypass, release_fraud)
    return {m.NAME: m for m in mods}


def detectors() -> dict[str, ModuleType]:
    """Every detector module by name, in the order they run."""
    global _DETECTORS
    if _DETECTORS is None:
        _DETECTORS = _load()
    return _DETECTORS


_DETECTORS: dict[str, ModuleType] | None = None


def default_params() -> dict[str, Any]:
    """Each detector's default thresholds."""
    return {name: mod.Params() for name, mod in detectors().items()}


def parse_params(settings: Iterable[str]) -> dict[str, Any]:
    """Thresholds from `detector.field=value` strings (the CLI's `--param`), over the defaults."""
    params = default_params()
    for item in settings:
        name, _, value = item.partition("=")
        det, _, attr = name.strip().partition(".")
        if det not in params or attr not in {f.name for f in fields(params[det])}:
            known = ", ".join(f"{d}.{f.name}" for d, p in params.items() for f in fields(p))
            raise ValueError(f"unknown threshold {name!r}; known: {known}")
        current = getattr(params[det], attr)
        cast: Callable[[str], Any] = type(current) if current is not None else float
        params[det] = replace(params[det], **{attr: cast(value)})
    return params


@dataclass
class Change:
    """What one event changed: findings raised and findings withdrawn."""

    raised: list[Finding] = field(default_factory=list)
    withdrawn: list[Finding] = field(default_factory=list)


class Tracker:
    """Timelines in memory and the detectors over them; the service and the benchmark both drive one."""

    def __init__(self, params: dict[str, Any] | None = None, *, only: Iterable[str] | None = None) -> None:
        mods = detectors()
        chosen = list(only) if only is not None else list(mods)
        self.mods = [mods[n] for n in chosen]
        self.params = params or default_params()
        self.timelines: dict[str, Timeline] = {}

    def timeline(self, container: str) -> Timeline:
        tl = self.timelines.get(container)
        if tl is None:
            tl = self.timelines[container] = Timeline(container)
        return tl

    def add(self, ev: Ev) -> Change:
        """Place one event on its container's timeline and re-check; a duplicate id changes nothing."""
        if ev.container is None:
            return Change()
        tl = self.timeline(ev.container)
        try:
            in_order = tl.add(ev)
        except DuplicateEvent:
            return Change()
        return self.evaluate(tl, changed=None if not in_order else ev.code)

    def evaluate(self, tl: Timeline, *, changed: str | None = None) -> Change:
        """Re-run the detectors (those triggered by code `changed`, or all when None) and diff their findings."""
        change = Change()
        for mod in self.mods:
            if changed is not None and changed not in mod.TRIGGERS:
                continue
            name = mod.NAME
            now = {(name, f.key): f for f in mod.check(tl, self.params[name])}
            before = [k for k in tl.findings if k[0] == name]
            for k in before:
                if k not in now:
                    change.withdrawn.append(tl.findings.pop(k))
            for k, f in now.items():
                if k not in tl.findings:
                    tl.findings[k] = f
                    change.raised.append(f)
        return change


def run(events: Iterable[Ev], params: dict[str, Any] | None = None) -> Iterator[Finding]:
    """Every finding standing after all `events` (in the order given), for evaluation and tests."""
    tracker = Tracker(params)
    for ev in events:
        tracker.add(ev)
    for tl in tracker.timelines.values():
        yield from tl.findings.values()
