"""Reading badge progress (SPEC §2, §5).

Each read costs a fixed number of queries whatever the number of types, levels or achievements:
the catalogue's version token (the catalogue itself is cached per process,
gamification.selectors.catalogue) and one for the user's metrics and awards.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BigIntegerField, CharField, Count, DateTimeField, IntegerField, Min, QuerySet, Value

from gamification.models import ActivityType, Badge, CatalogueVersion, User, UserBadge, UserMetric
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


# Kinds of row in the badge lists' UNION ALL queries.
_METRIC, _AWARD, _TOKEN_ROW = 0, 1, 2


def _token_branch() -> QuerySet:
    """The catalogue's version token as a row of the badge lists' unions (kind 2), so that the
    token comes in the same round trip as the user's rows; it is still read before the catalogue
    (``catalogue_get(token=...)``), which is what keeps a cached copy consistent."""
    none_at = Value(None, output_field=DateTimeField())
    return CatalogueVersion.objects.filter(pk=1).values_list(
        Value(_TOKEN_ROW, output_field=IntegerField()),
        Value(None, output_field=IntegerField()),
        Value(None, output_field=BigIntegerField()),
        none_at,
        none_at,
        "token",
    )


def _awards_branch(user_id) -> QuerySet:
    return UserBadge.objects.filter(user_id=user_id).values_list(
        Value(_AWARD, output_field=IntegerField()),
        "badge_id",
        Value(None, output_field=BigIntegerField()),
        "achieved_at",
        "seen_at",
        Value(None, output_field=CharField()),
    )


def _metrics_and_awards_rows(user_id) -> QuerySet:
    """The user's metric rows and awards and the catalogue's token as one UNION ALL (``kind`` 0
    is a metric row, 1 an award, 2 the token): ``(kind, activity type or badge id, value,
    achieved_at, seen_at, token)``."""
    none_at = Value(None, output_field=DateTimeField())
    metrics = UserMetric.objects.filter(user_id=user_id).values_list(
        Value(_METRIC, output_field=IntegerField()),
        "activity_type_id",
        "value",
        none_at,
        none_at,
        Value(None, output_field=CharField()),
    )
    return metrics.order_by().union(_awards_branch(user_id).order_by(), _token_branch().order_by(), all=True)


def _awards_rows(user_id) -> QuerySet:
    """The user's awards and the catalogue's token as one UNION ALL (the same columns)."""
    return _awards_branch(user_id).order_by().union(_token_branch().order_by(), all=True)


# Read on every badge list: compiled once per process (gamification.prepared).
_METRICS_AND_AWARDS = PreparedQuery(_metrics_and_awards_rows, user_id="int")
_AWARDS = PreparedQuery(_awards_rows, user_id="int")

Awards = dict[int, tuple[datetime, datetime | None]]


def _split(rows) -> tuple[dict[int, int], Awards, str]:
    """Metric values by activity type id, awards by badge id, and the catalogue token."""
    values: dict[int, int] = {}
    achieved: Awards = {}
    token = ""
    for kind, row_id, value, achieved_at, seen_at, row_token in rows:
        # MariaDB types the UNION's value column DECIMAL: back to int.
        if kind == _METRIC:
            values[int(row_id)] = int(value)
        elif kind == _AWARD:
            achieved[int(row_id)] = (achieved_at, seen_at)
        else:
            token = row_token or ""
    return values, achieved, token


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
    (the user's metrics and awards with the catalogue's version token), three when the catalogue
    changed."""
    values, achieved, token = _split(_METRICS_AND_AWARDS.rows(user_id=user.pk))
    catalogue = catalogue_get(token=token)
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
    (``GET /api/users/<username>/badges/``). Metric values are never read. One query while the
    catalogue copy is current (the user's awards with the catalogue's token)."""
    _, achieved, token = _split(_AWARDS.rows(user_id=user.pk))
    catalogue = catalogue_get(token=token)
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
