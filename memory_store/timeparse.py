"""Parsing times (ISO 8601) and durations (90s, 15m, 2h, 7d, 2w). Pure functions, UTC everywhere."""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from .errors import InvalidInputError, shown

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Beyond this a duration is almost surely a typo, and timedelta overflows soon after.
MAX_DURATION = timedelta(days=365 * 1000)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str | float | int | timedelta) -> timedelta:
    """'90s', '15m', '2h', '7d', '2w' (or seconds as a number) -> timedelta; InvalidInputError otherwise."""
    if isinstance(text, timedelta):
        value = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text) if abs(text) < 1e300 else math.inf  # int(10**400) would overflow float()
        if not math.isfinite(seconds) or seconds <= 0:
            raise InvalidInputError(f"duration must be a positive number of seconds, got {shown(text)}")
        value = _seconds(seconds, text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise InvalidInputError(f"bad duration {shown(text)}: use a number and a unit, like 90s, 15m, 2h, 7d")
        value = _seconds(float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()], text)
    if value <= timedelta(0):
        raise InvalidInputError(f"duration must be positive, got {shown(text)}")
    return value


def _seconds(seconds: float, text: object) -> timedelta:
    # Checked before timedelta(), which overflows (a traceback) not far beyond the limit.
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise InvalidInputError(f"duration {shown(text)} is too long (at most 1000 years)")
    return timedelta(seconds=seconds)


def add_duration(start: datetime, delta: timedelta) -> datetime:
    """start + delta, or one clear error when the result falls outside the times a store can hold."""
    try:
        value = start + delta
    except OverflowError:
        value = None
    if value is None or not 1 <= value.year <= 9998:
        raise InvalidInputError(f"{iso(start)} plus {format_duration(delta)} is out of range")
    return value


def parse_time(text: str | datetime) -> datetime:
    """ISO 8601 (date or date-time, 'Z' allowed) -> aware UTC datetime. Naive times are taken as UTC."""
    if isinstance(text, datetime):
        value = text
    else:
        raw = str(text).strip()
        if not raw:
            raise InvalidInputError("empty time: use ISO 8601, like 2024-05-01 or 2024-05-01T12:00:00Z")
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidInputError(
                f"bad time {shown(text)}: use ISO 8601, like 2024-05-01 or 2024-05-01T12:00:00Z"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 falls before year 1 in UTC
        raise InvalidInputError(f"time {shown(text)} is out of range") from None
    if not 1 <= value.year <= 9998:
        raise InvalidInputError(f"time {shown(text)} is out of range (years 1 to 9998)")
    return value


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive; treat them as the UTC they were written as."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def format_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
