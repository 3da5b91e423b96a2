"""User metrics and badge awards (SPEC §2.2).

Every metric change goes through this module. The recipe, correct under concurrency on SQLite
and MariaDB:

1. make sure the (user, type) metric row exists (insert-if-absent on its unique constraint);
2. lock it (``select_for_update``; SQLite's IMMEDIATE transactions serialise writers instead);
3. change the value with ``F()`` in SQL, never read-modify-write in Python;
4. award, in the same transaction, every badge of the type whose threshold the new value
   reaches and that the user lacks; the (user, badge) unique constraint is the backstop;
5. write the ``badge.awarded`` outbox rows in the same transaction (``services.webhooks``: no
   query unless an endpoint subscribes), and announce new badges with ``transaction.on_commit``.

Callers may wrap several updates in their own transaction (event ingestion does); the lock is
then held until that transaction ends.
"""

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from gamification import signals
from gamification.models import ActivityType, AwardMechanism, Badge, User, UserBadge, UserMetric
from gamification.services.db import (
    atomic_join_or_retry,
    atomic_with_retry,
    metrics_lock_or_create,
    quoted_table,
)
from gamification.services.webhooks import webhook_badges_awarded

T = TypeVar("T")

# When an award happened, if not now: (user id, badge) → the time its threshold was crossed, or
# None for now. Set by ``badge_award_times`` (historical imports).
AwardTime = Callable[[int, Badge], dt.datetime | None]
_award_time: contextvars.ContextVar[AwardTime | None] = contextvars.ContextVar("award_time", default=None)


@contextlib.contextmanager
def badge_award_times(resolver: AwardTime) -> Iterator[None]:
    """Stamp the awards made in this block with the time ``resolver`` gives (falling back to now
    when it gives None) instead of now: a historical import awards a badge when its threshold
    was crossed, as live ingestion at that time would have."""
    token = _award_time.set(resolver)
    try:
        yield
    finally:
        _award_time.reset(token)


@dataclass(frozen=True)
class MetricChange:
    user_id: int
    activity_type_id: int
    old_value: int
    new_value: int
    new_badges: tuple[UserBadge, ...]


def _lock_metric(*, user_id: int, activity_type: ActivityType) -> UserMetric:
    """Lock the (user, type) metric row, creating it when absent (``services.db``)."""
    pair = (user_id, activity_type.pk)
    return metrics_lock_or_create(pairs=[pair])[pair]


def _add_to_metric(*, metric_id: int, amount: int) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quoted_table(UserMetric)} SET value = value + %s, updated_at = %s WHERE id = %s",  # noqa: S608
            [amount, now, metric_id],
        )


def _badge_ids_between(*, activity_type_id: int, above: int, up_to: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {quoted_table(Badge)} WHERE activity_type_id = %s AND threshold > %s AND threshold <= %s",  # noqa: S608
            [activity_type_id, above, up_to],
        )
        return [row[0] for row in cursor.fetchall()]


def _award_between(
    *, user_id: int, activity_type: ActivityType, above: int | None, up_to: int
) -> tuple[UserBadge, ...]:
    """Award the badges with ``above < threshold <= up_to`` (any threshold ≤ up_to when ``above``
    is None) that the user lacks. The caller holds the metric row's lock."""
    if above is None:
        candidates = list(
            Badge.objects.filter(activity_type=activity_type, threshold__lte=up_to)
            .exclude(user_badges__user_id=user_id)
            .select_related("activity_type")
        )
    else:
        # The hot path: levels between the old and the new value, usually none. Only when there are
        # some, load them and check which the user already holds (staff may have moved thresholds).
        badge_ids = _badge_ids_between(activity_type_id=activity_type.pk, above=above, up_to=up_to)
        if not badge_ids:
            return ()
        held = set(UserBadge.objects.filter(user_id=user_id, badge_id__in=badge_ids).values_list("badge_id", flat=True))
        candidates = list(
            Badge.objects.filter(pk__in=[pk for pk in badge_ids if pk not in held]).select_related("activity_type")
        )
    if not candidates:
        return ()
    now = timezone.now()
    resolver = _award_time.get()
    awards = [
        UserBadge(user_id=user_id, badge=badge, achieved_at=(resolver and resolver(user_id, badge)) or now)
        for badge in candidates
    ]
    UserBadge.objects.bulk_create(awards, ignore_conflicts=True)
    new_badges = tuple(awards)
    # The metric row's lock makes every award here new (the constraint is only the backstop):
    # their outbound events are written with them, in this transaction.
    webhook_badges_awarded(user_id=user_id, user_badges=new_badges)
    transaction.on_commit(
        lambda: signals.badges_awarded.send(sender=UserBadge, user_id=user_id, user_badges=new_badges)
    )
    return new_badges


