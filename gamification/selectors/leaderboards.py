"""Leaderboards of friends and of classrooms (SPEC §8).

Boards are small (a user's friends, a classroom's students), so each board is built from a fixed
number of queries whatever its size, and ranked in Python:

- the members with what the board shows of them, in one query: for the friends board, my
  friendships (current now, or at the end of the period) joined to both users, which also tells
  who is my friend now; for a classroom board, the classroom joined to its memberships and users,
  which also tells the caller's role and, through an EXISTS on the pair's unique index, which
  students are the caller's friends;
- their values for the metric and period, in one grouped query over the activity log
  (``ActivityEvent``) or over the first occurrences (``FirstOccurrence``).

Decisions where the spec is silent:

- A friend "at the end of the period" is one whose friendship started at or before that instant
  and had not ended by then. For the current period (and ``all``) that instant is now.
- ``is_friend`` always means a *current* friend, on past boards too: a friend removed this week
  still appears on last week's board, with ``is_friend`` false.
- Ties are ordered by username ignoring case, then by account age, so that the order is total.

Blocks and privacy settings (asked of ``selectors.relationships`` inside the same queries, so
they add no query): a pair blocked now is not on each other's friends board, past periods
included; classroom boards show every student whatever the blocks (they are the teacher's). A
learner who left the boards (``on_leaderboards`` false) is not a row on anyone else's friends
board nor, for the classroom's students, on a classroom board, and ranks are computed without
them; they still see themself on boards they look at, ranked among the others, and the
classroom's teachers still see them.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from gamification.exceptions import ForbiddenError, NotFoundError
from gamification.models import (
    ActivityEvent,
    Classroom,
    ClassroomRole,
    EventType,
    FirstOccurrence,
    PracticeKind,
    User,
)
from gamification.prepared import PreparedQuery
from gamification.selectors.relationships import (
    OTHER_SIDE,
    SIDES,
    flag,
    friendships_current_now_or_at_on_side,
    is_friend_of,
    is_off_leaderboards,
    is_off_leaderboards_joined,
)
from gamification.selectors.users import SUMMARY_FIELDS
from gamification.timeutils import PERIOD_ALL, period_bounds

MAX_ID = 2**63 - 1


# The index each source's values are read through: its rows of one user and kind by time.
_EVENTS_INDEX = "activityevent_board_cover"
_FIRST_OCCURRENCES_INDEX = "firstocc_user_kind_at"


class MetricSource(NamedTuple):
    rows: Callable[[], QuerySet]  # the rows that count; each has ``user_id`` and ``occurred_at``
    total: Sum | Count  # how they add up
    index: str  # the index that reads one member's rows of the period (MariaDB is told to use it)


def _practice_seconds(kind: str) -> MetricSource:
    return MetricSource(
        lambda: ActivityEvent.objects.filter(type=EventType.PRACTICE, kind=kind),
        Sum("duration_seconds"),
        _EVENTS_INDEX,
    )


def _first_occurrences(kind: str) -> MetricSource:
    return MetricSource(lambda: FirstOccurrence.objects.filter(kind=kind), Count("*"), _FIRST_OCCURRENCES_INDEX)


METRIC_SOURCES: dict[str, MetricSource] = {
    "reading_time": _practice_seconds(PracticeKind.READING),
    "listening_time": _practice_seconds(PracticeKind.LISTENING),
    "exercise_time": _practice_seconds(PracticeKind.EXERCISES),
    "read_articles": _first_occurrences(FirstOccurrence.Kind.ARTICLE),
    "audio_lessons": _first_occurrences(FirstOccurrence.Kind.AUDIO_LESSON),
    "translated_words": _first_occurrences(FirstOccurrence.Kind.TRANSLATED_WORD),
    "learned_words": _first_occurrences(FirstOccurrence.Kind.LEARNED_WORD),
    "correct_exercises": MetricSource(
        # kind="" (what every non-practice event has): the range of the covering index.
        lambda: ActivityEvent.objects.filter(type=EventType.EXERCISE_ANSWERED, kind="", correct=True),
        Count("*"),
        _EVENTS_INDEX,
    ),
}
METRICS: tuple[str, ...] = tuple(METRIC_SOURCES)


class Member(NamedTuple):
    """What a board shows of a user (the fields of ``UserSummary``), read without model instances:
    boards list hundreds of users and building ``User`` objects (or even frozen dataclasses)
    would cost more than the queries."""

    pk: int
    username: str
    name: str
    avatar_image: str
    avatar_character_color: str
    avatar_background_color: str

    @classmethod
    def of(cls, user: User) -> "Member":
        return cls(*(getattr(user, field) for field in SUMMARY_FIELDS))


class BoardRow(NamedTuple):
    rank: int
    user: Member
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


# The board queries ---------------------------------------------------------------------------
# Both queries of a board are compiled once per process (gamification.prepared): building the
# querysets took most of a board's CPU. Flags come back as 0/1 integers computed in SQL, so that
# no column of a hundred rows needs a converter in Python. The values are one grouped query over
# the members' ids as a list (not a subquery, nor a correlated subquery per member: with
# constants the database reads each member's range of (user, type, occurred_at) in the covering
# index ``activityevent_board_cover``, or of ``firstocc_user_kind_at``, so that the cost
# follows the members' events in the period, not their whole history nor the table's size).

_Span = tuple[bool, bool]  # (bounded below, bounded above)


def _summary_fields(prefix: str) -> list[str]:
    return [f"{prefix}__{field}" if field != "id" else f"{prefix}_id" for field in SUMMARY_FIELDS]


def _friendship_side_rows(user_id, at, *, side: str) -> QuerySet:
    """The rows of ``_friendship_rows`` for the friendships where ``user_id`` is ``side``: one
    range of that side's index, joined only to the friend's row."""
    friend = OTHER_SIDE[side]
    return (
        friendships_current_now_or_at_on_side(user_id=user_id, at=at, side=side)
        .order_by()
        .annotate(
            other_id=F(f"{friend}_id"),
            **{f"other_{field}": F(f"{friend}__{field}") for field in SUMMARY_FIELDS if field != "id"},
            is_friend_now=flag(Q(active=True)),
            on_board=flag(
                Q(created_at__lte=at)
                & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))
                & ~is_off_leaderboards_joined(user=friend)
            ),
        )
        .values_list("is_friend_now", "on_board", *(f"other_{field}" for field in SUMMARY_FIELDS))
    )


def _friendship_rows(user_id, at) -> QuerySet:
    """The friendships current now (for is_friend) and those current at ``at`` (the scope), with
    the other user's summary and whether they are on the board: a ``UNION ALL`` of the two
    sides of the pair, each one range of its index joined to the friend's row only (an ``OR``
    over both sides joined both users and picked each column with a ``CASE``: 0.60 against
    0.25 ms of MariaDB's CPU for 100 friends)."""
    low_side, high_side = (_friendship_side_rows(user_id, at, side=side) for side in SIDES)
    return low_side.union(high_side, all=True)


