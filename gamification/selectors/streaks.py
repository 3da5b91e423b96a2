"""Reading streaks (SPEC §4). Reading never writes.

The stored rows describe the latest run as of its last day (``LanguageStreak.length`` and
``last_date``; ``Friendship.streak_length`` and ``streak_last_day``); whether that run is still
alive is decided here, against each user's local today. The rules are in docs/streaks.md.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from gamification.models import Friendship, LanguageStreak, PracticeDay, RestDay, User
from gamification.prepared import PreparedQuery
from gamification.selectors.relationships import flag
from gamification.streak_runs import DailyStreak, FreezeRule, daily_streak_on
from gamification.timeutils import (
    ONE_DAY,
    days_between,
    known_timezones,
    local_date,
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
    freezes_held: int = 0
    frozen_days: tuple[dt.date, ...] = ()
    seconds_today: int = 0
    seconds_to_count: int = 0
    at_risk: bool = False


def freeze_rule() -> FreezeRule:
    """The freeze settings (``STREAK_FREEZE_EVERY_DAYS``, ``STREAK_FREEZES_MAX``)."""
    return FreezeRule(every=settings.STREAK_FREEZE_EVERY_DAYS, most=settings.STREAK_FREEZES_MAX)


def stored_streak(row: LanguageStreak) -> DailyStreak:
    """What a ``LanguageStreak`` row stores, as the pure module's value."""
    return DailyStreak(
        row.length,
        row.last_date,
        row.max_length,
        row.max_date,
        row.freezes_held,
        tuple(dt.date.fromisoformat(day) for day in row.frozen_days or ()),
    )


def rest_dates_of_users(*, user_ids: Iterable[int], since: dt.date | None) -> dict[int, set[dt.date]]:
    """Each user's rest days (local dates) on or after ``since`` (all when None). One query."""
    ids = list(user_ids)
    dates: dict[int, set[dt.date]] = defaultdict(set)
    if not ids:
        return dates
    bookings = RestDay.objects.filter(user_id__in=ids).order_by()
    if since is not None:
        bookings = bookings.filter(end__gte=since)
    for booking in bookings.only("user_id", "start", "end"):
        dates[booking.user_id].update(day for day in booking.dates() if since is None or day >= since)
    return dates


def rest_days_of_user(*, user: User, limit: int = 500) -> list[RestDay]:
    """The user's rest-day bookings by start (the most recent ``limit``; at most 14 rest days a
    month keeps the list short). One query."""
    latest = RestDay.objects.filter(user_id=user.pk).order_by("-start", "-id")[:limit]
    return sorted(latest, key=lambda booking: (booking.start, booking.pk))


def rest_dates(*, user_id: int, since: dt.date | None) -> set[dt.date]:
    """The user's rest days on or after ``since`` (all when None). One query."""
    return rest_dates_of_users(user_ids=[user_id], since=since).get(user_id, set())


def daily_streak_current(*, length: int, last_date: dt.date | None, today: dt.date) -> int:
    """The daily streak shown on ``today`` of a run without freezes or rest days: the stored run
    while its last day is today or yesterday, else 0."""
    return daily_streak_on(DailyStreak(length, last_date), today=today).daily_streak


def _ordered(rows: list[LanguageStreakRow]) -> list[LanguageStreakRow]:
    return sorted(rows, key=lambda row: (-row.daily_streak, row.code))


def language_streak_row(
    *, code: str, name: str, streak: DailyStreak, today: dt.date, rest: AbstractSet[dt.date], seconds_today: int
) -> LanguageStreakRow:
    """One language's row on the user's local ``today``: freezes spent on the days missed so far
    (``streak_runs.daily_streak_on``); ``seconds_to_count`` what today still needs (0 once it
    counts, and on a rest day, which can neither count nor break anything); ``at_risk`` while
    the streak is above 0 and today, not a rest day, does not count yet."""
    now = daily_streak_on(streak, today=today, rest=rest)
    resting = today in rest
    done = now.counts_today or resting
    return LanguageStreakRow(
        code=code,
        name=name,
        daily_streak=now.daily_streak,
        max_streak=streak.max_length,
        max_streak_date=streak.max_date,
        practiced_today=now.counts_today,
        freezes_held=now.freezes_held,
        frozen_days=now.frozen_days,
        seconds_today=seconds_today,
        seconds_to_count=0 if done else max(0, settings.STREAK_MIN_SECONDS_PER_DAY - seconds_today),
        at_risk=now.daily_streak > 0 and not done,
    )