def metric_increment(
    *, user: User | int, activity_type: ActivityType, amount: int = 1, locked: UserMetric | None = None
) -> MetricChange:
    """Add ``amount`` (≥ 0) to a COUNTER metric and award the levels it newly reaches.

    ``locked``: the metric row with its current value, when the caller already locked it in the
    current transaction (``services.db.metrics_lock``); otherwise it is locked (or created) here.
    """
    if amount < 0:
        raise ValueError("A counter only grows.")
    user_id = user if isinstance(user, int) else user.pk

    def run() -> MetricChange:
        metric = locked if locked is not None else _lock_metric(user_id=user_id, activity_type=activity_type)
        old = metric.value
        if amount == 0:
            return MetricChange(user_id, activity_type.pk, old, old, ())
        _add_to_metric(metric_id=metric.pk, amount=amount)
        new = old + amount  # exact: the row is locked (or the SQLite writer lock is held)
        awards = _award_between(user_id=user_id, activity_type=activity_type, above=old, up_to=new)
        return MetricChange(user_id, activity_type.pk, old, new, awards)

    return atomic_join_or_retry(run)


def metric_set(*, user: User | int, activity_type: ActivityType, value: int) -> MetricChange:
    """Set a GAUGE (or ONE_TIME) metric to ``value`` and award the levels it reaches.

    A falling gauge never takes badges away.
    """
    if value < 0:
        raise ValueError("A metric is never negative.")
    user_id = user if isinstance(user, int) else user.pk

    def run() -> MetricChange:
        metric = _lock_metric(user_id=user_id, activity_type=activity_type)
        old = metric.value
        if value == old:
            return MetricChange(user_id, activity_type.pk, old, old, ())
        UserMetric.objects.filter(pk=metric.pk).update(value=value, updated_at=timezone.now())
        awards: tuple[UserBadge, ...] = ()
        if value > old:
            awards = _award_between(user_id=user_id, activity_type=activity_type, above=old, up_to=value)
        return MetricChange(user_id, activity_type.pk, old, value, awards)

    return atomic_join_or_retry(run)


def badges_award_up_to(*, user_id: int, activity_type: ActivityType, value: int) -> tuple[UserBadge, ...]:
    """Award the levels up to ``value`` that the user lacks, without changing the metric: a
    gauge's past peak (a streak that reached 30 days and lapsed since) earned them when it was
    reached. Locks the metric row, like a metric update."""

    def run() -> tuple[UserBadge, ...]:
        _lock_metric(user_id=user_id, activity_type=activity_type)
        return _award_between(user_id=user_id, activity_type=activity_type, above=None, up_to=value)

    return atomic_join_or_retry(run)


def metric_set_many(*, activity_type: ActivityType, values: dict[int, int]) -> list[MetricChange]:
    """Set one gauge for several users (e.g. FRIENDS after an accept), locking rows in user order
    so that two such calls cannot deadlock each other."""
    return [
        metric_set(user=user_id, activity_type=activity_type, value=value) for user_id, value in sorted(values.items())
    ]


def one_time_achieve(*, user: User | int, code: str) -> MetricChange | None:
    """Mark a ONE_TIME activity as done (value 1) and award its badge. No-op when the type is not
    in the catalogue."""
    activity_type = ActivityType.objects.filter(code=code, award_mechanism=AwardMechanism.ONE_TIME).first()
    if activity_type is None:
        return None
    user_id = user if isinstance(user, int) else user.pk
    if UserMetric.objects.filter(user_id=user_id, activity_type=activity_type, value__gte=1).exists():
        return None
    return metric_set(user=user_id, activity_type=activity_type, value=1)


def gauge_set_by_code(*, code: str, values: dict[int, int]) -> list[MetricChange]:
    """Set a gauge known by its code for several users; no-op when the type is not loaded."""
    activity_type = ActivityType.objects.filter(code=code).first()
    if activity_type is None:
        return []
    return metric_set_many(activity_type=activity_type, values=values)


def badges_award_qualified(
    *, activity_types: Iterable[ActivityType] | None = None, on_progress: Callable[[int], None] | None = None
) -> int:
    """Award every badge that existing metrics already qualify for (after staff add a level or
    lower a threshold). Returns the number of badges awarded. Locks each metric row it awards
    from, like a metric update, so it is safe beside live traffic.

    ``on_progress``, when given, is called with 1 after each metric row is processed (progress
    bars; see badge_award_candidates_count for the total)."""
    types = list(activity_types) if activity_types is not None else list(ActivityType.objects.all())
    awarded = 0
    for activity_type in types:
        lowest = (
            Badge.objects.filter(activity_type=activity_type)
            .order_by("threshold")
            .values_list("threshold", flat=True)
            .first()
        )
        if lowest is None:
            continue
        user_ids = UserMetric.objects.filter(activity_type=activity_type, value__gte=lowest).values_list(
            "user_id", flat=True
        )
        for user_id in user_ids.iterator(chunk_size=2000):

            def run(user_id: int = user_id, activity_type: ActivityType = activity_type) -> int:
                metric = _lock_metric(user_id=user_id, activity_type=activity_type)
                return len(_award_between(user_id=user_id, activity_type=activity_type, above=None, up_to=metric.value))

            awarded += atomic_with_retry(run)
            if on_progress is not None:
                on_progress(1)
    return awarded