def _classroom_rows(classroom_id, user_id) -> QuerySet:
    """The classroom joined to its memberships and users (a LEFT JOIN: one row per member, or a
    single row of NULLs for a classroom without members), with friend and off-board flags."""
    member = OuterRef("memberships__user_id")
    return (
        Classroom.objects.filter(pk=classroom_id)
        .order_by()
        .annotate(
            is_friend=flag(Q(is_friend_of(user_id=user_id, other=member))),
            is_off=flag(Q(is_off_leaderboards(user=member))),
        )
        .values_list(
            "leaderboard_enabled", "memberships__role", "is_friend", "is_off", *_summary_fields("memberships__user")
        )
    )


_FRIENDSHIPS = PreparedQuery(_friendship_rows, user_id="int", at="datetime")
_CLASSROOM = PreparedQuery(_classroom_rows, classroom_id="int", user_id="int")


def _values_rows(metric: str, span: _Span) -> Callable[..., QuerySet]:
    def build(user_ids, start=None, end=None) -> QuerySet:
        source = METRIC_SOURCES[metric]
        queryset = source.rows().filter(user_id__in=user_ids)
        if span[0]:
            queryset = queryset.filter(occurred_at__gte=start)
        if span[1]:
            queryset = queryset.filter(occurred_at__lt=end)
        return queryset.order_by().values("user_id").annotate(value=source.total).values_list("user_id", "value")

    return build


