"""Rebuild what the activity log derives (SPEC §2.2, §3, §10): first occurrences, the COUNTER
metrics fed by events, streaks and the FRIENDS gauge; then award what the metrics qualify for.

The result equals what live ingestion produced from the same log, and running it again changes
nothing. Badges are never taken away, even when a rebuilt metric comes out lower.

Each user is rebuilt in their own transaction, holding the locks of their existing metric rows
while the log is read, so ingestion for that user waits or is counted on top. Run it while no
events are being recorded for the strongest guarantee: a user whose metric rows did not exist at
all and who is reporting events during the rebuild can be left one batch behind, which the next
run repairs.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gamification.models import ActivityEvent, ActivityType, EventType, FirstOccurrence, User, UserMetric
from gamification.rules import CORRECT_EXERCISES, COUNTED_ONCE, EVENT_FED_CODES
from gamification.services import streaks
from gamification.services.db import atomic_with_retry
from gamification.services.events import first_occurrence_claims
from gamification.services.friends import friends_metric_refresh
from gamification.services.metrics import badges_award_qualified, metric_set

FIRST_OCCURRENCE_INSERT_BATCH = 1000
FRIENDS_REFRESH_CHUNK = 500
EVENT_READ_CHUNK = 5000


@dataclass(frozen=True)
class RebuildResult:
    users: int
    metrics_changed: int
    badges_awarded: int


def _rebuild_user_counters(*, user_id: int, activity_types: dict[str, ActivityType]) -> int:
    """Recompute one user's first occurrences and event-fed COUNTERs; return how many metric
    values changed."""

    def run() -> int:
        current = dict(
            UserMetric.objects.select_for_update()
            .filter(user_id=user_id, activity_type__in=list(activity_types.values()))
            .order_by("activity_type_id")
            .values_list("activity_type_id", "value")
        )
        events = (
            ActivityEvent.objects.filter(user_id=user_id, type__in=list(COUNTED_ONCE))
            .only("user_id", "type", "language_id", "word", "item_id", "occurred_at")
            .order_by("occurred_at", "id")
        )
        claims = first_occurrence_claims(events.iterator(chunk_size=EVENT_READ_CHUNK))
        FirstOccurrence.objects.filter(user_id=user_id).delete()
        FirstOccurrence.objects.bulk_create(
            [claim.as_row() for claim in claims], batch_size=FIRST_OCCURRENCE_INSERT_BATCH
        )

        values = dict.fromkeys(EVENT_FED_CODES, 0)
        code_of_kind = dict(COUNTED_ONCE.values())
        for claim in claims:
            values[code_of_kind[claim.kind]] += 1
        values[CORRECT_EXERCISES] = ActivityEvent.objects.filter(
            user_id=user_id, type=EventType.EXERCISE_ANSWERED, correct=True
        ).count()

        changed = 0
        for code, value in values.items():
            activity_type = activity_types.get(code)
            if activity_type is None:
                continue
            old = current.get(activity_type.pk)
            if old == value or (old is None and value == 0):
                continue
            metric_set(user=user_id, activity_type=activity_type, value=value)
            changed += 1
        return changed

    return atomic_with_retry(run)


def metrics_rebuild(
    *, user_ids: Iterable[int] | None = None, on_progress: Callable[[int], None] | None = None
) -> RebuildResult:
    """Rebuild every user's (or the given users') derived data from the activity log, then award
    every badge the metrics qualify for. ``on_progress`` is called with 1 after each user."""
    activity_types = ActivityType.objects.in_bulk(list(EVENT_FED_CODES), field_name="code")
    ids = (
        sorted(set(user_ids))
        if user_ids is not None
        else list(User.objects.order_by("pk").values_list("pk", flat=True))
    )

    changed = 0
    for user_id in ids:
        changed += _rebuild_user_counters(user_id=user_id, activity_types=activity_types)
        streaks.streaks_rebuild(user_id=user_id)
        if on_progress is not None:
            on_progress(1)
    for start in range(0, len(ids), FRIENDS_REFRESH_CHUNK):
        friends_metric_refresh(user_ids=ids[start : start + FRIENDS_REFRESH_CHUNK])

    awarded = badges_award_qualified()
    return RebuildResult(users=len(ids), metrics_changed=changed, badges_awarded=awarded)