def _my_streak_rows(user_id, today) -> QuerySet:
    """The user's streak rows with what ``streaks_of_user`` needs, today's practice seconds and
    whether today is a rest day (EXISTS on the user's bookings ending today or later)."""
    seconds_today = PracticeDay.objects.filter(
        user_id=OuterRef("user_id"), language_id=OuterRef("language_id"), date=today
    ).values("seconds")[:1]
    resting_today = RestDay.objects.filter(user_id=OuterRef("user_id"), start__lte=today, end__gte=today)
    return (
        LanguageStreak.objects.filter(user_id=user_id)
        .order_by()
        .annotate(
            seconds_today=Subquery(seconds_today),
            resting_today=flag(Q(Exists(resting_today))),
        )
        .values_list(
            "language_id",
            "language__name",
            "length",
            "last_date",
            "max_length",
            "max_date",
            "freezes_held",
            "frozen_days",
            "seconds_today",
            "resting_today",
        )
    )


_MY_STREAK_ROWS = PreparedQuery(_my_streak_rows, user_id="int", today="date")


def streaks_of_user(*, user: User, now: dt.datetime | None = None) -> list[LanguageStreakRow]:
    """Every language the user has practised (a ``LanguageStreak`` row exists from the first
    practice in a language, counted or not), by current daily streak descending then code. One
    query (compiled once per process): the streak rows with today's practice seconds and whether
    today is a rest day; a second one for the rest days only when some streak has missed a day
    since its last counted day (the rest days between decide whether it still stands)."""
    today = local_today(user.timezone, now)
    rows = _MY_STREAK_ROWS.rows(user_id=user.pk, today=today)
    if not rows:
        return []
    # Rest days matter only between a run's last day and the day before today, and today.
    gaps = [row[3] for row in rows if row[2] and row[3] is not None and row[3] < today - ONE_DAY]
    if gaps:
        rest: AbstractSet[dt.date] = rest_dates(user_id=user.pk, since=min(gaps))
    else:
        rest = {today} if rows[0][9] else frozenset()
    streaks = [
        language_streak_row(
            code=code,
            name=name,
            streak=DailyStreak(
                length,
                last_date,
                max_length,
                max_date,
                freezes_held,
                tuple(dt.date.fromisoformat(day) for day in frozen_days or ()),
            ),
            today=today,
            rest=rest,
            seconds_today=seconds_today or 0,
        )
        for code, name, length, last_date, max_length, max_date, freezes_held, frozen_days, seconds_today, _ in rows
    ]
    return _ordered(streaks)


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
    return FriendStreaksNow(now)(
        length=friendship.streak_length,
        created_at=friendship.created_at,
        low_through=friendship.streak_low_through_day,
        high_through=friendship.streak_high_through_day,
        low_timezone=friendship.user_low.timezone,
        high_timezone=friendship.user_high.timezone,
    )