_VALUES: dict[tuple[str, _Span], PreparedQuery] = {}


def member_values(
    *, metric: str, user_ids: Iterable[int], start: dt.datetime | None, end: dt.datetime | None
) -> dict[int, int]:
    """Each user's value of ``metric`` over ``[start, end)`` (all time when both are None), in one
    grouped query (compiled once per metric and kind of span). Users without activity are
    absent (their value is 0)."""
    ids = list(user_ids)
    if not ids:
        return {}
    span = (start is not None, end is not None)
    prepared = _VALUES.get((metric, span))
    if prepared is None:
        bounds = {name: "datetime" for name, bounded in zip(("start", "end"), span, strict=True) if bounded}
        prepared = _VALUES[(metric, span)] = PreparedQuery(
            _values_rows(metric, span), force_index=METRIC_SOURCES[metric].index, user_ids="ints", **bounds
        )
    bounds = {}
    if start is not None:
        bounds["start"] = start
    if end is not None:
        bounds["end"] = end
    return {user_id: int(value or 0) for user_id, value in prepared.rows(user_ids=ids, **bounds)}


def _rank(
    *, members: Iterable[Member], values: dict[int, int], viewer_id: int, friend_ids: set[int], limit: int | None
) -> tuple[list[BoardRow], Standing | None]:
    """Competition ranking (1, 1, 3) by value descending, then username ignoring case; the first
    ``limit`` rows (None: all of them)."""
    get = values.get
    ordered = sorted(members, key=lambda member: (-get(member.pk, 0), member.username.lower(), member.pk))
    if limit is None:
        limit = len(ordered)
    rows: list[BoardRow] = []
    me: Standing | None = None
    rank, previous = 0, None
    for position, member in enumerate(ordered, start=1):
        value = get(member.pk, 0)
        if value != previous:
            rank, previous = position, value
        is_self = member.pk == viewer_id
        if is_self:
            me = Standing(rank=rank, value=value)
        if position <= limit:
            rows.append(BoardRow(rank, member, value, is_self, not is_self and member.pk in friend_ids))
    return rows, me


def _friends_board(
    *,
    user: User,
    metric: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    at: dt.datetime,
    limit: int | None,
) -> tuple[list[BoardRow], Standing | None]:
    """Me and whoever was my friend at the instant ``at`` (but friends who left the boards),
    ranked on ``metric`` over ``[start, end)``. Two queries whatever the number of friends: the
    friendships with both users' summaries and settings, and the values."""
    members = {user.pk: Member.of(user)}
    current_friend_ids: set[int] = set()
    for is_friend_now, on_board, *summary in _FRIENDSHIPS.rows(user_id=user.pk, at=at):
        other = Member._make(summary)
        if is_friend_now:
            current_friend_ids.add(other.pk)
        if on_board:
            members[other.pk] = other
    values = member_values(metric=metric, user_ids=members, start=start, end=end)
    return _rank(members=members.values(), values=values, viewer_id=user.pk, friend_ids=current_friend_ids, limit=limit)


