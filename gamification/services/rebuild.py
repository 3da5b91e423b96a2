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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from gamification import signals
from gamification.models import (
    ActivityEvent,
    ActivityType,
    Badge,
    EventType,
    FirstOccurrence,
    Friendship,
    LanguageStreak,
    PracticeDay,
    User,
    UserBadge,
    UserMetric,
)
from gamification.rules import CORRECT_EXERCISES, COUNTED_ONCE, EVENT_FED_CODES, FRIENDS, STREAK_DAYS
from gamification.selectors.relationships import friends_count_many
from gamification.selectors.streaks import daily_streak_current, freeze_rule, rest_dates_of_users
from gamification.services import streaks
from gamification.services.db import (
    atomic_with_retry,
    metrics_lock,
    metrics_lock_or_create,
    quoted_table,
    rows_insert,
    utc_datetime_adapter,
)
from gamification.services.events import first_occurrence_claims
from gamification.services.friends import friends_metric_refresh
from gamification.services.metrics import badges_award_qualified, badges_award_up_to, metric_set
from gamification.services.webhooks import webhook_badges_awarded
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
    events = (
        ActivityEvent.objects.filter(user_id=user_id, type=EventType.PRACTICE)
        .order_by("occurred_at", "id")
        .values_list("language_id", "occurred_at", "duration_seconds")
    )
    return streak_crossings_from_practice(events.iterator(chunk_size=EVENT_READ_CHUNK), tz_name=tz_name)


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


# Batched rebuild (historical imports) ----------------------------------------------------------
IMPORT_REBUILD_BATCH = 500  # users at most in a batch
IMPORT_REBUILD_EVENTS = 10_000  # and at most this many of their events (one user alone may have more)
_COUNT_CHUNK = 1000
_REBUILD_TYPES = sorted({*COUNTED_ONCE, EventType.EXERCISE_ANSWERED, EventType.PRACTICE})
_BULK_BATCH = 1000


class _LogEvent:
    """One activity-log row as the batched rebuild reads it (what ``first_occurrence_claims``
    looks at, and the practice and answer columns)."""

    __slots__ = ("correct", "duration_seconds", "item_id", "language_id", "occurred_at", "type", "user_id", "word")

    def __init__(self, row: tuple) -> None:
        (
            self.user_id,
            self.type,
            self.language_id,
            self.word,
            self.item_id,
            self.occurred_at,
            self.duration_seconds,
            self.correct,
        ) = row


def streak_crossings_from_practice(
    practice: Iterable[tuple[str, dt.datetime, int | None]], *, tz_name: str
) -> list[dt.datetime]:
    """The times at which STREAK_DAYS (the best current streak over languages, as of the latest
    counted day) reached 1, 2, 3, ...: the user's practice events ``(language, occurred_at,
    seconds)`` replayed in time order with ``streak_runs``, as ``streaks.practice_record`` does
    live."""
    minimum = settings.STREAK_MIN_SECONDS_PER_DAY
    totals: dict[tuple[str, dt.date], int] = defaultdict(int)
    runs: dict[str, DailyStreak] = {}
    crossings: list[dt.datetime] = []
    for language_id, occurred_at, seconds in practice:
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


@dataclass
class _Derived:
    """What one user's log derives, before it is written."""

    claims: list
    values: dict[str, int]
    crossings: dict[str, list[dt.datetime]]
    days: dict[tuple[str, dt.date], int]


