"""Historical import (SPEC §11.2): the writes behind ``import_users`` and ``import_events``.

``gamification.imports`` reads and validates the file; these functions store what it validated.

- Users go through ``platform_user_put``, the platform API's own path: one rule for both.
- Events are stored in chunks, each one transaction: the idempotency keys the chunk's users
  already hold are read in one query, the rest inserted with multi-row ``INSERT``s that skip a
  key a concurrent writer stored meanwhile (the (user, idempotency hash) unique constraint
  decides). Nothing is derived per event: metrics, first occurrences, streaks and badges come
  from one rebuild of the touched users at the end (``import_derived_rebuild``), which gives what
  live ingestion of the same events gives (``services.rebuild``), with every badge stamped with
  the time its threshold was crossed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from gamification.models import ActivityEvent, User
from gamification.services.events import _event_row
from gamification.services.metrics import badge_award_times
from gamification.services.platform import platform_user_put
from gamification.services.rebuild import AwardTimesFromLog, RebuildResult, metrics_rebuild, streak_peaks_award

INSERT_BATCH = 1000


@dataclass(frozen=True)
class ChunkResult:
    accepted: int
    duplicates: int


def import_user_put(*, external_id: str, **fields: Any) -> bool:
    """Create or update one imported user; True when something changed (created or updated),
    False when the row already said the same (a re-run)."""
    existing = User.objects.filter(external_id=external_id).values_list("updated_at", flat=True).first()
    user, created = platform_user_put(external_id=external_id, **fields)
    return created or user.updated_at != existing


def import_events_store(*, events: list[dict[str, Any]]) -> ChunkResult:
    """Store validated events (each naming its ``user``, each with an ``idempotency_key``) in the
    activity log, in one transaction; an event whose key its user already holds, in the log or
    earlier in the chunk, is a duplicate."""
    rows: list[ActivityEvent] = []
    seen: set[tuple[int, str]] = set()
    for event in events:
        row = _event_row(event, user=event["user"], reporter=event["user"])
        key = (row.user_id, row.idempotency_hash)
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    with transaction.atomic():
        taken = set(
            ActivityEvent.objects.filter(
                user_id__in={row.user_id for row in rows}, idempotency_hash__in={row.idempotency_hash for row in rows}
            ).values_list("user_id", "idempotency_hash")
        )
        fresh = [row for row in rows if (row.user_id, row.idempotency_hash) not in taken]
        ActivityEvent.objects.bulk_create(fresh, batch_size=INSERT_BATCH, ignore_conflicts=True)
    return ChunkResult(accepted=len(fresh), duplicates=len(events) - len(fresh))


def import_derived_rebuild(
    *, user_ids: Iterable[int], on_progress: Callable[[int], None] | None = None
) -> RebuildResult:
    """Rebuild the touched users' first occurrences, metrics, streaks and friend streaks from the
    log, awarding each badge they newly reach with the time its threshold was crossed, also the
    streak levels reached by a streak that has lapsed since (as live ingestion awarded them)."""
    user_ids = sorted(set(user_ids))
    award_times = AwardTimesFromLog()
    with badge_award_times(award_times):
        result = metrics_rebuild(user_ids=user_ids, on_progress=on_progress, award_qualified=False)
        peaks = streak_peaks_award(user_ids=user_ids, award_times=award_times)
    return RebuildResult(
        users=result.users, metrics_changed=result.metrics_changed, badges_awarded=result.badges_awarded + peaks
    )
