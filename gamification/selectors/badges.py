"""Reading badge progress (SPEC §2, §5).

Each read costs a fixed number of queries whatever the number of types, levels or achievements:
the catalogue's version token (the catalogue itself is cached per process,
gamification.selectors.catalogue) and one for the user's metrics and awards.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BigIntegerField, Count, DateTimeField, IntegerField, Min, QuerySet, Value

from gamification.models import ActivityType, Badge, User, UserBadge, UserMetric
from gamification.prepared import PreparedQuery
from gamification.selectors.catalogue import catalogue_get


@dataclass(frozen=True)
class BadgeProgress:
    """One level of an activity type as seen by one user."""

    badge: Badge
    achieved_at: datetime | None
    seen_at: datetime | None

    @property
    def level(self) -> int:
        return self.badge.level

    @property
    def name(self) -> str:
        return self.badge.name

    @property
    def threshold(self) -> int:
        return self.badge.threshold

    @property
    def achieved_description(self) -> str:
        return self.badge.achieved_description

    @property
    def unachieved_description(self) -> str:
        return self.badge.unachieved_description

    @property
    def achieved(self) -> bool:
        return self.achieved_at is not None

    @property
    def seen(self) -> bool:
        return self.achieved and self.seen_at is not None


@dataclass(frozen=True)
class ActivityTypeProgress:
    """An activity type with the user's levels. ``current_value`` is None when it was not read
    (a friend's view never reads metric values)."""

    activity_type: ActivityType
    current_value: int | None
    badges: tuple[BadgeProgress, ...]

    @property
    def code(self) -> str:
        return self.activity_type.code

    @property
    def name(self) -> str:
        return self.activity_type.name

    @property
    def award_mechanism(self) -> str:
        return self.activity_type.award_mechanism

    @property
    def last_achieved_at(self) -> datetime | None:
        return max((item.achieved_at for item in self.badges if item.achieved_at is not None), default=None)

    @property
    def next_threshold(self) -> int | None:
        """The threshold of the lowest level not achieved yet; None once every level is achieved."""
        return min((item.threshold for item in self.badges if not item.achieved), default=None)


def _by_most_recent_achievement(progress: ActivityTypeProgress) -> tuple:
    """Most recently achieved first, never-achieved types last, then by id."""
    last = progress.last_achieved_at
    return (last is None, -last.timestamp() if last is not None else 0, progress.activity_type.pk)


def _metrics_and_awards_rows(user_id) -> QuerySet:
    """The user's metric rows and awards as one UNION ALL (``kind`` 0 is a metric row, 1 an
    award): ``(kind, activity type or badge id, value, achieved_at, seen_at)``."""
    none_at = Value(None, output_field=DateTimeField())
    metrics = UserMetric.objects.filter(user_id=user_id).values_list(
        Value(0, output_field=IntegerField()), "activity_type_id", "value", none_at, none_at
    )
    awards = UserBadge.objects.filter(user_id=user_id).values_list(
        Value(1, output_field=IntegerField()),
        "badge_id",
        Value(None, output_field=BigIntegerField()),
        "achieved_at",
        "seen_at",
    )
    return metrics.order_by().union(awards.order_by(), all=True)


# Read on every badge list: compiled once per process (gamification.prepared).
_METRICS_AND_AWARDS = PreparedQuery(_metrics_and_awards_rows, user_id="int")


def _metrics_and_awards(user_id: int) -> tuple[dict[int, int], dict[int, tuple[datetime, datetime | None]]]:
    """The user's metric values by activity type id and awards by badge id, in one query."""
    values: dict[int, int] = {}
    achieved: dict[int, tuple[datetime, datetime | None]] = {}
    for kind, row_id, value, achieved_at, seen_at in _METRICS_AND_AWARDS.rows(user_id=user_id):
        # MariaDB types the UNION's value column DECIMAL: back to int.
        if kind == 0:
            values[int(row_id)] = int(value)
        else:
            achieved[int(row_id)] = (achieved_at, seen_at)
    return values, achieved


def _awards(user_id: int) -> dict[int, tuple[datetime, datetime | None]]:
    rows = UserBadge.objects.filter(user_id=user_id).values_list("badge_id", "achieved_at", "seen_at")
    return {badge_id: (achieved_at, seen_at) for badge_id, achieved_at, seen_at in rows}


def _levels(badges: Iterable[Badge], achieved: dict, *, only_achieved: bool) -> tuple[BadgeProgress, ...]:
    levels = []
    for badge in badges:
        award = achieved.get(badge.pk)
        if award is None:
            if not only_achieved:
                levels.append(BadgeProgress(badge=badge, achieved_at=None, seen_at=None))
        else:
            levels.append(BadgeProgress(badge=badge, achieved_at=award[0], seen_at=award[1]))
    return tuple(levels)


def badge_progress_for_user(*, user: User) -> list[ActivityTypeProgress]:
    """Every activity type with the user's metric value and every level, achieved or not
    (``GET /api/badges/``). Two queries while this process's copy of the catalogue is current
    (its version token; the user's metrics and awards), four when the catalogue changed."""
    catalogue = catalogue_get()
    values, achieved = _metrics_and_awards(user.pk)
    progress = [
        ActivityTypeProgress(
            activity_type=entry.activity_type,
            current_value=values.get(entry.activity_type.pk, 0),
            badges=_levels(entry.badges, achieved, only_achieved=False),
        )
        for entry in catalogue.types
    ]
    return sorted(progress, key=_by_most_recent_achievement)


def badges_achieved_by_user(*, user: User) -> list[ActivityTypeProgress]:
    """Only the badges the user achieved, and only the types in which they achieved one
    (``GET /api/users/<username>/badges/``). Metric values are never read. Two queries while the
    catalogue copy is current (the token; the user's awards)."""
    catalogue = catalogue_get()
    achieved = _awards(user.pk)
    progress = []
    for entry in catalogue.types:
        levels = _levels(entry.badges, achieved, only_achieved=True)
        if levels:
            progress.append(ActivityTypeProgress(activity_type=entry.activity_type, current_value=None, badges=levels))
    return sorted(progress, key=_by_most_recent_achievement)


# Polled by the app: compiled once per process (gamification.prepared). No row: none unseen.
_UNSEEN_COUNT = PreparedQuery(
    lambda user_id: (
        UserBadge.objects.filter(user_id=user_id, seen_at__isnull=True)
        .order_by()
        .values("user_id")
        .annotate(count=Count("*"))
        .values_list("count")
    ),
    user_id="int",
)


def badges_unseen_count(*, user: User) -> int:
    """How many of the user's achieved badges they have not seen yet. One query."""
    rows = _UNSEEN_COUNT.rows(user_id=user.pk)
    return int(rows[0][0]) if rows else 0


def badge_award_candidates_count(*, activity_types: Iterable[ActivityType]) -> int:
    """How many metric rows badges_award_qualified will look at for these types: those reaching
    at least the type's lowest threshold. Used as the total of a progress bar."""
    total = 0
    for activity_type in activity_types:
        lowest = Badge.objects.filter(activity_type=activity_type).aggregate(lowest=Min("threshold"))["lowest"]
        if lowest is not None:
            total += UserMetric.objects.filter(activity_type=activity_type, value__gte=lowest).count()
    return total