def _user_derive(user_id: int, events: list[_LogEvent], *, tz_name: str) -> _Derived:
    claims = first_occurrence_claims(event for event in events if event.type in COUNTED_ONCE)
    code_of_kind = dict(COUNTED_ONCE.values())
    values = dict.fromkeys(EVENT_FED_CODES, 0)
    crossings: dict[str, list[dt.datetime]] = defaultdict(list)
    for claim in claims:
        code = code_of_kind[claim.kind]
        values[code] += 1
        crossings[code].append(claim.occurred_at)
    crossings[CORRECT_EXERCISES] = [
        event.occurred_at for event in events if event.type == EventType.EXERCISE_ANSWERED and event.correct is True
    ]
    values[CORRECT_EXERCISES] = len(crossings[CORRECT_EXERCISES])
    practice = [
        (event.language_id, event.occurred_at, event.duration_seconds)
        for event in events
        if event.type == EventType.PRACTICE
    ]
    crossings[STREAK_DAYS] = streak_crossings_from_practice(practice, tz_name=tz_name)
    days: dict[tuple[str, dt.date], int] = defaultdict(int)
    for language_id, occurred_at, seconds in practice:
        days[(language_id, local_date(occurred_at, tz_name))] += seconds or 0
    return _Derived(claims, values, crossings, days)