class FriendStreaksNow:
    """``friend_streak_current`` from a friendship's columns and both users' timezones (reads that
    fetch values rather than model instances), at one instant for many friendships: each zone's
    local date of that instant is worked out once (a hundred friends share a handful of zones)."""

    __slots__ = ("_now", "_todays")

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._now = now or timezone.now()
        self._todays: dict[str, dt.date] = {}

    def _today(self, tz_name: str) -> dt.date:
        today = self._todays.get(tz_name)
        if today is None:
            today = self._todays[tz_name] = local_today(tz_name, self._now)
        return today

    def __call__(
        self,
        *,
        length: int,
        created_at: dt.datetime,
        low_through: int | None,
        high_through: int | None,
        low_timezone: str,
        high_timezone: str,
    ) -> int:
        if not length or low_through is None or high_through is None:
            return 0
        for through, tz_name in ((low_through, low_timezone), (high_through, high_timezone)):
            # The day number of now on this friend's calendar (day 0: their date of the start).
            today = days_between(local_date(created_at, tz_name), self._today(tz_name))
            if through + 1 < today:
                return 0
        return length


def friend_streaks(*, friendships: Iterable[Friendship]) -> dict[int, int]:
    """Current friend streak of each friendship, by friendship id, without any query (the
    friendships come with both users' timezones loaded)."""
    now = timezone.now()
    return {friendship.pk: friend_streak_current(friendship=friendship, now=now) for friendship in friendships}


def languages_for_users(*, user_ids: Iterable[int]) -> dict[int, list[dict]]:
    """For each user: ``[{code, name, daily_streak, max_streak}]`` of the languages they
    practised, by daily streak descending then code (freezes and rest days applied as in
    ``streaks_of_user``). One query whatever the number of users, and one more for rest days when
    some streak has missed a day since its last counted day."""
    ids = list(dict.fromkeys(user_ids))
    streaks = (
        list(LanguageStreak.objects.filter(user_id__in=ids).values_list(*LANGUAGES_COLUMNS, "user__timezone"))
        if ids
        else []
    )
    timezones = {row[0]: row[-1] for row in streaks}
    languages = languages_from_rows([row[:-1] for row in streaks], timezones=timezones)
    return {user_id: languages.get(user_id, []) for user_id in ids}


# What ``languages_from_rows`` reads of each ``LanguageStreak`` (``values_list`` names). Not the
# frozen days: what a list shows of a streak never depends on where its freezes went.
LANGUAGES_COLUMNS = (
    "user_id",
    "language_id",
    "language__name",
    "length",
    "last_date",
    "max_length",
    "freezes_held",
)


def languages_from_rows(
    streaks: list[tuple],
    *,
    timezones: Mapping[int, str],
    rest_dates: Callable[..., dict[int, set[dt.date]]] | None = None,
) -> dict[int, list[dict]]:
    """``languages_for_users`` from ``LanguageStreak`` rows already read (``LANGUAGES_COLUMNS``)
    and each user's timezone, by user id for the users that have a row; one more query for rest
    days when some streak has missed a day since its last counted day, through ``rest_dates``
    (called as ``rest_dates_of_users``, the default; a caller may read the same dates more
    cheaply). A streak whose last day is today or yesterday is shown as stored (nothing missed
    yet: ``streak_runs.daily_streak_on``); only the others go through the rules."""
    rest_dates = rest_dates or rest_dates_of_users
    now = timezone.now()
    if not streaks:
        return {}
    rows: dict[int, list[dict]] = defaultdict(list)
    todays = {tz_name: local_today(tz_name, now) for tz_name in {timezones[row[0]] for row in streaks}}
    # Rest days matter only between a run's last day and the day before today.
    gaps = [(row[0], row[4]) for row in streaks if row[3] and row[4] and row[4] < todays[timezones[row[0]]] - ONE_DAY]
    rest = rest_dates(user_ids={user_id for user_id, _ in gaps}, since=min(day for _, day in gaps)) if gaps else {}
    for user_id, code, name, length, last_date, max_length, freezes in streaks:
        if last_date is None:
            length = 0
        elif length and last_date < todays[timezones[user_id]] - ONE_DAY:
            streak = DailyStreak(length, last_date, max_length, None, freezes)
            today = todays[timezones[user_id]]
            length = daily_streak_on(streak, today=today, rest=rest.get(user_id, frozenset())).daily_streak
        rows[user_id].append({"code": code, "name": name, "daily_streak": length, "max_streak": max_length})
    for user_rows in rows.values():
        user_rows.sort(key=_shown_order)
    return dict(rows)


