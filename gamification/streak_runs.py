"""Streak arithmetic on runs of consecutive days (SPEC §4): pure functions, no database.

``services.streaks`` stores what these compute; ``selectors.streaks`` reads it. Daily streaks run
over a user's local dates; friend streaks over the day numbers of a friendship (day 0 is each
friend's local date of its start), see docs/streaks.md.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from gamification.timeutils import MAX_DAY_NUMBER_LAG, ONE_DAY, days_between


# Runs of consecutive dates ---------------------------------------------------------------------
@dataclass(frozen=True)
class DailyStreak:
    length: int = 0
    last_date: dt.date | None = None
    max_length: int = 0
    max_date: dt.date | None = None


def daily_streak_from_days(days: Iterable[dt.date]) -> DailyStreak:
    """The run of consecutive dates that contains the latest date, and the longest run (the
    earliest of equally long runs), each given by its length and last date."""
    streak = DailyStreak()
    for day in sorted(set(days)):
        streak = daily_streak_extend(streak, day)
    return streak


def daily_streak_extend(streak: DailyStreak, day: dt.date) -> DailyStreak:
    """The streak once ``day``, later than every counted day so far, counts too."""
    length = streak.length + 1 if streak.last_date == day - ONE_DAY else 1
    if length > streak.max_length:
        return DailyStreak(length, day, length, day)
    return DailyStreak(length, day, streak.max_length, streak.max_date)


@dataclass(frozen=True)
class FriendStreakState:
    """What ``Friendship`` stores about its friend streak, in day numbers of the friendship (day
    n is each friend's n-th local date from their local date of its start)."""

    length: int = 0
    first_day: int | None = None
    last_day: int | None = None
    low_through: int | None = None
    high_through: int | None = None


def _latest_run(
    shared: set[int], *, known: FriendStreakState | None, floor: int | None
) -> tuple[int, int | None, int | None] | None:
    """``(length, first day, last day)`` of the run containing the latest shared day.

    ``shared`` holds the shared days on or after ``floor`` (all of them when ``floor`` is None).
    ``known`` is the run stored before: every day in it is shared and the day before it was not
    (a day changes only through its own event, which is on or after ``floor``). Returns None when
    the run reaches below ``floor`` through days nothing tells about: the caller reads more
    history.
    """
    latest = max(shared, default=None)
    if known is not None and (latest is None or known.last_day > latest):
        latest = known.last_day
    if latest is None:
        return 0, None, None
    length, first, day = 0, latest, latest
    while day >= 0:
        if known is not None and day == known.last_day:
            length += known.length
            first = known.first_day
            day = first - 1
        elif day in shared:
            length += 1
            first = day
            day -= 1
        elif floor is not None and day < floor and not (known is not None and day == known.first_day - 1):
            return None
        else:
            break
    return length, first, latest


def _through(last: int, days: set[int], *, floor: int | None, stored: int | None) -> int:
    """The last day up to which ``days`` holds every day after ``last``, at most
    ``MAX_DAY_NUMBER_LAG`` days after it. Further is never needed: a run is alive only until the
    day after it is over for a friend who has not counted it, and until then the other friend's
    day number is at most that much further on (see ``selectors.streaks.friend_streak_current``).

    When the days after ``last`` are below the window, the ``stored`` value stands: those days
    changed only through their own events, whose windows covered them.
    """
    if floor is not None and last + 1 < floor and stored is not None:
        return stored
    through = last
    while through < last + MAX_DAY_NUMBER_LAG and through + 1 in days:
        through += 1
    return through


def friend_streak_compute(
    *, stored: FriendStreakState, low_days: set[int], high_days: set[int], floor: int | None
) -> FriendStreakState | None:
    """The friend streak from the days each friend counted (day numbers of the friendship, each
    friend on their own calendar) on or after ``floor`` and the stored run; from the full history
    when ``floor`` is None. None when older history is needed."""
    known = stored if floor is not None and stored.length else None
    run = _latest_run(low_days & high_days, known=known, floor=floor)
    if run is None:
        return None
    length, first, last = run
    if not length or first is None or last is None:
        return FriendStreakState()
    unchanged = bool(stored.length) and last == stored.last_day
    return FriendStreakState(
        length,
        first,
        last,
        _through(last, low_days, floor=floor, stored=stored.low_through if unchanged else None),
        _through(last, high_days, floor=floor, stored=stored.high_through if unchanged else None),
    )


def friend_day_numbers(days: Iterable[dt.date], *, start: dt.date, floor: int | None) -> set[int]:
    """The day numbers (from ``start``, a friend's local date of the friendship's start) of a
    friend's counted local dates, from ``floor`` on (from day 0 when None)."""
    lowest = floor or 0
    numbers = (days_between(start, day) for day in days)
    return {number for number in numbers if number >= lowest}
