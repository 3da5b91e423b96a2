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
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import F, FilteredRelation, Q

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
from gamification.selectors.streaks import freeze_rule, rest_dates, rest_dates_of_users, stored_streak
from gamification.services.db import atomic_join_or_retry, atomic_with_retry
from gamification.services.metrics import metric_set
from gamification.streak_runs import (
    DailyStreak,
    FriendStreakState,
    daily_streak_extend,
    daily_streak_from_days,
    daily_streak_on,
    friend_day_numbers,
    friend_streak_compute,
)
from gamification.timeutils import (
    MAX_LOCAL_DATE_SPREAD,
    days_between,
    local_date,
)

# A practice event on a user's local date D is day k of each of their friendships (k = D minus
# the user's local date of the friendship's start). Friend streaks are updated from both
# friends' counted days from day k - 1 on: enough to join day k to a run ending the day before
# and to see the days after every run that can still be alive (see ``_through``). The partner's
# day k - 1 is at most MAX_LOCAL_DATE_SPREAD dates before D (their start date is at most that
# much earlier), so counted dates on or after D minus this many dates are read, for everyone.
# Older history is read only when a late event joins a run that reaches further back.
FRIEND_WINDOW_DAYS = MAX_LOCAL_DATE_SPREAD + 1

T = TypeVar("T")


def _min_seconds() -> int:
    return settings.STREAK_MIN_SECONDS_PER_DAY


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

    return atomic_join_or_retry(run)


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


def streak_fields(streak: DailyStreak) -> dict:
    """The ``LanguageStreak`` columns of a streak."""
    return {
        "length": streak.length,
        "last_date": streak.last_date,
        "max_length": streak.max_length,
        "max_date": streak.max_date,
        "freezes_held": streak.freezes,
        "frozen_days": [day.isoformat() for day in streak.frozen],
    }


def _day_counted(*, user: User, language_id: str, day: dt.date) -> tuple[UserBadge, ...]:
    streaks = {row.language_id: row for row in LanguageStreak.objects.select_for_update().filter(user_id=user.pk)}
    if language_id not in streaks:  # practice days older than the streak rows
        LanguageStreak.objects.bulk_create(
            [LanguageStreak(user_id=user.pk, language_id=language_id)], ignore_conflicts=True
        )
        streaks[language_id] = LanguageStreak.objects.select_for_update().get(user_id=user.pk, language_id=language_id)
    row = streaks[language_id]
    stored = stored_streak(row)
    late = stored.last_date is not None and day <= stored.last_date
    # Rest days from the oldest last counted day of any language on (what extending this one and
    # the STREAK_DAYS gauge look at); every one for a late event, which replays the language.
    oldest = min((other.last_date for other in streaks.values() if other.last_date), default=day)
    rest = rest_dates(user_id=user.pk, since=None if late else min(oldest, day))
    if day in rest:  # a rest day adds nothing to any streak, and friend streaks stand still
        return ()
    if not late:
        updated = daily_streak_extend(stored, day, rest=rest, freezes=freeze_rule())
    else:
        # A late event completed an earlier day: it may join two runs, give back a freeze, or
        # make a past run the longest. Replay the language's counted days.
        updated = daily_streak_from_days(
            PracticeDay.objects.filter(
                user_id=user.pk, language_id=language_id, seconds__gte=_min_seconds()
            ).values_list("date", flat=True),
            rest=rest,
            freezes=freeze_rule(),
        )
    if updated != stored:
        fields = streak_fields(updated)
        LanguageStreak.objects.filter(pk=row.pk).update(**fields)
        for name, value in fields.items():
            setattr(row, name, value)
    new_badges = _streak_days_set(user=user, streaks=streaks.values(), rest=rest)
    # A freeze spent or given back changes a date before this one, possibly inside a stored
    # friend run, which the windowed refresh trusts as a whole: recompute from the whole history
    # then (rare: a freeze is earned once in 7 counted days).
    since = None if updated.frozen != stored.frozen else day - dt.timedelta(days=FRIEND_WINDOW_DAYS)
    _friendships_refresh(user_id=user.pk, user_tz=user.timezone, since=since)
    return new_badges


