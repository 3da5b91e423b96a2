"""Reading streaks (SPEC §4). Reading never writes.

The stored rows describe the latest run as of its last day (``LanguageStreak.length`` and
``last_date``; ``Friendship.streak_length`` and ``streak_last_day``); whether that run is still
alive is decided here, against each user's local today. The rules are in docs/streaks.md.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from gamification.models import Friendship, LanguageStreak, User
from gamification.timeutils import (
    ONE_DAY,
    known_timezones,
    local_day_number,
    local_today,
    start_of_local_day,
    zone,
)


@dataclass(frozen=True)
class LanguageStreakRow:
    """One language of ``GET /api/streaks/``."""

    code: str
    name: str
    daily_streak: int
    max_streak: int
    max_streak_date: dt.date | None
    practiced_today: bool


def daily_streak_current(*, length: int, last_date: dt.date | None, today: dt.date) -> int:
    """The daily streak shown now: the stored run while its last day is the user's local today or
    yesterday (or later, after a move to a zone behind), else 0: a day was missed."""
    if not length or last_date is None:
        return 0
    return length if last_date >= today - ONE_DAY else 0


def practiced_today(*, length: int, last_date: dt.date | None, today: dt.date) -> bool:
    """Whether ``today`` is a counted day: it lies in the stored run (the latest one)."""
    if not length or last_date is None:
        return False
    return last_date - dt.timedelta(days=length - 1) <= today <= last_date


def _ordered(rows: list[LanguageStreakRow]) -> list[LanguageStreakRow]:
    return sorted(rows, key=lambda row: (-row.daily_streak, row.code))


def streaks_of_user(*, user: User, now: dt.datetime | None = None) -> list[LanguageStreakRow]:
    """Every language the user has practised (a ``LanguageStreak`` row exists from the first
    practice in a language, counted or not), by current daily streak descending then code. One
    query."""
    today = local_today(user.timezone, now)
    rows = [
        LanguageStreakRow(
            code=streak.language_id,
            name=streak.language.name,
            daily_streak=daily_streak_current(length=streak.length, last_date=streak.last_date, today=today),
            max_streak=streak.max_length,
            max_streak_date=streak.max_date,
            practiced_today=practiced_today(length=streak.length, last_date=streak.last_date, today=today),
        )
        for streak in LanguageStreak.objects.filter(user_id=user.pk).select_related("language")
    ]
    return _ordered(rows)


def friend_streak_current(*, friendship: Friendship, now: dt.datetime | None = None) -> int:
    """The friend streak shown now (SPEC §4.2): the stored run while neither friend has missed a
    day of the friendship after it, else 0.

    Day n of the friendship is each friend's n-th local date from their local date of its start.
    Friend X has missed a day when some day after the run is over for X (X's day number of now is
    past it) and X has not counted it. ``streak_*_through_day`` hold how far X's counted days
    continue after the run, so X has missed one exactly when ``through_X + 1 < today_X``. The
    friend behind waits for the other without the streak falling, and either one missing their
    day shows 0 from the end of that day on their own calendar.
    Uses ``friendship.user_low`` and ``user_high``: load them with ``select_related``.
    """
    if not friendship.streak_length or not friendship.active:
        return 0
    now = now or timezone.now()
    for through, friend in (
        (friendship.streak_low_through_day, friendship.user_low),
        (friendship.streak_high_through_day, friendship.user_high),
    ):
        today = local_day_number(now, since=friendship.created_at, tz_name=friend.timezone)
        if through is None or through + 1 < today:
            return 0
    return friendship.streak_length


def friend_streaks(*, friendships: Iterable[Friendship]) -> dict[int, int]:
    """Current friend streak of each friendship, by friendship id, without any query (the
    friendships come with both users' timezones loaded)."""
    now = timezone.now()
    return {friendship.pk: friend_streak_current(friendship=friendship, now=now) for friendship in friendships}


def languages_for_users(*, user_ids: Iterable[int]) -> dict[int, list[dict]]:
    """For each user: ``[{code, name, daily_streak, max_streak}]`` of the languages they
    practised, by daily streak descending then code. One query whatever the number of users."""
    ids = list(dict.fromkeys(user_ids))
    now = timezone.now()
    rows: dict[int, list[LanguageStreakRow]] = defaultdict(list)
    if ids:
        streaks = LanguageStreak.objects.filter(user_id__in=ids).values_list(
            "user_id", "language_id", "language__name", "length", "last_date", "max_length", "user__timezone"
        )
        todays: dict[str, dt.date] = {}
        for user_id, code, name, length, last_date, max_length, tz_name in streaks:
            if tz_name not in todays:
                todays[tz_name] = local_today(tz_name, now)
            today = todays[tz_name]
            rows[user_id].append(
                LanguageStreakRow(
                    code=code,
                    name=name,
                    daily_streak=daily_streak_current(length=length, last_date=last_date, today=today),
                    max_streak=max_length,
                    max_streak_date=None,
                    practiced_today=False,
                )
            )
    return {
        user_id: [
            {"code": row.code, "name": row.name, "daily_streak": row.daily_streak, "max_streak": row.max_streak}
            for row in _ordered(rows.get(user_id, []))
        ]
        for user_id in ids
    }


# Streaks at risk (SPEC §11.3 streak.at_risk) ------------------------------------------------------
@dataclass(frozen=True)
class StreakAtRisk:
    """A language streak above 0 whose user has not made today count yet."""

    user_id: int
    username: str
    external_id: str | None
    language_id: str
    daily_streak: int
    local_date: dt.date
    local_deadline: dt.datetime  # the end of that local day, in the user's zone


def zones_at_or_after(*, local_time: dt.time, now: dt.datetime) -> list[str]:
    """The time zones (of ``known_timezones``) whose wall clock shows ``local_time`` or later,
    before midnight, at ``now``."""
    return sorted(name for name in known_timezones() if now.astimezone(zone(name)).time() >= local_time)


def streaks_at_risk(*, now: dt.datetime, from_local_time: dt.time) -> Iterator[StreakAtRisk]:
    """Every language streak that is above 0 now and whose user's local today does not count
    yet, for the users whose local time is ``from_local_time`` or later (their evening). One
    query, streamed: the users in those zones whose stored run ended at most two UTC dates ago
    (a local yesterday is never older), then the rule of ``daily_streak_current`` and
    ``practiced_today`` on each user's calendar."""
    zones = zones_at_or_after(local_time=from_local_time, now=now)
    if not zones:
        return
    rows = (
        LanguageStreak.objects.filter(
            length__gt=0, last_date__gte=now.astimezone(dt.UTC).date() - 2 * ONE_DAY, user__timezone__in=zones
        )
        .order_by("user_id", "language_id")
        .values_list(
            "user_id", "user__username", "user__external_id", "user__timezone", "language_id", "length", "last_date"
        )
    )
    for user_id, username, external_id, tz_name, language_id, length, last_date in rows.iterator(chunk_size=2000):
        today = local_today(tz_name, now)
        streak = daily_streak_current(length=length, last_date=last_date, today=today)
        if streak <= 0 or practiced_today(length=length, last_date=last_date, today=today):
            continue
        yield StreakAtRisk(
            user_id=user_id,
            username=username,
            external_id=external_id,
            language_id=language_id,
            daily_streak=streak,
            local_date=today,
            local_deadline=start_of_local_day(today + ONE_DAY, tz_name).astimezone(zone(tz_name)),
        )
