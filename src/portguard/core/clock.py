"""One clock for the whole application, so tests can move time (lock-outs, token expiry) without sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

_offset_seconds = 0.0


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware, shifted by any offset a test set."""

    return datetime.now(UTC) + timedelta(seconds=_offset_seconds)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (SQLite hands back naive datetimes that were stored as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def midnight(value: date) -> datetime:
    """00:00 UTC of the (UTC) day of `value`, a date or a datetime."""
    if isinstance(value, datetime):
        value = as_utc(value).date()
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset_seconds
    _offset_seconds += seconds


def reset() -> None:
    """Put the clock back to real time (tests only)."""
    global _offset_seconds
    _offset_seconds = 0.0
