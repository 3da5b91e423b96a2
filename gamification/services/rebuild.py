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

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings

from gamification.models import ActivityEvent, ActivityType, Badge, EventType, FirstOccurrence, User, UserMetric
from gamification.rules import CORRECT_EXERCISES, COUNTED_ONCE, EVENT_FED_CODES, STREAK_DAYS
from gamification.selectors.streaks import daily_streak_current
from gamification.services import streaks
from gamification.services.db import atomic_with_retry
from gamification.services.events import first_occurrence_claims
from gamification.services.friends import friends_metric_refresh
from gamification.services.metrics import badges_award_qualified, badges_award_up_to, metric_set
from gamification.streak_runs import DailyStreak, daily_streak_extend, daily_streak_from_days
from gamification.timeutils import local_date

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
    *,
    user_ids: Iterable[int] | None = None,
    on_progress: Callable[[int], None] | None = None,
    award_qualified: bool = True,
) -> RebuildResult:
    """Rebuild every user's (or the given users') derived data from the activity log, then award
    every badge the metrics qualify for. ``on_progress`` is called with 1 after each user.

    A metric that changes awards the levels it newly reaches on its own; ``award_qualified=False``
    skips the final pass over every user's metrics (``badges_award_qualified``), which only
    matters after staff moved thresholds (historical imports skip it)."""
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

    awarded = badges_award_qualified() if award_qualified else 0
    return RebuildResult(users=len(ids), metrics_changed=changed, badges_awarded=awarded)


# When thresholds were crossed ------------------------------------------------------------------
class AwardTimesFromLog:
    """``(user id, badge) → when the user's metric first reached the badge's threshold``, read
    from the activity log, for ``metrics.badge_award_times``: the time live ingestion of the
    same events, in the order they happened, would have stamped on the award.

    - counters that count an item once: the ``occurred_at`` of the threshold-th first occurrence
      (``FirstOccurrence`` rows, which the rebuild of the user has just written);
    - CORRECT_EXERCISES: the threshold-th correct answer;
    - STREAK_DAYS: the practice event that made the day count on which the best current streak
      first reached the threshold (practice replayed in time order with ``streak_runs``, as
      ``streaks.practice_record`` does live);
    - other types (FRIENDS, one-time types): None, which means now.

    Reads each (user, type) once and keeps only the current user's times.
    """

    def __init__(self) -> None:
        self._user_id: int | None = None
        self._times: dict[str, list[dt.datetime]] = {}

    def __call__(self, user_id: int, badge: Badge) -> dt.datetime | None:
        if user_id != self._user_id:
            self._user_id, self._times = user_id, {}
        code = badge.activity_type.code
        if code not in self._times:
            self._times[code] = self._crossings(user_id=user_id, code=code)
        times = self._times[code]
        return times[badge.threshold - 1] if 0 < badge.threshold <= len(times) else None

    def peak(self, user_id: int, code: str) -> int:
        """The highest value the metric ever reached (a gauge may have fallen since)."""
        if user_id != self._user_id:
            self._user_id, self._times = user_id, {}
        if code not in self._times:
            self._times[code] = self._crossings(user_id=user_id, code=code)
        return len(self._times[code])

    def _crossings(self, *, user_id: int, code: str) -> list[dt.datetime]:
        """The times at which the metric reached 1, 2, 3, ..."""
        kind = next((kind for kind, fed in COUNTED_ONCE.values() if fed == code), None)
        if kind is not None:
            rows = FirstOccurrence.objects.filter(user_id=user_id, kind=kind).order_by("occurred_at", "id")
            return list(rows.values_list("occurred_at", flat=True))
        if code == CORRECT_EXERCISES:
            rows = ActivityEvent.objects.filter(user_id=user_id, type=EventType.EXERCISE_ANSWERED, correct=True)
            return list(rows.order_by("occurred_at", "id").values_list("occurred_at", flat=True))
        if code == STREAK_DAYS:
            return _streak_crossings(user_id=user_id)
        return []


def _streak_crossings(*, user_id: int) -> list[dt.datetime]:
    tz_name = User.objects.values_list("timezone", flat=True).get(pk=user_id)
    minimum = settings.STREAK_MIN_SECONDS_PER_DAY
    totals: dict[tuple[str, dt.date], int] = defaultdict(int)
    runs: dict[str, DailyStreak] = {}
    crossings: list[dt.datetime] = []
    events = (
        ActivityEvent.objects.filter(user_id=user_id, type=EventType.PRACTICE)
        .order_by("occurred_at", "id")
        .values_list("language_id", "occurred_at", "duration_seconds")
    )
    for language_id, occurred_at, seconds in events.iterator(chunk_size=EVENT_READ_CHUNK):
        day = local_date(occurred_at, tz_name)
        before = totals[(language_id, day)]
        totals[(language_id, day)] = before + (seconds or 0)
        if not (before < minimum <= before + (seconds or 0)):
            continue
        run = runs.get(language_id, DailyStreak())
        if run.last_date is None or day > run.last_date:
            runs[language_id] = daily_streak_extend(run, day)
        else:  # a day before the run's end (a time zone's date line): recompute that language
            runs[language_id] = daily_streak_from_days(
                [d for (language, d), total in totals.items() if language == language_id and total >= minimum]
            )
        latest = max(run.last_date for run in runs.values() if run.last_date is not None)
        best = max(
            daily_streak_current(length=run.length, last_date=run.last_date, today=latest) for run in runs.values()
        )
        crossings.extend([occurred_at] * (best - len(crossings)))
    return crossings


def streak_peaks_award(*, user_ids: Iterable[int], award_times: AwardTimesFromLog) -> int:
    """Award the STREAK_DAYS levels each user's best streak reached at some point of the log,
    even when it has lapsed since: live ingestion awarded them when they were reached, while a
    rebuild sees only the gauge's current value. Returns how many were awarded."""
    activity_type = ActivityType.objects.filter(code=STREAK_DAYS).first()
    if activity_type is None:
        return 0
    awarded = 0
    for user_id in sorted(set(user_ids)):
        peak = award_times.peak(user_id, STREAK_DAYS)
        if peak:
            awarded += len(badges_award_up_to(user_id=user_id, activity_type=activity_type, value=peak))
    return awarded
