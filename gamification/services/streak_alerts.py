"""``streak.at_risk`` (SPEC §11.3): once per user, language and local day, in the user's evening.

A periodic scan (the worker's, or Celery beat's, every minute) finds the language streaks that
are above 0 and whose user's local today does not count yet, for the users whose local time is
``WEBHOOK_STREAK_AT_RISK_TIME`` (default 19:00) or later (``selectors.streaks.streaks_at_risk``).
"Once a day" is decided by the database: a ``StreakAtRiskNotice`` row per (user, language, local
date) under a unique constraint, inserted in the transaction that writes the event's deliveries.
Two scanners at once (a second worker, a beat started twice, a restart mid-scan) insert the same
rows; the constraint lets each row in once, and only the scanner whose insert created it emits
the event.

Streak protection: a streak kept alive by freezes over days already missed is still at risk
(and warned); no warning on the user's rest day; the payload says whether missing today would
spend a freeze (``freeze_would_be_spent``, with ``freezes_held``) or break the streak.

Nothing is scanned while no active endpoint subscribes to ``streak.at_risk``. A user who makes
today count after the event, or whose streak is at risk again only after a late event, gets no
second event that day; an endpoint that subscribes at 21:00 still gets that evening's events.
"""

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from gamification.models import StreakAtRiskNotice, WebhookEventType
from gamification.selectors.streaks import StreakAtRisk, streaks_at_risk
from gamification.services.db import atomic_with_retry, is_unique_violation
from gamification.services.webhooks import (
    OutboundEvent,
    user_ref,
    webhook_events_enqueue_many,
    webhook_subscribed,
)

CHUNK = 500
# Notices are only needed while their local day lasts; the housekeeping job deletes older ones.
NOTICE_KEEP_DAYS = 3


def at_risk_local_time() -> dt.time:
    """``WEBHOOK_STREAK_AT_RISK_TIME`` (``HH:MM``) as a time of day."""
    return dt.time.fromisoformat(settings.WEBHOOK_STREAK_AT_RISK_TIME)


def _event(item: StreakAtRisk) -> OutboundEvent:
    return OutboundEvent(
        WebhookEventType.STREAK_AT_RISK,
        {
            "user": user_ref(username=item.username, external_id=item.external_id),
            "language": item.language_id,
            "daily_streak": item.daily_streak,
            "local_deadline": item.local_deadline.isoformat(),
            # Whether missing today would spend a freeze (the streak survives) or break it.
            "freeze_would_be_spent": item.freeze_would_be_spent,
            "freezes_held": item.freezes_held,
        },
    )


def _notice(item: StreakAtRisk) -> StreakAtRiskNotice:
    return StreakAtRiskNotice(user_id=item.user_id, language_id=item.language_id, local_date=item.local_date)


def _claim_and_emit(items: Sequence[StreakAtRisk]) -> int:
    """In one transaction: insert the notices not stored yet and emit the events of those this
    call inserted. Optimistic bulk insert; when a concurrent scanner stored one of them first,
    row by row so that the constraint decides each."""

    def run() -> int:
        stored = set(
            StreakAtRiskNotice.objects.filter(
                user_id__in={item.user_id for item in items}, local_date__in={item.local_date for item in items}
            ).values_list("user_id", "language_id", "local_date")
        )
        fresh = [item for item in items if (item.user_id, item.language_id, item.local_date) not in stored]
        if not fresh:
            return 0
        try:
            with transaction.atomic():
                StreakAtRiskNotice.objects.bulk_create([_notice(item) for item in fresh])
            created = fresh
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            created = []
            for item in fresh:
                try:
                    with transaction.atomic():
                        _notice(item).save(force_insert=True)
                except IntegrityError as row_error:
                    if not is_unique_violation(row_error):
                        raise
                    continue
                created.append(item)
        webhook_events_enqueue_many(events=[_event(item) for item in created])
        return len(created)

    return atomic_with_retry(run)


def streaks_at_risk_scan(*, now: dt.datetime | None = None) -> int:
    """Emit ``streak.at_risk`` for every streak at risk now in its user's evening that has not
    had its event today (see the module docstring). Returns the number of events emitted; safe to
    run at any time, as often as wanted, from several processes at once."""
    if not webhook_subscribed(event_type=WebhookEventType.STREAK_AT_RISK):
        return 0
    now = now or timezone.now()
    items = list(streaks_at_risk(now=now, from_local_time=at_risk_local_time()))
    return sum(_claim_and_emit(items[start : start + CHUNK]) for start in range(0, len(items), CHUNK))


def streak_notices_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the once-a-day marks of days long over (every local day has ended by then)."""
    cutoff = (now or timezone.now()).date() - dt.timedelta(days=NOTICE_KEEP_DAYS)
    deleted, _ = StreakAtRiskNotice.objects.filter(local_date__lt=cutoff).delete()
    return deleted
