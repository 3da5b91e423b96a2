"""Local-day arithmetic: every conversion between instants and a user's calendar lives here."""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.utils import timezone


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in known_timezones()


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of an IANA name; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(instant: dt.datetime, tz_name: str) -> dt.date:
    """The calendar date of ``instant`` on a wall clock in ``tz_name``."""
    return instant.astimezone(zone(tz_name)).date()


def local_today(tz_name: str, now: dt.datetime | None = None) -> dt.date:
    return local_date(now or timezone.now(), tz_name)


def start_of_local_day(day: dt.date, tz_name: str) -> dt.datetime:
    """The first instant of ``day`` in ``tz_name`` (aware). Handles days that start at 01:00."""
    naive = dt.datetime.combine(day, dt.time.min)
    local = naive.replace(tzinfo=zone(tz_name))
    # zoneinfo resolves a non-existent midnight forward; normalise through UTC.
    return local.astimezone(dt.UTC)
