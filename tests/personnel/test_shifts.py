"""Property tests of the shift window against an independent oracle: the set of hours of the week a shift covers.

The oracle knows nothing of dates or midnight: a shift from `start` for `length` hours on each of its days is the set
of hour-of-week indices `(day * 24 + start + k) % 168`. A time is in the shift with tolerance `tol` (under an hour)
exactly when it, or the time `tol` before or after it, falls in such an hour — every covered stretch is at least an
hour long, so those three points cannot all miss it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from portguard.personnel import signals
from portguard.personnel.models import WEEKDAYS

MONDAY = datetime(2025, 3, 3)  # a Monday, as naive local wall-clock time

hours = st.integers(min_value=0, max_value=23)
days = st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)
moments = st.integers(min_value=0, max_value=21 * 24 * 3600 - 1).map(lambda s: MONDAY + timedelta(seconds=s))
tolerances = st.integers(min_value=0, max_value=59 * 60).map(lambda s: timedelta(seconds=s))


def covered_hours(start: int, end: int, on: list[str]) -> set[int]:
    length = signals.shift_hours(start, end)
    return {(WEEKDAYS.index(d) * 24 + start + k) % 168 for d in on for k in range(length)}


def oracle(when: datetime, start: int, end: int, on: list[str], tol: timedelta) -> bool:
    covered = covered_hours(start, end, on)
    return any((t.weekday() * 24 + t.hour) in covered for t in (when - tol, when, when + tol))


@given(moments, hours, hours, days, tolerances)
def test_in_shift_agrees_with_the_hours_of_the_week(when, start, end, on, tol):
    got = signals.in_shift(when, start=start, end=end, days=on, tolerance=tol)
    assert got == oracle(when, start, end, on, tol)


@given(moments, hours, days)
def test_a_shift_round_the_clock_on_every_day_covers_everything(when, start, on):
    assert signals.in_shift(when, start=start, end=start, days=list(WEEKDAYS), tolerance=timedelta(0))
    full = signals.in_shift(when, start=start, end=start, days=on, tolerance=timedelta(0))
    assert full == oracle(when, start, start, on, timedelta(0))


@given(hours, hours, days)
def test_the_first_and_last_minute_of_each_shift(start, end, on):
    length = signals.shift_hours(start, end)
    for name in on:
        begin = MONDAY + timedelta(days=7 + WEEKDAYS.index(name), hours=start)
        stop = begin + timedelta(hours=length)
        assert signals.in_shift(begin, start=start, end=end, days=on, tolerance=timedelta(0))
        assert signals.in_shift(stop - timedelta(seconds=1), start=start, end=end, days=on, tolerance=timedelta(0))
        widened = timedelta(minutes=15)
        assert signals.in_shift(begin - widened, start=start, end=end, days=on, tolerance=widened)
        assert signals.in_shift(stop + widened - timedelta(seconds=1), start=start, end=end, days=on, tolerance=widened)


@given(st.sampled_from("ABCDEFGHKLMR"), st.integers(min_value=1, max_value=24), st.sampled_from("ABCDEFGHKLMR"))
def test_a_yard_zone_takes_in_its_own_blocks_only(letter, block, other):
    zone = signals.zone_of(f"YARD {letter}{block:02d}-{block:02d}-1")
    assert zone == f"YARD {letter}{block:02d}"
    assert signals.covers(f"YARD {letter}", zone) and signals.covers("YARD", zone)
    assert signals.covers(f"YARD {other}", zone) == (other == letter)
