"""Reading badge progress (SPEC §2, §5).

Each read costs a fixed number of queries whatever the number of types, levels or achievements:
one for the activity types (with the user's metric value as a subquery when it is needed) and
one for every badge with the user's award joined on the (user, badge) unique pair.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from gamification.models import ActivityType, Badge, User, UserBadge, UserMetric


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


def _badges_with_award_of(user_id: int) -> QuerySet[Badge]:
    return (
        Badge.objects.annotate(award=FilteredRelation("user_badges", condition=Q(user_badges__user_id=user_id)))
        .annotate(achieved_at=F("award__achieved_at"), seen_at=F("award__seen_at"))
        .order_by("level")
    )


def _by_most_recent_achievement(progress: ActivityTypeProgress) -> tuple:
    """Most recently achieved first, never-achieved types last, then by id."""
    last = progress.last_achieved_at
    return (last is None, -last.timestamp() if last is not None else 0, progress.activity_type.pk)


def _progress(activity_type: ActivityType, *, current_value: int | None) -> ActivityTypeProgress:
    return ActivityTypeProgress(
        activity_type=activity_type,
        current_value=current_value,
        badges=tuple(
            BadgeProgress(badge=badge, achieved_at=badge.achieved_at, seen_at=badge.seen_at)
            for badge in activity_type.levels
        ),
    )


def badge_progress_for_user(*, user: User) -> list[ActivityTypeProgress]:
    """Every activity type with the user's metric value and every level, achieved or not
    (``GET /api/badges/``). Two queries."""
    metric_value = UserMetric.objects.filter(user_id=user.pk, activity_type=OuterRef("pk")).values("value")[:1]
    types = ActivityType.objects.annotate(
        current_value=Coalesce(Subquery(metric_value), Value(0), output_field=BigIntegerField())
    ).prefetch_related(Prefetch("badges", queryset=_badges_with_award_of(user.pk), to_attr="levels"))
    progress = [_progress(activity_type, current_value=activity_type.current_value) for activity_type in types]
    return sorted(progress, key=_by_most_recent_achievement)


def badges_achieved_by_user(*, user: User) -> list[ActivityTypeProgress]:
    """Only the badges the user achieved, and only the types in which they achieved one
    (``GET /api/users/<username>/badges/``). Metric values are never read. Two queries."""
    achieved = _badges_with_award_of(user.pk).filter(award__isnull=False)
    holds_one = UserBadge.objects.filter(user_id=user.pk, badge__activity_type=OuterRef("pk"))
    types = ActivityType.objects.filter(Exists(holds_one))
    types = types.prefetch_related(Prefetch("badges", queryset=achieved, to_attr="levels"))
    progress = [_progress(activity_type, current_value=None) for activity_type in types]
    return sorted((item for item in progress if item.badges), key=_by_most_recent_achievement)


def badges_unseen_count(*, user: User) -> int:
    """How many of the user's achieved badges they have not seen yet. One query."""
    return UserBadge.objects.filter(user_id=user.pk, seen_at__isnull=True).count()


def badge_award_candidates_count(*, activity_types: Iterable[ActivityType]) -> int:
    """How many metric rows badges_award_qualified will look at for these types: those reaching
    at least the type's lowest threshold. Used as the total of a progress bar."""
    total = 0
    for activity_type in activity_types:
        lowest = Badge.objects.filter(activity_type=activity_type).aggregate(lowest=Min("threshold"))["lowest"]
        if lowest is not None:
            total += UserMetric.objects.filter(activity_type=activity_type, value__gte=lowest).count()
    return total
