"""Streak arithmetic on runs of consecutive days (SPEC §4): pure functions, no database.

``services.streaks`` stores what these compute; ``selectors.streaks`` reads it. Daily streaks run
over a user's local dates; friend streaks over the day numbers of a friendship (day 0 is each
friend's local date of its start), see docs/streaks.md.
"""

import datetime as dt
from collections.abc import Iterable, Set
from dataclasses import dataclass

from gamification.timeutils import MAX_DAY_NUMBER_LAG, days_between


# Runs of consecutive dates ---------------------------------------------------------------------
@dataclass(frozen=True)
class FreezeRule:
    """Streak freezes: one earned on every ``every``-th counted day of a run, at most ``most``
    held (settings ``STREAK_FREEZE_EVERY_DAYS`` and ``STREAK_FREEZES_MAX``)."""

    every: int = 7
    most: int = 2


NO_FREEZES = FreezeRule(every=0, most=0)


@dataclass(frozen=True)
class DailyStreak:
    """A language streak as of its last counted day.

    ``length``/``last_date``: the run that contains the latest counted day (frozen days bridge
    it without adding to it); ``max_length``/``max_date``: the longest run (the earliest of
    equally long runs); ``freezes``: freezes held after ``last_date``; ``frozen``: the dates
    spent inside the run, oldest first.
    """

    length: int = 0
    last_date: dt.date | None = None
    max_length: int = 0
    max_date: dt.date | None = None
    freezes: int = 0
    frozen: tuple[dt.date, ...] = ()


def _missed_between(earlier: dt.date, later: dt.date, *, rest: Set[dt.date], most: int) -> list[dt.date] | None:
    """The dates strictly between ``earlier`` and ``later`` that are not rest days, or None when
    there are more than ``most`` of them (without listing a long gap day by day)."""
    span = days_between(earlier, later) - 1
    if span <= 0:
        return []
    resting = sum(1 for day in rest if earlier < day < later)
    if span - resting > most:
        return None
    return [earlier + dt.timedelta(days=n) for n in range(1, span + 1) if earlier + dt.timedelta(days=n) not in rest]


def daily_streak_from_days(
    days: Iterable[dt.date], *, rest: Set[dt.date] = frozenset(), freezes: FreezeRule = NO_FREEZES
) -> DailyStreak:
    """The streak of a language from its counted dates and the user's rest days: a walk over
    the counted dates in order (``daily_streak_extend``). A counted date that is a rest day
    adds nothing."""
    streak = DailyStreak()
    for day in sorted(set(days) - set(rest)):
        streak = daily_streak_extend(streak, day, rest=rest, freezes=freezes)
    return streak


def daily_streak_extend(
    streak: DailyStreak, day: dt.date, *, rest: Set[dt.date] = frozenset(), freezes: FreezeRule = NO_FREEZES
) -> DailyStreak:
    """The streak once ``day``, later than every counted day so far and not a rest day, counts
    too. Rest days between the last counted day and ``day`` are neither missed nor counted; the
    k other days between them are bridged when at least k freezes are held (k are spent), else
    the run breaks and starts again at ``day`` with the freezes held kept. The ``every``-th
    counted day of a run earns a freeze, up to ``most`` held."""
    held, frozen, length = streak.freezes, (), 1
    if streak.last_date is not None:
        missed = _missed_between(streak.last_date, day, rest=rest, most=held)
        if missed is not None:
            held -= len(missed)
            frozen = (*streak.frozen, *missed)
            length = streak.length + 1
    if freezes.every and length % freezes.every == 0:
        held = min(freezes.most, held + 1)
    if length > streak.max_length:
        return DailyStreak(length, day, length, day, held, frozen)
    return DailyStreak(length, day, streak.max_length, streak.max_date, held, frozen)


@dataclass(frozen=True)
class DailyStreakNow:
    """A language streak as shown at some local date: missed days since the last counted day
    spend freezes as they end (all of them, or none when there are not enough: the run broke)."""

    daily_streak: int
    freezes_held: int
    frozen_days: tuple[dt.date, ...]
    counts_today: bool