def _rows_insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Multi-row ``INSERT`` of plain tuples (already adapted for the database), ``_BULK_BATCH``
    rows a statement (``db.rows_insert``)."""
    rows_insert(model, columns, rows, batch=_BULK_BATCH)


def _metric_values_write(values: dict[int, int]) -> None:
    """Set metric rows (by id) to new values, a multi-row ``UPDATE`` (a ``CASE``) per batch."""
    ids = sorted(values)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = quoted_table(UserMetric)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _BULK_BATCH):
            part = ids[start : start + _BULK_BATCH]
            whens = " ".join(["WHEN %s THEN %s"] * len(part))
            params: list = [value for pk in part for value in (pk, values[pk])]
            cursor.execute(
                f"UPDATE {table} SET value = CASE id {whens} END, updated_at = %s"  # noqa: S608 (no user input)
                f" WHERE id IN ({', '.join(['%s'] * len(part))})",
                [*params, now, *part],
            )


def _award_time(times: list[dt.datetime], threshold: int, now: dt.datetime) -> dt.datetime:
    return times[threshold - 1] if 0 < threshold <= len(times) else now


def _batch_rebuild(
    user_ids: list[int], *, types_by_code: dict[str, ActivityType], thresholds: dict[int, list[tuple[int, int]]]
) -> tuple[int, int]:
    """Rebuild a batch of users in one transaction (see ``users_rebuild_batched``); returns
    (counter values changed, badges awarded)."""

    def run() -> tuple[int, int]:
        zones = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "timezone"))
        ids = [user_id for user_id in user_ids if user_id in zones]
        type_ids = [activity_type.pk for activity_type in types_by_code.values()]
        current = metrics_lock(pairs=[(user_id, type_id) for user_id in ids for type_id in type_ids])

        rows = (
            ActivityEvent.objects.filter(user_id__in=ids, type__in=_REBUILD_TYPES)
            .order_by("user_id", "occurred_at", "id")
            .values_list(
                "user_id", "type", "language_id", "word", "item_id", "occurred_at", "duration_seconds", "correct"
            )
        )
        derived: dict[int, _Derived] = {}
        for user_id, group in groupby(rows.iterator(chunk_size=EVENT_READ_CHUNK), key=itemgetter(0)):
            derived[user_id] = _user_derive(user_id, [_LogEvent(row) for row in group], tz_name=zones[user_id])
        for user_id in ids:
            if user_id not in derived:
                derived[user_id] = _user_derive(user_id, [], tz_name=zones[user_id])

        FirstOccurrence.objects.filter(user_id__in=ids).delete()
        PracticeDay.objects.filter(user_id__in=ids).delete()
        LanguageStreak.objects.filter(user_id__in=ids).delete()
        adapt_datetime, adapt_date = utc_datetime_adapter(), connection.ops.adapt_datefield_value
        _rows_insert(
            FirstOccurrence,
            ["user_id", "kind", "key", "key_hash", "language_id", "occurred_at"],
            [
                (
                    claim.user_id,
                    claim.kind,
                    claim.stored_key,
                    claim.key_hash,
                    claim.language_id,
                    adapt_datetime(claim.occurred_at),
                )
                for user_id in ids
                for claim in derived[user_id].claims
            ],
        )
        _rows_insert(
            PracticeDay,
            ["user_id", "language_id", "date", "seconds"],
            [
                (user_id, language_id, adapt_date(day), seconds)
                for user_id in ids
                for (language_id, day), seconds in derived[user_id].days.items()
            ],
        )
        rest = rest_dates_of_users(user_ids=ids, since=None)
        rule = freeze_rule()
        minimum = settings.STREAK_MIN_SECONDS_PER_DAY
        streak_rows: list[LanguageStreak] = []
        best: dict[int, int] = {}
        for user_id in ids:
            counted: dict[str, list[dt.date]] = {}
            for (language_id, day), seconds in derived[user_id].days.items():
                counted.setdefault(language_id, [])
                if seconds >= minimum:
                    counted[language_id].append(day)
            user_rest = rest.get(user_id, set())
            mine = [
                LanguageStreak(
                    user_id=user_id,
                    language_id=language_id,
                    **streaks.streak_fields(daily_streak_from_days(days, rest=user_rest, freezes=rule)),
                )
                for language_id, days in counted.items()
            ]
            streak_rows.extend(mine)
            best[user_id] = streaks.streak_days_best(streaks=mine, rest=user_rest)
        LanguageStreak.objects.bulk_create(streak_rows, batch_size=_BULK_BATCH)

        befriended = set()
        for low, high in Friendship.objects.filter(
            Q(user_low_id__in=ids) | Q(user_high_id__in=ids), active=True
        ).values_list("user_low_id", "user_high_id"):
            befriended.update((low, high))
        for user_id in ids:
            if user_id in befriended:
                streaks.friend_streaks_rebuild(user_id=user_id, user_tz=zones[user_id])
        friends = friends_count_many(user_ids=ids) if FRIENDS in types_by_code else {}

        # Target values: counters only when they change (no zero rows), the gauges always.
        targets: dict[tuple[int, int], int] = {}
        counters_changed = 0
        for user_id in ids:
            for code, activity_type in types_by_code.items():
                pair = (user_id, activity_type.pk)
                if code == STREAK_DAYS:
                    targets[pair] = best[user_id]
                elif code == FRIENDS:
                    targets[pair] = friends.get(user_id, 0)
                else:
                    value = derived[user_id].values.get(code, 0)
                    old = current[pair].value if pair in current else None
                    if old == value or (old is None and value == 0):
                        continue
                    targets[pair] = value
                    counters_changed += 1
        # Missing rows are inserted with their values (old value 0); should a concurrent writer
        # have created one meanwhile, the batch takes the locking path instead.
        missing = sorted(pair for pair in targets if pair not in current)
        olds = {pair: (current[pair].value if pair in current else 0) for pair in targets}
        created = False
        if missing:
            try:
                with transaction.atomic():
                    _rows_insert(
                        UserMetric,
                        ["user_id", "activity_type_id", "value", "updated_at"],
                        [(*pair, targets[pair], adapt_datetime(timezone.now())) for pair in missing],
                    )
                created = True
            except IntegrityError:
                current.update(metrics_lock_or_create(pairs=missing))
                olds.update({pair: current[pair].value for pair in missing})
        _metric_values_write(
            {
                current[pair].pk: value
                for pair, value in targets.items()
                if not (created and pair not in current) and current[pair].value != value
            }
        )

        # Awards: the levels each metric newly reaches (and every STREAK_DAYS level the best
        # streak ever reached), stamped with the time the log crossed the threshold.
        held = set(UserBadge.objects.filter(user_id__in=ids).values_list("user_id", "badge_id"))
        now = timezone.now()
        code_of_type = {activity_type.pk: code for code, activity_type in types_by_code.items()}
        awards: dict[int, list[UserBadge]] = defaultdict(list)
        for (user_id, type_id), value in targets.items():
            code = code_of_type[type_id]
            old = olds[(user_id, type_id)]
            times = derived[user_id].crossings.get(code, [])
            floor = 0 if code == STREAK_DAYS else old
            up_to = max(value, len(times)) if code == STREAK_DAYS else value
            for threshold, badge_id in thresholds.get(type_id, ()):
                if (
                    floor < threshold <= up_to
                    and (threshold <= len(times) or threshold > old)
                    and (
                        user_id,
                        badge_id,
                    )
                    not in held
                ):
                    awards[user_id].append(
                        UserBadge(user_id=user_id, badge_id=badge_id, achieved_at=_award_time(times, threshold, now))
                    )
        UserBadge.objects.bulk_create(
            [award for user_awards in awards.values() for award in user_awards],
            ignore_conflicts=True,
            batch_size=_BULK_BATCH,
        )
        for user_id, user_awards in awards.items():
            _awards_announce(user_id=user_id, user_badges=tuple(user_awards))
        return counters_changed, sum(len(user_awards) for user_awards in awards.values())

    return atomic_with_retry(run)


def _awards_announce(*, user_id: int, user_badges: tuple[UserBadge, ...]) -> None:
    webhook_badges_awarded(user_id=user_id, user_badges=user_badges)
    transaction.on_commit(
        lambda: signals.badges_awarded.send(sender=UserBadge, user_id=user_id, user_badges=user_badges)
    )


def _rebuild_batches(ids: list[int]) -> Iterator[list[int]]:
    """``ids`` cut into batches of at most ``IMPORT_REBUILD_BATCH`` users and (unless a single
    user has more) ``IMPORT_REBUILD_EVENTS`` of their events in the log, so that what a batch
    holds in memory stays the same whether learners have ten events each or a thousand. One
    counting query per thousand users."""
    batch: list[int] = []
    size = 0
    for start in range(0, len(ids), _COUNT_CHUNK):
        part = ids[start : start + _COUNT_CHUNK]
        counts = dict(
            ActivityEvent.objects.filter(user_id__in=part, type__in=_REBUILD_TYPES)
            .order_by()
            .values_list("user_id")
            .annotate(events=Count("id"))
        )
        for user_id in part:
            events = counts.get(user_id, 0)
            if batch and (len(batch) >= IMPORT_REBUILD_BATCH or size + events > IMPORT_REBUILD_EVENTS):
                yield batch
                batch, size = [], 0
            batch.append(user_id)
            size += events
    if batch:
        yield batch


def users_rebuild_batched(
    *, user_ids: Iterable[int], on_progress: Callable[[int], None] | None = None
) -> RebuildResult:
    """What ``import_derived_rebuild`` computes (first occurrences, practice days, streaks,
    metrics, friend streaks and the badges newly reached, stamped with the time each threshold
    was crossed, STREAK_DAYS levels of a lapsed streak included), for batches of
    at most ``IMPORT_REBUILD_BATCH`` users and ``IMPORT_REBUILD_EVENTS`` events: each batch in one transaction, its events read in one query
    and its rows replaced with multi-row statements, a fixed number of queries per batch
    (plus three for each user with an active friendship). ``on_progress`` gets the batch size.

    Locks the batch's existing metric rows first, like ``metrics_rebuild``; on a MariaDB
    deadlock the batch is retried whole."""
    ids = sorted(set(user_ids))
    types_by_code = ActivityType.objects.in_bulk([*EVENT_FED_CODES, STREAK_DAYS, FRIENDS], field_name="code")
    thresholds: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for badge_id, type_id, threshold in Badge.objects.filter(
        activity_type__in=list(types_by_code.values())
    ).values_list("id", "activity_type_id", "threshold"):
        thresholds[type_id].append((threshold, badge_id))
    for levels in thresholds.values():
        levels.sort()
    changed = awarded = 0
    for batch in _rebuild_batches(ids):
        batch_changed, batch_awarded = _batch_rebuild(batch, types_by_code=types_by_code, thresholds=thresholds)
        changed += batch_changed
        awarded += batch_awarded
        if on_progress is not None:
            on_progress(len(batch))
    return RebuildResult(users=len(ids), metrics_changed=changed, badges_awarded=awarded)