def friends_leaderboard(
    *, user: User, metric: str, period: str = "week", offset: int = 0, limit: int = 50, now: dt.datetime | None = None
) -> Leaderboard:
    """Me and whoever was my friend at the end of the period (now, for the current period and
    for ``all``), ranked on ``metric``. Two queries whatever the number of friends."""
    now = now or timezone.now()
    start, end = period_bounds(period, offset, user.timezone, now)
    at = now if (period == PERIOD_ALL or offset == 0) else end
    assert at is not None
    rows, me = _friends_board(user=user, metric=metric, start=start, end=end, at=at, limit=limit)
    return Leaderboard(metric=metric, period=period, period_start=start, period_end=end, rows=rows, me=me)


def friends_leaderboard_between(
    *,
    user: User,
    metric: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> list[BoardRow]:
    """The friends board over any span ``[start, end)`` (either may be None: unbounded), for
    callers that give dates rather than a period (the Zeeguu-compatible API): me and whoever was
    my friend at the span's end, or now when it ends later (or never). Every row unless
    ``limit``. Two queries, as ``friends_leaderboard``."""
    now = now or timezone.now()
    at = min(end, now) if end is not None else now
    rows, _ = _friends_board(user=user, metric=metric, start=start, end=end, at=at, limit=limit)
    return rows


def _classroom_students(*, user: User, classroom_id: int) -> tuple[list[Member], set[int]]:
    """A classroom's students and which of them are ``user``'s friends, once ``user`` may see its
    board (else ForbiddenError; an unknown classroom: NotFoundError). For a student, never
    another student who left the boards; a teacher sees every student. One query."""
    if not 0 < classroom_id <= MAX_ID:
        raise NotFoundError("Classroom not found.")
    rows = _CLASSROOM.rows(classroom_id=classroom_id, user_id=user.pk)
    if not rows:
        raise NotFoundError("Classroom not found.")
    enabled = rows[0][0]
    role: str | None = None
    students: list[tuple[Member, bool]] = []
    friend_ids: set[int] = set()
    for _, member_role, is_friend, is_off, *summary in rows:
        if summary[0] == user.pk:
            role = member_role
        if member_role == ClassroomRole.STUDENT:
            students.append((Member._make(summary), bool(is_off) and summary[0] != user.pk))
            if is_friend:
                friend_ids.add(summary[0])
    if role is None:
        raise ForbiddenError("Only the classroom's students and teachers may see its leaderboard.")
    if role == ClassroomRole.STUDENT and not enabled:
        raise ForbiddenError("The teacher has not switched this classroom's leaderboard on.")
    return [member for member, off in students if role == ClassroomRole.TEACHER or not off], friend_ids


def _classroom_board(
    *,
    user: User,
    classroom_id: int,
    metric: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int | None,
) -> tuple[list[BoardRow], Standing | None]:
    students, friend_ids = _classroom_students(user=user, classroom_id=classroom_id)
    values = member_values(metric=metric, user_ids=[student.pk for student in students], start=start, end=end)
    return _rank(members=students, values=values, viewer_id=user.pk, friend_ids=friend_ids, limit=limit)


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
    classroom → ``NotFoundError``. Two queries whatever the number of students: the classroom with
    every member's role, summary and whether they are my friend; and the values."""
    now = now or timezone.now()
    start, end = period_bounds(period, offset, user.timezone, now)
    ranked, me = _classroom_board(
        user=user, classroom_id=classroom_id, metric=metric, start=start, end=end, limit=limit
    )
    return Leaderboard(metric=metric, period=period, period_start=start, period_end=end, rows=ranked, me=me)


def classroom_leaderboard_between(
    *,
    user: User,
    classroom_id: int,
    metric: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    limit: int | None = None,
) -> list[BoardRow]:
    """The classroom board over any span ``[start, end)`` (either may be None: unbounded), with
    the access rules of ``classroom_leaderboard``. Every row unless ``limit``. Two queries."""
    ranked, _ = _classroom_board(user=user, classroom_id=classroom_id, metric=metric, start=start, end=end, limit=limit)
    return ranked