def _streak_days_set(
    *, user: User, streaks: Iterable[LanguageStreak], rest: AbstractSet[dt.date]
) -> tuple[UserBadge, ...]:
    """STREAK_DAYS := the user's best current daily streak over languages, "current" as of the
    user's latest counted day (a gauge: it may fall, badges stay), freezes and rest days
    applied as on that day.

    Measured against the latest counted day rather than the clock, the value depends on the
    practice days and rest days alone, so that a rebuild at any later time gives what live
    recording gave. It changes when a day becomes counted; a streak that lapses shows 0 in the
    API at once, and in the gauge at the next counted day.
    """
    activity_type = ActivityType.objects.filter(code=STREAK_DAYS).first()
    if activity_type is None:
        return ()
    best = streak_days_best(streaks=streaks, rest=rest)
    return metric_set(user=user.pk, activity_type=activity_type, value=best).new_badges


def streak_days_best(*, streaks: Iterable[LanguageStreak], rest: AbstractSet[dt.date]) -> int:
    """What STREAK_DAYS holds for these language streak rows (``_streak_days_set``)."""
    rows = [row for row in streaks if row.length and row.last_date is not None]
    latest = max((row.last_date for row in rows), default=None)
    return max(
        (daily_streak_on(stored_streak(row), today=latest, rest=rest).daily_streak for row in rows),
        default=0,
    )


def _counted_days(*, user_ids: Iterable[int], since: dt.date | None) -> tuple[dict[int, set[dt.date]], dict[int, str]]:
    """Each user's counted dates (any language) on or after ``since`` (all when None), and every
    user's timezone, whether they have a counted date or not. One query."""
    condition = Q(practice_days__seconds__gte=_min_seconds())
    if since is not None:
        condition &= Q(practice_days__date__gte=since)
    rows = (
        User.objects.filter(pk__in=list(user_ids))
        .annotate(counted=FilteredRelation("practice_days", condition=condition))
        .order_by()
        .values_list("pk", "timezone", "counted__date")
        .distinct()
    )
    days: dict[int, set[dt.date]] = defaultdict(set)
    zones: dict[int, str] = {}
    for user_id, tz_name, day in rows:
        zones[user_id] = tz_name
        if day is not None:
            days[user_id].add(day)
    return days, zones


def _neutral_days(*, user_ids: Iterable[int], since: dt.date | None) -> dict[int, set[dt.date]]:
    """Each user's dates that are neutral for their friend streaks, on or after ``since`` (all
    when None): rest days and dates a freeze of any language bridged. Two queries."""
    ids = list(user_ids)
    neutral = rest_dates_of_users(user_ids=ids, since=since)
    frozen = (
        LanguageStreak.objects.filter(user_id__in=ids).exclude(frozen_days=[]).values_list("user_id", "frozen_days")
    )
    for user_id, days in frozen:
        dates = {dt.date.fromisoformat(day) for day in days or ()}
        neutral[user_id].update(day for day in dates if since is None or day >= since)
    return neutral


FriendshipRow = tuple[int, int, int, dt.datetime, int, int | None, int | None, int | None, int | None]


def _friendship_state(
    row: FriendshipRow,
    *,
    days: dict[int, set[dt.date]],
    neutral: dict[int, set[dt.date]],
    zones: dict[int, str],
    since: dt.date | None,
) -> FriendStreakState | None:
    """One friendship's new friend streak from both friends' counted dates on or after ``since``
    (the whole history when None) and its stored state; None when older history is needed.

    Each friend's dates become day numbers on their own calendar: day 0 is their local date of
    the friendship's start. Both sides are known from the first day number whose date, in both
    calendars, is on or after ``since``.
    """
    _pk, low, high, created_at, *stored = row
    starts = {user_id: local_date(created_at, zones[user_id]) for user_id in (low, high)}
    floor = None
    if since is not None:
        floor = max(0, *(days_between(start, since) for start in starts.values()))
    return friend_streak_compute(
        stored=FriendStreakState(*stored),
        low_days=friend_day_numbers(days.get(low, ()), start=starts[low], floor=floor),
        high_days=friend_day_numbers(days.get(high, ()), start=starts[high], floor=floor),
        floor=floor,
        neutral=friend_day_numbers(neutral.get(low, ()), start=starts[low], floor=floor)
        | friend_day_numbers(neutral.get(high, ()), start=starts[high], floor=floor),
    )


