"""Date and time arithmetic in UTC (ISO 8601 in and out)."""
from __future__ import annotations

from memory_store.timeparse import parse_duration, parse_time

from ..decorator import skill

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


@skill(tags=["time"], examples=["What date is 90 days after 2024-03-01?", "Subtract 2 weeks from today"])
def date_add(date: str, duration: str, subtract: bool = False) -> str:
    """Add (or subtract) a duration to a date or date-time and return the ISO 8601 result.

    Args:
        date: An ISO 8601 date or date-time, for example "2024-05-01" or "2024-05-01T12:00:00Z".
        duration: A duration such as "90s", "15m", "2h", "7d" or "2w".
        subtract: Subtract the duration instead of adding it.
    """
    start, delta = parse_time(date), parse_duration(duration)
    return (start - delta if subtract else start + delta).isoformat()


@skill(tags=["time"], examples=["How many days are there between 2024-01-01 and 2024-12-25?"])
def date_diff(start: str, end: str, unit: str = "days") -> float:
    """The time from start to end (negative when end is earlier) in seconds, minutes, hours, days or weeks.

    Args:
        start: The first ISO 8601 date or date-time.
        end: The second ISO 8601 date or date-time.
        unit: One of seconds, minutes, hours, days, weeks.
    """
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {', '.join(_UNITS)}")
    return round((parse_time(end) - parse_time(start)).total_seconds() / _UNITS[unit], 6)


@skill(tags=["time"], examples=["What day of the week was 2000-01-01?"])
def weekday(date: str) -> str:
    """The day of the week of a date.

    Args:
        date: An ISO 8601 date, for example "2024-05-01".
    """
    return parse_time(date).strftime("%A")