def daily_streak_on(streak: DailyStreak, *, today: dt.date, rest: Set[dt.date] = frozenset()) -> DailyStreakNow:
    """The streak shown on the user's local ``today``: the stored run while the days missed since
    its last day that are already over (before ``today``, rest days excepted) are no more than
    the freezes held, spending them; else 0, the freezes kept. ``counts_today``: ``today`` is a
    counted day (``last_date``, or inside the run after a move to a zone behind)."""
    if not streak.length or streak.last_date is None:
        return DailyStreakNow(0, streak.freezes, (), False)
    if streak.last_date >= today:  # later only after a move to a zone behind
        return DailyStreakNow(
            streak.length, streak.freezes, streak.frozen, today not in streak.frozen and today not in rest
        )
    missed = _missed_between(streak.last_date, today, rest=rest, most=streak.freezes)
    if missed is None:
        return DailyStreakNow(0, streak.freezes, (), False)
    return DailyStreakNow(streak.length, streak.freezes - len(missed), (*streak.frozen, *missed), False)


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
    shared: set[int], *, known: FriendStreakState | None, floor: int | None, neutral: Set[int] = frozenset()
) -> tuple[int, int | None, int | None] | None:
    """``(length, first day, last day)`` of the run containing the latest shared day.

    ``shared`` holds the shared days on or after ``floor`` (all of them when ``floor`` is None).
    ``known`` is the run stored before: every day in it is shared and the day before it was not
    (a day changes only through its own event, which is on or after ``floor``). A ``neutral``
    day (either friend rests or spends a freeze) neither breaks the run nor adds to it: the walk
    steps over it. Returns None when
    the run reaches below ``floor`` through days nothing tells about: the caller reads more
    history.
    """
    latest = max(shared, default=None)
    if known is not None and (latest is None or known.last_day > latest):
        latest = known.last_day
    if latest is None:
        return 0, None, None
    # Right below the stored run, only neutral days so far: the run's stored start stands.
    length, first, day, below_known = 0, latest, latest, False
    while day >= 0:
        if known is not None and day == known.last_day:
            length += known.length
            first = known.first_day
            day = first - 1
            below_known = True
        elif day in shared:
            length += 1
            first = day
            day -= 1
            below_known = False
        elif day in neutral and length:
            day -= 1
        elif floor is not None and day < floor and not below_known:
            return None
        else:
            break
    return length, first, latest


def _through(
    last: int, days: set[int], *, floor: int | None, stored: int | None, neutral: Set[int] = frozenset()
) -> int:
    """The last day up to which ``days`` holds every day after ``last``, at most
    ``MAX_DAY_NUMBER_LAG`` days after it. Further is never needed: a run is alive only until the
    day after it is over for a friend who has not counted it, and until then the other friend's
    day number is at most that much further on (see ``selectors.streaks.friend_streak_current``).

    When the days after ``last`` are below the window, the ``stored`` value stands: those days
    changed only through their own events, whose windows covered them.

    ``neutral`` days continue it without counting toward that limit: nobody can miss them.
    """
    if floor is not None and last + 1 < floor and stored is not None:
        return stored
    through, steps = last, 0
    while True:
        if through + 1 in neutral:
            through += 1
        elif steps < MAX_DAY_NUMBER_LAG and through + 1 in days:
            through += 1
            steps += 1
        else:
            return through


def friend_streak_compute(
    *,
    stored: FriendStreakState,
    low_days: set[int],
    high_days: set[int],
    floor: int | None,
    neutral: Set[int] = frozenset(),
) -> FriendStreakState | None:
    """The friend streak from the days each friend counted (day numbers of the friendship, each
    friend on their own calendar) on or after ``floor`` and the stored run; from the full history
    when ``floor`` is None. ``neutral``: the days on which either friend rested or spent a
    freeze, which neither break nor grow it. None when older history is needed."""
    known = stored if floor is not None and stored.length else None
    run = _latest_run((low_days & high_days) - set(neutral), known=known, floor=floor, neutral=neutral)
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
        _through(last, low_days, floor=floor, stored=stored.low_through if unchanged else None, neutral=neutral),
        _through(last, high_days, floor=floor, stored=stored.high_through if unchanged else None, neutral=neutral),
    )


def friend_day_numbers(days: Iterable[dt.date], *, start: dt.date, floor: int | None) -> set[int]:
    """The day numbers (from ``start``, a friend's local date of the friendship's start) of a
    friend's counted local dates, from ``floor`` on (from day 0 when None)."""
    lowest = floor or 0
    numbers = (days_between(start, day) for day in days)
    return {number for number in numbers if number >= lowest}