def _friendships_refresh(*, user_id: int, user_tz: str, since: dt.date | None) -> None:
    """Recompute the friend streaks of the user's active friendships after a change to the user's
    counted days on or after ``since`` (the whole history when None). Three queries whatever the
    number of friends (lock the friendships, read both sides' counted days and timezones, one
    ``UPDATE``), and one more when a late event joins a run that reaches below the window."""
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
            "streak_first_day",
            "streak_last_day",
            "streak_low_through_day",
            "streak_high_through_day",
        )
    )
    if not rows:
        return
    partner_ids = [high if low == user_id else low for _, low, high, *_ in rows]
    days, zones = _counted_days(user_ids=[user_id, *partner_ids], since=since)
    neutral = _neutral_days(user_ids=[user_id, *partner_ids], since=since)
    # The user's practice day was dated in this zone: number it in the same one.
    zones[user_id] = user_tz

    changes: dict[int, FriendStreakState] = {}
    needs_history: list[FriendshipRow] = []
    for row in rows:
        state = _friendship_state(row, days=days, neutral=neutral, zones=zones, since=since)
        if state is None:
            needs_history.append(row)
        elif state != FriendStreakState(*row[4:]):
            changes[row[0]] = state
    if needs_history:
        # Rare: a late event joined the current run to an older one that reaches below the
        # window. Read those friendships' whole history, from the earliest start date.
        oldest = min(local_date(row[3], zones[friend]) for row in needs_history for friend in row[1:3])
        others = [high if low == user_id else low for _, low, high, *_ in needs_history]
        history, _ = _counted_days(user_ids=[user_id, *others], since=oldest)
        neutral_history = _neutral_days(user_ids=[user_id, *others], since=oldest)
        for row in needs_history:
            state = _friendship_state(row, days=history, neutral=neutral_history, zones=zones, since=None)
            if state is not None and state != FriendStreakState(*row[4:]):
                changes[row[0]] = state
    _friendships_write(changes)


def friend_streaks_refresh(*, user: User, since: dt.date) -> None:
    """Recompute the friend streaks of the user's active friendships after their neutral days
    changed from ``since`` on (a rest-day booking made or cancelled). Inside the caller's
    transaction; the same queries as after a counted day."""
    _friendships_refresh(user_id=user.pk, user_tz=user.timezone, since=since - dt.timedelta(days=FRIEND_WINDOW_DAYS))


def friend_streaks_rebuild(*, user_id: int, user_tz: str) -> None:
    """Recompute the friend streaks of the user's active friendships from the whole history of
    both sides' practice days (a rebuild). Inside the caller's transaction."""
    _friendships_refresh(user_id=user_id, user_tz=user_tz, since=None)


def _friendships_write(changes: dict[int, FriendStreakState]) -> None:
    """Store new friend streak states in one ``UPDATE`` (a ``CASE`` per column).

    Plain SQL: built by the ORM, a ``CASE`` over hundreds of friendships cost 14-19 ms of Python
    per call (py-spy under bench/http_load.py), far more than the statement itself.
    """
    if not changes:
        return
    ids = list(changes)
    columns = {
        "streak_length": lambda state: state.length,
        "streak_first_day": lambda state: state.first_day,
        "streak_last_day": lambda state: state.last_day,
        "streak_low_through_day": lambda state: state.low_through,
        "streak_high_through_day": lambda state: state.high_through,
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
        rest = rest_dates(user_id=user_id, since=None)
        LanguageStreak.objects.filter(user_id=user_id).delete()
        streaks = [
            LanguageStreak(
                user_id=user_id,
                language_id=language_id,
                **streak_fields(daily_streak_from_days(days, rest=rest, freezes=freeze_rule())),
            )
            for language_id, days in counted.items()
        ]
        LanguageStreak.objects.bulk_create(streaks)
        _streak_days_set(user=user, streaks=streaks, rest=rest)
        _friendships_refresh(user_id=user_id, user_tz=user.timezone, since=None)

    atomic_with_retry(run)
