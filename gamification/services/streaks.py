"""Daily streaks per language and friend streaks (SPEC §4). The rules are in docs/streaks.md.

Event ingestion calls ``practice_record`` for every accepted practice event inside its
transaction; ``rebuild_metrics`` calls ``streaks_rebuild``. Reading is in
``gamification.selectors.streaks`` and never writes.

Locks, always taken in this order: the practice day row (by its ``UPDATE``), the user's
``LanguageStreak`` rows, the STREAK_DAYS metric row, then the user's active friendships in
primary-key order. A MariaDB deadlock between two users' concurrent updates of their shared
friendship is retried by the outermost transaction (``atomic_with_retry``).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import F, Q

from gamification.models import (
    ActivityEvent,
    ActivityType,
    EventType,
    Friendship,
    LanguageStreak,
    PracticeDay,
    User,
    UserBadge,
)
from gamification.rules import STREAK_DAYS
from gamification.selectors.streaks import daily_streak_current
from gamification.services.db import atomic_with_retry
from gamification.services.metrics import metric_set
from gamification.timeutils import (
    MAX_LOCAL_DATE_SPREAD,
    ONE_DAY,
    days_between,
    latest_local_date,
    local_date,
)

# A practice event updates friend streaks from the counted days of both friends on and after
# this many days before its local date. Enough to see the day before it (a friendship's first
# day, when both practised before becoming friends) and, for every run that can still be alive,
# the dates after the run (see ``_through``). Older history is read only when a late event joins
# a run that reaches further back.
FRIEND_WINDOW_DAYS = MAX_LOCAL_DATE_SPREAD + 1

T = TypeVar("T")


def _min_seconds() -> int:
    return settings.STREAK_MIN_SECONDS_PER_DAY


def _in_transaction(fn: Callable[[], T]) -> T:
    """Inside the caller's transaction (event ingestion) run as part of it, without a savepoint:
    an error rolls the caller back as a whole and the caller retries. Alone, own a transaction
    retried on deadlocks."""
    if connection.in_atomic_block:
        return fn()
    return atomic_with_retry(fn)


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
        streak = _daily_streak_extend(streak, day)
    return streak


def _daily_streak_extend(streak: DailyStreak, day: dt.date) -> DailyStreak:
    """The streak once ``day``, later than every counted day so far, counts too."""
    length = streak.length + 1 if streak.last_date == day - ONE_DAY else 1
    if length > streak.max_length:
        return DailyStreak(length, day, length, day)
    return DailyStreak(length, day, streak.max_length, streak.max_date)


@dataclass(frozen=True)
class FriendStreakState:
    """What ``Friendship`` stores about its friend streak."""

    length: int = 0
    last_date: dt.date | None = None
    low_through: dt.date | None = None
    high_through: dt.date | None = None


def friend_streak_start(*, created_at: dt.datetime, tz_names: Iterable[str]) -> dt.date:
    """A friendship's first day: the later of the two friends' local dates of its creation, the
    first date on which, in both calendars, the two were friends for at least part of the day."""
    return latest_local_date(created_at, tz_names)


def _latest_run(
    shared: set[dt.date],
    *,
    known_run: tuple[dt.date, dt.date] | None,
    start: dt.date | None,
    floor: dt.date | None,
) -> tuple[int, dt.date | None] | None:
    """``(length, last date)`` of the run containing the latest shared date.

    ``shared`` holds the shared dates on or after ``floor`` (all of them when ``floor`` is None).
    ``known_run`` is the run stored before, ``(first, last)``: every date in it is shared and the
    date before it was not (a date changes only through its own event, which is on or after
    ``floor``). Returns None when the run reaches below ``floor`` through dates nothing tells about:
    the caller reads more history.
    """
    latest = max(shared, default=None)
    if known_run is not None and (latest is None or known_run[1] > latest):
        latest = known_run[1]
    if latest is None:
        return 0, None

    def in_known(day: dt.date) -> bool:
        return known_run is not None and known_run[0] <= day <= known_run[1]

    first = latest
    while True:
        if in_known(first):
            first = known_run[0]  # type: ignore[index]
        before = first - ONE_DAY
        if start is not None and before < start:
            break
        if before in shared or in_known(before):
            first = before
            continue
        if floor is not None and before < floor and not (known_run is not None and first == known_run[0]):
            return None
        break
    return days_between(first, latest) + 1, latest


def _through(
    last: dt.date | None, days: set[dt.date], *, floor: dt.date | None, stored: dt.date | None
) -> dt.date | None:
    """The last date up to which ``days`` holds every date after ``last``, at most
    ``MAX_LOCAL_DATE_SPREAD`` dates after it: a run is alive only while the friend behind has not
    finished the date after it, so the friend ahead can be at most that far (see
    ``selectors.streaks.friend_streak_current``).

    When the dates after ``last`` are below the window, the ``stored`` value stands: those dates
    changed only through their own events, whose windows covered them.
    """
    if last is None:
        return None
    if floor is not None and last + ONE_DAY < floor:
        return stored
    through = last
    cap = last + dt.timedelta(days=MAX_LOCAL_DATE_SPREAD)
    while through < cap and through + ONE_DAY in days:
        through += ONE_DAY
    return through


def friend_streak_compute(
    *,
    stored: FriendStreakState,
    start: dt.date | None,
    low_days: set[dt.date],
    high_days: set[dt.date],
    floor: dt.date | None,
) -> FriendStreakState | None:
    """The friend streak from both friends' counted dates (each on their own calendar) on or
    after ``floor`` and the stored run; from the full history when ``floor`` is None. None when
    older history is needed."""
    shared = low_days & high_days
    if start is not None:
        shared = {day for day in shared if day >= start}
    known_run = None
    if floor is not None and stored.length and stored.last_date is not None:
        known_run = (stored.last_date - dt.timedelta(days=stored.length - 1), stored.last_date)
    run = _latest_run(shared, known_run=known_run, start=start, floor=floor)
    if run is None:
        return None
    length, last = run
    stored_last = stored.last_date if stored.length else None
    return FriendStreakState(
        length,
        last,
        _through(last, low_days, floor=floor, stored=stored.low_through if last == stored_last else None),
        _through(last, high_days, floor=floor, stored=stored.high_through if last == stored_last else None),
    )


# Writing ---------------------------------------------------------------------------------------
def practice_record(*, user: User, language_id: str, occurred_at: dt.datetime, seconds: int) -> tuple[UserBadge, ...]:
    """Add ``seconds`` of practice to the user's local day of ``occurred_at`` (in the user's
    current timezone) in that language. When the day's total reaches the daily minimum
    (``STREAK_MIN_SECONDS_PER_DAY``: old < minimum ≤ new), the day counts: the language streak is
    updated (a late day may join two runs), then STREAK_DAYS (the user's best current streak
    over languages), then the friend streaks of all the user's active friendships. Returns the
    STREAK_DAYS badges awarded.

    A fixed number of queries, whatever the number of friends: 2 for a day already started,
    5 for a new day, 12 to 17 when the day becomes counted (docs/streaks.md). Runs inside the
    caller's transaction when there is one (event ingestion); the locks are listed in the module
    docstring.
    """
    if not seconds or seconds <= 0:
        return ()
    day = local_date(occurred_at, user.timezone)

    def run() -> tuple[UserBadge, ...]:
        total = _practice_day_add(user_id=user.pk, language_id=language_id, day=day, seconds=seconds)
        if not (total - seconds < _min_seconds() <= total):
            return ()
        return _day_counted(user=user, language_id=language_id, day=day)

    return _in_transaction(run)


def _practice_day_add(*, user_id: int, language_id: str, day: dt.date, seconds: int) -> int:
    """Add seconds to the practice day, creating it (and the language's streak row) when absent;
    the new total. ``UPDATE`` first: its exclusive row lock makes the re-read exact, and it avoids
    the shared lock an ``INSERT IGNORE`` on an existing row takes (two of those, then two
    updates, deadlock on MariaDB)."""
    practice_day = PracticeDay.objects.filter(user_id=user_id, language_id=language_id, date=day)
    if not practice_day.update(seconds=F("seconds") + seconds):
        PracticeDay.objects.bulk_create(
            [PracticeDay(user_id=user_id, language_id=language_id, date=day, seconds=0)], ignore_conflicts=True
        )
        practice_day.update(seconds=F("seconds") + seconds)
        # Every practised language has a streak row (zeros until a day counts): the streak list
        # reads those rows alone.
        LanguageStreak.objects.bulk_create(
            [LanguageStreak(user_id=user_id, language_id=language_id)], ignore_conflicts=True
        )
    return practice_day.values_list("seconds", flat=True).get()


def _day_counted(*, user: User, language_id: str, day: dt.date) -> tuple[UserBadge, ...]:
    streaks = {row.language_id: row for row in LanguageStreak.objects.select_for_update().filter(user_id=user.pk)}
    if language_id not in streaks:  # practice days older than the streak rows
        LanguageStreak.objects.bulk_create(
            [LanguageStreak(user_id=user.pk, language_id=language_id)], ignore_conflicts=True
        )
        streaks[language_id] = LanguageStreak.objects.select_for_update().get(user_id=user.pk, language_id=language_id)
    row = streaks[language_id]
    stored = DailyStreak(row.length, row.last_date, row.max_length, row.max_date)
    if stored.last_date is None or day > stored.last_date:
        updated = _daily_streak_extend(stored, day)
    else:
        # A late event completed an earlier day: it may join two runs, or make a past run the
        # longest. Recompute from the language's counted days.
        updated = daily_streak_from_days(
            PracticeDay.objects.filter(
                user_id=user.pk, language_id=language_id, seconds__gte=_min_seconds()
            ).values_list("date", flat=True)
        )
    if updated != stored:
        LanguageStreak.objects.filter(pk=row.pk).update(
            length=updated.length,
            last_date=updated.last_date,
            max_length=updated.max_length,
            max_date=updated.max_date,
        )
        row.length, row.last_date = updated.length, updated.last_date
    new_badges = _streak_days_set(user=user, streaks=streaks.values())
    _friendships_refresh(user_id=user.pk, user_tz=user.timezone, floor=day - dt.timedelta(days=FRIEND_WINDOW_DAYS))
    return new_badges


def _streak_days_set(*, user: User, streaks: Iterable[LanguageStreak]) -> tuple[UserBadge, ...]:
    """STREAK_DAYS := the user's best current daily streak over languages, "current" as of the
    user's latest counted day (a gauge: it may fall, badges stay).

    Measured against the latest counted day rather than the clock, the value depends on the
    practice days alone, so that a rebuild at any later time gives what live recording gave. It
    changes when a day becomes counted; a streak that lapses shows 0 in the API at once, and in
    the gauge at the next counted day.
    """
    activity_type = ActivityType.objects.filter(code=STREAK_DAYS).first()
    if activity_type is None:
        return ()
    rows = [row for row in streaks if row.length and row.last_date is not None]
    latest = max((row.last_date for row in rows), default=None)
    best = max(
        (daily_streak_current(length=row.length, last_date=row.last_date, today=latest) for row in rows),
        default=0,
    )
    return metric_set(user=user.pk, activity_type=activity_type, value=best).new_badges


def _counted_days(*, user_ids: Iterable[int], since: dt.date | None) -> tuple[dict[int, set[dt.date]], dict[int, str]]:
    """Each user's counted dates (any language) on or after ``since``, and the timezone of each
    user who has one. One query."""
    rows = PracticeDay.objects.filter(user_id__in=list(user_ids), seconds__gte=_min_seconds())
    if since is not None:
        rows = rows.filter(date__gte=since)
    days: dict[int, set[dt.date]] = defaultdict(set)
    zones: dict[int, str] = {}
    for user_id, day, tz_name in rows.values_list("user_id", "date", "user__timezone").distinct():
        days[user_id].add(day)
        zones[user_id] = tz_name
    return days, zones


FriendshipRow = tuple[int, int, int, dt.datetime, int, dt.date | None, dt.date | None, dt.date | None]


def _friendships_refresh(*, user_id: int, user_tz: str, floor: dt.date | None) -> None:
    """Recompute the friend streaks of the user's active friendships after a change to the user's
    counted days on or after ``floor`` (the whole history when None). Three queries whatever the
    number of friends (lock the friendships, read both sides' counted days, one ``UPDATE``), and
    one more when a late event joins a run that reaches below the window."""
    rows: list[FriendshipRow] = list(
        Friendship.objects.select_for_update()
        .filter(Q(user_low_id=user_id) | Q(user_high_id=user_id), active=True)
        .order_by("pk")
        .values_list(
            "pk",
            "user_low_id",
            "user_high_id",
            "created_at",
            "streak_length",
            "streak_last_date",
            "streak_low_through",
            "streak_high_through",
        )
    )
    if not rows:
        return
    partner_ids = [high if low == user_id else low for _, low, high, *_ in rows]
    days, zones = _counted_days(user_ids=[user_id, *partner_ids], since=floor)
    zones[user_id] = user_tz

    def compute(row: FriendshipRow, days: dict[int, set[dt.date]], floor: dt.date | None) -> FriendStreakState | None:
        _pk, low, high, created_at, length, last_date, low_through, high_through = row
        start = None
        if low in zones and high in zones:  # else one side has no counted date: nothing is shared
            start = friend_streak_start(created_at=created_at, tz_names=(zones[low], zones[high]))
        return friend_streak_compute(
            stored=FriendStreakState(length, last_date, low_through, high_through),
            start=start,
            low_days=days.get(low, set()),
            high_days=days.get(high, set()),
            floor=floor,
        )

    changes: dict[int, FriendStreakState] = {}
    needs_history: list[FriendshipRow] = []
    for row in rows:
        state = compute(row, days, floor)
        if state is None:
            needs_history.append(row)
        elif state != FriendStreakState(*row[4:]):
            changes[row[0]] = state
    if needs_history:
        # Rare: a late event joined the current run to an older one that reaches below the
        # window. Read those friendships' whole history.
        since = min(row[3] for row in needs_history).date() - dt.timedelta(days=MAX_LOCAL_DATE_SPREAD)
        others = [high if low == user_id else low for _, low, high, *_ in needs_history]
        history, more_zones = _counted_days(user_ids=[user_id, *others], since=since)
        zones.update(more_zones)
        for row in needs_history:
            state = compute(row, history, None)
            if state is not None and state != FriendStreakState(*row[4:]):
                changes[row[0]] = state
    _friendships_write(changes)


def _friendships_write(changes: dict[int, FriendStreakState]) -> None:
    """Store new friend streak states in one ``UPDATE`` (a ``CASE`` per column).

    Plain SQL: built by the ORM, a ``CASE`` over hundreds of friendships cost 14-19 ms of Python
    per call (py-spy under bench/http_load.py), far more than the statement itself.
    """
    if not changes:
        return
    ids = list(changes)
    adapt_date = connection.ops.adapt_datefield_value
    columns = {
        "streak_length": lambda state: state.length,
        "streak_last_date": lambda state: adapt_date(state.last_date),
        "streak_low_through": lambda state: adapt_date(state.low_through),
        "streak_high_through": lambda state: adapt_date(state.high_through),
    }
    whens = " ".join(["WHEN %s THEN %s"] * len(ids))
    assignments = ", ".join(f"{connection.ops.quote_name(name)} = CASE id {whens} END" for name in columns)
    params: list = []
    for value_of in columns.values():
        for pk in ids:
            params.extend((pk, value_of(changes[pk])))
    table = connection.ops.quote_name(Friendship._meta.db_table)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id IN ({placeholders})", [*params, *ids])  # noqa: S608


# Rebuilding ------------------------------------------------------------------------------------
def streaks_rebuild(*, user_id: int) -> None:
    """Recompute the user's practice days from the practice events in the activity log (local
    dates in the user's current timezone), then their language streaks, STREAK_DAYS and the
    friend streaks of their active friendships. Replaying the whole log gives the same streaks
    as recording the events live, as long as the user kept their timezone.

    Friend streaks read the partners' practice days as they are: after rebuilding every user,
    each friendship has been recomputed once both sides were rebuilt.
    """

    def run() -> None:
        user = User.objects.only("id", "timezone").get(pk=user_id)
        totals: dict[tuple[str, dt.date], int] = defaultdict(int)
        events = (
            ActivityEvent.objects.filter(user_id=user_id, type=EventType.PRACTICE)
            .order_by()
            .values_list("language_id", "occurred_at", "duration_seconds")
        )
        for language_id, occurred_at, seconds in events.iterator(chunk_size=5000):
            totals[(language_id, local_date(occurred_at, user.timezone))] += seconds or 0

        PracticeDay.objects.filter(user_id=user_id).delete()
        PracticeDay.objects.bulk_create(
            [
                PracticeDay(user_id=user_id, language_id=language_id, date=day, seconds=seconds)
                for (language_id, day), seconds in totals.items()
            ],
            batch_size=1000,
        )
        counted: dict[str, list[dt.date]] = defaultdict(list)
        for (language_id, day), seconds in totals.items():
            counted.setdefault(language_id, [])
            if seconds >= _min_seconds():
                counted[language_id].append(day)
        LanguageStreak.objects.filter(user_id=user_id).delete()
        streaks = []
        for language_id, days in counted.items():
            streak = daily_streak_from_days(days)
            streaks.append(
                LanguageStreak(
                    user_id=user_id,
                    language_id=language_id,
                    length=streak.length,
                    last_date=streak.last_date,
                    max_length=streak.max_length,
                    max_date=streak.max_date,
                )
            )
        LanguageStreak.objects.bulk_create(streaks)
        _streak_days_set(user=user, streaks=streaks)
        _friendships_refresh(user_id=user_id, user_tz=user.timezone, floor=None)

    atomic_with_retry(run)
