"""Local-day arithmetic: every conversion between instants and a user's calendar lives here."""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.utils import timezone

# Files of the system's zone database that are not IANA time zone names: "Factory" (IANA's
# placeholder zone for machines not yet set up, abbreviated "-00") and the local machine's own
# zone ("localtime", "posixrules" on Debian).
NOT_USER_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """IANA time zone names a user may choose (``Europe/Copenhagen``, ``UTC``, ``Etc/GMT+10``)."""
    return frozenset(name for name in available_timezones() if name not in NOT_USER_ZONES)


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


# Leaderboard periods (SPEC §8) -----------------------------------------------------------------
PERIOD_WEEK = "week"
PERIOD_MONTH = "month"
PERIOD_ALL = "all"
PERIODS: tuple[str, ...] = (PERIOD_WEEK, PERIOD_MONTH, PERIOD_ALL)


def week_monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def month_first_shifted(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` months after ``day``'s month (negative: before)."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(
    period: str, offset: int, tz_name: str, now: dt.datetime | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(start, end)`` of a leaderboard period on ``tz_name``'s calendar: start inclusive, end
    exclusive, both aware and expressed in that zone; ``(None, None)`` for ``all``.

    ``week`` is the ISO week (Monday 00:00 local to the next Monday 00:00), ``month`` the calendar
    month; ``offset`` 0 is the period containing ``now``, -1 the one before, and so on. Weeks and
    months are counted in local days, so a period that crosses a DST change is 1 hour shorter
    or longer than seven 24-hour days.
    """
    if period == PERIOD_ALL:
        return None, None
    today = local_today(tz_name, now)
    if period == PERIOD_WEEK:
        first = week_monday(today) + dt.timedelta(weeks=offset)
        after = first + dt.timedelta(weeks=1)
    elif period == PERIOD_MONTH:
        first = month_first_shifted(today, offset)
        after = month_first_shifted(first, 1)
    else:
        raise ValueError(f"Unknown period {period!r}.")
    local_zone = zone(tz_name)
    return (
        start_of_local_day(first, tz_name).astimezone(local_zone),
        start_of_local_day(after, tz_name).astimezone(local_zone),
    )


# Streak days (SPEC §4) -------------------------------------------------------------------------
# Two wall clocks are at most 26 hours apart (UTC+14 and UTC-12), so on any instant the local
# dates of two users differ by at most this many days.
MAX_LOCAL_DATE_SPREAD = 2
ONE_DAY = dt.timedelta(days=1)


def local_yesterday(tz_name: str, now: dt.datetime | None = None) -> dt.date:
    return local_today(tz_name, now) - ONE_DAY


def days_between(earlier: dt.date, later: dt.date) -> int:
    """Whole calendar days from ``earlier`` to ``later`` (negative when ``later`` is earlier).
    Calendar dates, not 24-hour spans: a DST day of 23 or 25 hours is one day."""
    return (later - earlier).days


# Days of a friendship (SPEC §4.2) ---------------------------------------------------------------
# Day n of a friendship is, for each friend, their n-th local date from their local date of its
# start (day 0), each on their own calendar.
#
# At one instant the two friends' day numbers differ by at most 1 while neither zone changes its
# offset: a day number is the count of local midnights since the start, and two lattices of
# midnights 24 hours apart cut any interval into counts that differ by at most one. A change of
# the difference between the two offsets (DST on one side, or on both in opposite hemispheres)
# shifts one lattice by less than a day, which can add one more: at most 2.
MAX_DAY_NUMBER_LAG = 2


def local_day_number(instant: dt.datetime, *, since: dt.datetime, tz_name: str) -> int:
    """The day number of ``instant`` counted from ``since`` on ``tz_name``'s calendar: 0 on the
    local date of ``since``, 1 on the next date, and so on (negative before it)."""
    return days_between(local_date(since, tz_name), local_date(instant, tz_name))
