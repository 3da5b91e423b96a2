"""Leaderboards of friends and of classrooms (SPEC §8).

Boards are small (a user's friends, a classroom's students), so each board is built from a fixed
number of queries whatever its size, and ranked in Python:

- the members, in one query (for the friends board: one query for the friendship history, one
  for the users);
- their values for the metric and period, in one grouped query over the activity log
  (``ActivityEvent``) or over the first occurrences (``FirstOccurrence``);
- which members are my current friends, in one query (the friends board reads it from the
  friendship history it already has).

Decisions where the spec is silent:

- A friend "at the end of the period" is one whose friendship started at or before that instant
  and had not ended by then. For the current period (and ``all``) that instant is now.
- ``is_friend`` always means a *current* friend, on past boards too: a friend removed this week
  still appears on last week's board, with ``is_friend`` false.
- Ties are ordered by username ignoring case, then by account age, so that the order is total.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from gamification.exceptions import ForbiddenError, NotFoundError
from gamification.models import (
    ActivityEvent,
    Classroom,
    ClassroomMembership,
    ClassroomRole,
    EventType,
    FirstOccurrence,
    Friendship,
    PracticeKind,
    User,
)
from gamification.timeutils import PERIOD_ALL, period_bounds

MAX_ID = 2**63 - 1
# Everything UserSummary needs, nothing more (never the email or the password hash).
SUMMARY_FIELDS = ("id", "username", "name", "avatar_image", "avatar_character_color", "avatar_background_color")


def _practice_seconds(kind: str) -> tuple[Callable[[], QuerySet], Sum]:
    return (
        lambda: ActivityEvent.objects.filter(type=EventType.PRACTICE, kind=kind),
        Sum("duration_seconds"),
    )


def _first_occurrences(kind: str) -> tuple[Callable[[], QuerySet], Count]:
    return lambda: FirstOccurrence.objects.filter(kind=kind), Count("*")


# metric → (rows that count, how they add up). Every queryset has ``user_id`` and ``occurred_at``.
METRIC_SOURCES: dict[str, tuple[Callable[[], QuerySet], Sum | Count]] = {
    "reading_time": _practice_seconds(PracticeKind.READING),
    "listening_time": _practice_seconds(PracticeKind.LISTENING),
    "exercise_time": _practice_seconds(PracticeKind.EXERCISES),
    "read_articles": _first_occurrences(FirstOccurrence.Kind.ARTICLE),
    "audio_lessons": _first_occurrences(FirstOccurrence.Kind.AUDIO_LESSON),
    "translated_words": _first_occurrences(FirstOccurrence.Kind.TRANSLATED_WORD),
    "learned_words": _first_occurrences(FirstOccurrence.Kind.LEARNED_WORD),
    "correct_exercises": (
        lambda: ActivityEvent.objects.filter(type=EventType.EXERCISE_ANSWERED, correct=True),
        Count("*"),
    ),
}
METRICS: tuple[str, ...] = tuple(METRIC_SOURCES)


@dataclass(frozen=True)
class BoardRow:
    rank: int
    user: User
    value: int
    is_self: bool
    is_friend: bool


@dataclass(frozen=True)
class Standing:
    rank: int
    value: int


@dataclass(frozen=True)
class Leaderboard:
    metric: str
    period: str
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    rows: list[BoardRow]
    me: Standing | None


def member_values(
    *, metric: str, user_ids: Iterable[int], start: dt.datetime | None, end: dt.datetime | None
) -> dict[int, int]:
    """Each user's value of ``metric`` over ``[start, end)`` (all time when both are None), in one
    grouped query. Users without activity are absent (their value is 0)."""
    rows, total = METRIC_SOURCES[metric]
    queryset = rows().filter(user_id__in=list(user_ids))
    if start is not None:
        queryset = queryset.filter(occurred_at__gte=start)
    if end is not None:
        queryset = queryset.filter(occurred_at__lt=end)
    grouped = queryset.order_by().values("user_id").annotate(value=total).values_list("user_id", "value")
    return {user_id: int(value or 0) for user_id, value in grouped}


def _rank(
    *, members: list[User], values: dict[int, int], viewer_id: int, friend_ids: set[int], limit: int
) -> tuple[list[BoardRow], Standing | None]:
    """Competition ranking (1, 1, 3) by value descending, then username ignoring case."""
    ordered = sorted(members, key=lambda user: (-values.get(user.pk, 0), user.username.lower(), user.pk))
    rows: list[BoardRow] = []
    me: Standing | None = None
    rank, previous = 0, None
    for position, user in enumerate(ordered, start=1):
        value = values.get(user.pk, 0)
        if value != previous:
            rank, previous = position, value
        is_self = user.pk == viewer_id
        if is_self:
            me = Standing(rank=rank, value=value)
        if position <= limit:
            rows.append(
                BoardRow(
                    rank=rank, user=user, value=value, is_self=is_self, is_friend=not is_self and user.pk in friend_ids
                )
            )
    return rows, me


def _summaries(user_ids: Iterable[int]) -> list[User]:
    return list(User.objects.filter(pk__in=list(user_ids)).only(*SUMMARY_FIELDS))


def friends_leaderboard(
    *, user: User, metric: str, period: str = "week", offset: int = 0, limit: int = 50, now: dt.datetime | None = None
) -> Leaderboard:
    """Me and whoever was my friend at the end of the period (now, for the current period and
    for ``all``), ranked on ``metric``. Three queries whatever the number of friends."""
    now = now or timezone.now()
    start, end = period_bounds(period, offset, user.timezone, now)
    at = now if (period == PERIOD_ALL or offset == 0) else end
    assert at is not None
    # The friendships current now, and those that were current at ``at``: one query serves both
    # the scope and the is_friend flags.
    history = (
        Friendship.objects.filter(Q(user_low=user) | Q(user_high=user))
        .filter(Q(active=True) | Q(created_at__lte=at, ended_at__gt=at))
        .values_list("user_low_id", "user_high_id", "created_at", "ended_at", "active")
    )
    member_ids = {user.pk}
    current_friend_ids: set[int] = set()
    for low_id, high_id, created_at, ended_at, active in history:
        other_id = high_id if low_id == user.pk else low_id
        if active:
            current_friend_ids.add(other_id)
        if created_at <= at and (ended_at is None or ended_at > at):
            member_ids.add(other_id)
    members = _summaries(member_ids)
    values = member_values(metric=metric, user_ids=member_ids, start=start, end=end)
    rows, me = _rank(members=members, values=values, viewer_id=user.pk, friend_ids=current_friend_ids, limit=limit)
    return Leaderboard(metric=metric, period=period, period_start=start, period_end=end, rows=rows, me=me)


def _current_friend_ids(*, user: User, among: list[int]) -> set[int]:
    pairs = Friendship.objects.filter(active=True).filter(
        Q(user_low=user, user_high_id__in=among) | Q(user_high=user, user_low_id__in=among)
    )
    return {
        high_id if low_id == user.pk else low_id for low_id, high_id in pairs.values_list("user_low_id", "user_high_id")
    }


def classroom_leaderboard(
    *,
    user: User,
    classroom_id: int,
    metric: str,
    period: str = "week",
    offset: int = 0,
    limit: int = 50,
    now: dt.datetime | None = None,
) -> Leaderboard:
    """A classroom's students ranked on ``metric``. Visible to its students and teachers only
    (else ``ForbiddenError``); while the leaderboard is off, to its teachers only. Unknown
    classroom → ``NotFoundError``. Four queries whatever the number of students."""
    if not 0 < classroom_id <= MAX_ID:
        raise NotFoundError("Classroom not found.")
    classroom = (
        Classroom.objects.filter(pk=classroom_id)
        .annotate(
            viewer_role=Subquery(
                ClassroomMembership.objects.filter(classroom=OuterRef("pk"), user=user).values("role")[:1]
            )
        )
        .values("leaderboard_enabled", "viewer_role")
        .first()
    )
    if classroom is None:
        raise NotFoundError("Classroom not found.")
    role = classroom["viewer_role"]
    if role is None:
        raise ForbiddenError("Only the classroom's students and teachers may see its leaderboard.")
    if role == ClassroomRole.STUDENT and not classroom["leaderboard_enabled"]:
        raise ForbiddenError("The teacher has not switched this classroom's leaderboard on.")

    now = now or timezone.now()
    start, end = period_bounds(period, offset, user.timezone, now)
    members = list(
        User.objects.filter(
            classroom_memberships__classroom_id=classroom_id, classroom_memberships__role=ClassroomRole.STUDENT
        ).only(*SUMMARY_FIELDS)
    )
    member_ids = [member.pk for member in members]
    values = member_values(metric=metric, user_ids=member_ids, start=start, end=end)
    friend_ids = _current_friend_ids(user=user, among=member_ids)
    rows, me = _rank(members=members, values=values, viewer_id=user.pk, friend_ids=friend_ids, limit=limit)
    return Leaderboard(metric=metric, period=period, period_start=start, period_end=end, rows=rows, me=me)