def _shown_order(language: dict) -> tuple:
    return -language["daily_streak"], language["code"]


# Streaks at risk (SPEC §11.3 streak.at_risk) ------------------------------------------------------
@dataclass(frozen=True)
class StreakAtRisk:
    """A language streak above 0 whose user has not made today count yet (and does not rest)."""

    user_id: int
    username: str
    external_id: str | None
    language_id: str
    daily_streak: int
    local_date: dt.date
    local_deadline: dt.datetime  # the end of that local day, in the user's zone
    freezes_held: int = 0  # after the days already missed; one would be spent on today

    @property
    def freeze_would_be_spent(self) -> bool:
        return self.freezes_held > 0


def zones_at_or_after(*, local_time: dt.time, now: dt.datetime) -> list[str]:
    """The time zones (of ``known_timezones``) whose wall clock shows ``local_time`` or later,
    before midnight, at ``now``."""
    return sorted(name for name in known_timezones() if now.astimezone(zone(name)).time() >= local_time)


AT_RISK_CHUNK = 2000


def streaks_at_risk(*, now: dt.datetime, from_local_time: dt.time) -> Iterator[StreakAtRisk]:
    """Every language streak that is above 0 now and whose user's local today does not count
    yet and is not a rest day, for the users whose local time is ``from_local_time`` or later
    (their evening). Streamed, two queries per 2,000 streaks: the users in those zones whose
    stored run ended recently enough to be alive (at most two UTC dates ago plus the most
    freezes one can hold, or later than the end of a rest booking), with their rest days; then
    the rule of ``streak_runs.daily_streak_on`` on each user's calendar."""
    zones = zones_at_or_after(local_time=from_local_time, now=now)
    if not zones:
        return
    cutoff = now.astimezone(dt.UTC).date() - (2 + settings.STREAK_FREEZES_MAX) * ONE_DAY
    resting = RestDay.objects.filter(user_id=OuterRef("user_id"), end__gte=OuterRef("last_date"))
    rows = (
        LanguageStreak.objects.filter(length__gt=0, user__timezone__in=zones)
        .filter(Q(last_date__gte=cutoff) | Exists(resting))
        .order_by("user_id", "language_id")
        .values_list(
            "user_id",
            "user__username",
            "user__external_id",
            "user__timezone",
            "language_id",
            "length",
            "last_date",
            "freezes_held",
            "frozen_days",
        )
    )
    chunk: list[tuple] = []
    for row in rows.iterator(chunk_size=AT_RISK_CHUNK):
        chunk.append(row)
        if len(chunk) >= AT_RISK_CHUNK:
            yield from _at_risk_in(chunk, now=now)
            chunk = []
    if chunk:
        yield from _at_risk_in(chunk, now=now)


def _at_risk_in(rows: list[tuple], *, now: dt.datetime) -> Iterator[StreakAtRisk]:
    rest = rest_dates_of_users(user_ids={row[0] for row in rows}, since=min(row[6] for row in rows))
    for user_id, username, external_id, tz_name, language_id, length, last_date, freezes, frozen in rows:
        today = local_today(tz_name, now)
        streak = DailyStreak(length, last_date, 0, None, freezes, tuple(dt.date.fromisoformat(d) for d in frozen or ()))
        user_rest = rest.get(user_id, frozenset())
        shown = daily_streak_on(streak, today=today, rest=user_rest)
        if shown.daily_streak <= 0 or shown.counts_today or today in user_rest:
            continue
        yield StreakAtRisk(
            user_id=user_id,
            username=username,
            external_id=external_id,
            language_id=language_id,
            daily_streak=shown.daily_streak,
            local_date=today,
            local_deadline=start_of_local_day(today + ONE_DAY, tz_name).astimezone(zone(tz_name)),
            freezes_held=shown.freezes_held,
        )
