"""Activity ingestion (SPEC §2.3, §3): the append-only activity log and the metrics it feeds.

``events_record`` takes events already validated by ``gamification.serializers.events`` (or
built the same way by trusted code), one dict per event:

- ``type`` (an ``EventType`` value), ``occurred_at`` (aware datetime), ``language`` (code of a
  known ``Language``), ``idempotency_key`` (str or None), ``user`` (the ``User`` the event
  happened to, or None for the reporter);
- the type's fields: ``word``; ``correct``; ``lesson_id``; ``article_id``; ``kind`` and
  ``duration_seconds``.

A batch is one transaction (all or nothing), retried as a whole on a MariaDB deadlock. Every
decision that concurrent requests could race on is taken by a unique constraint:

- idempotency: (user, idempotency_hash) on ``ActivityEvent``: a key seen before, in an earlier
  call, earlier in the batch or in a concurrent request, makes the event a duplicate that changes
  nothing;
- "counts once" (a word per user and language, a lesson or an article per user):
  (user, kind, key_hash) on ``FirstOccurrence``: only the request whose insert created the row
  increments the metric.

Events are inserted in bulk at once (keys are nearly always new); first occurrences in bulk after
one read of the keys already claimed (repeated words are common). When the constraint refuses a
bulk insert, the existing keys are read and the rest inserted; when a concurrent request wins
between that read and the insert, the batch falls back to one savepoint per row for that table,
so the constraint decides row by row.

Metric increments are grouped per (user, activity type) and applied through
``gamification.services.metrics.metric_increment`` in (user, type) order, so a 500-event batch
locks and awards once per type and two batches lock rows in the same order.
"""

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from gamification.models import ActivityEvent, ActivityType, Badge, EventType, FirstOccurrence, User
from gamification.rules import CORRECT_EXERCISES, COUNTED_ONCE
from gamification.services import streaks
from gamification.services.db import atomic_with_retry, is_unique_violation, metrics_lock
from gamification.services.metrics import metric_increment

FIRST_OCCURRENCE_KEY_MAX_LENGTH = FirstOccurrence._meta.get_field("key").max_length


@dataclass(frozen=True)
class NewBadge:
    """A badge a user achieved through the recorded events."""

    user: User
    badge: Badge


@dataclass(frozen=True)
class EventsRecordResult:
    accepted: int
    duplicates: int
    new_badges: tuple[NewBadge, ...]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def word_normalize(word: str) -> str:
    """Words are compared after stripping surrounding whitespace and case-folding."""
    return word.strip().casefold()


def first_occurrence_key(*, event_type: str, language_id: str, word: str = "", item_id: str = "") -> str | None:
    """The key an event claims in ``FirstOccurrence`` (its kind is ``COUNTED_ONCE[event_type][0]``),
    or None for events that do not count once. Words count per language (``"de:haus"``); lessons
    and articles per user, whatever the language (their id, exactly as sent, stripped)."""
    if event_type in (EventType.WORD_TRANSLATED, EventType.WORD_LEARNED):
        return f"{language_id}:{word_normalize(word)}"
    if event_type in (EventType.AUDIO_LESSON_COMPLETED, EventType.ARTICLE_READ):
        return item_id.strip()
    return None


@dataclass
class Claim:
    """One FirstOccurrence key wanted by this batch, with its earliest occurrence in the batch."""

    user_id: int
    kind: str
    key: str
    key_hash: str
    language_id: str
    occurred_at: dt.datetime

    @property
    def stored_key(self) -> str:
        # The stored key is for people reading the admin; the hash of the full key carries
        # uniqueness (case-folding can lengthen a word: "ß" → "ss").
        return self.key[:FIRST_OCCURRENCE_KEY_MAX_LENGTH]

    def as_row(self) -> FirstOccurrence:
        return FirstOccurrence(
            user_id=self.user_id,
            kind=self.kind,
            key=self.stored_key,
            key_hash=self.key_hash,
            language_id=self.language_id,
            occurred_at=self.occurred_at,
        )


def _event_row(event: dict[str, Any], *, user: User, reporter: User) -> ActivityEvent:
    key = event.get("idempotency_key")
    item_id = event.get("lesson_id") or event.get("article_id") or ""
    return ActivityEvent(
        user=user,
        type=event["type"],
        occurred_at=event["occurred_at"],
        language_id=event["language"],
        idempotency_key=key,
        idempotency_hash=sha256_hex(key) if key is not None else None,
        reported_by=reporter if reporter.pk != user.pk else None,
        word=(event.get("word") or "").strip(),
        correct=event.get("correct"),
        item_id=str(item_id).strip(),
        kind=event.get("kind") or "",
        duration_seconds=event.get("duration_seconds"),
    )


def _bulk_insert_or_refuse(model: type, rows: list) -> bool:
    """Insert all rows, or none when a unique constraint refuses one of them."""
    try:
        with transaction.atomic():
            model.objects.bulk_create(rows)
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        return False
    return True


def _insert_events(rows: list[ActivityEvent]) -> list[ActivityEvent]:
    """Insert the rows whose idempotency key is new for their user; return the inserted rows.

    Optimistic: most events carry a new key (or none), so the batch goes in at once. When the
    constraint refuses it, the keys already stored are read and only the other rows inserted;
    when a concurrent request stores a key between that read and the insert, row by row. The
    caller already removed keys repeated within the batch.
    """
    if not rows or _bulk_insert_or_refuse(ActivityEvent, rows):
        return rows
    keyed = [row for row in rows if row.idempotency_hash is not None]
    taken = set(
        ActivityEvent.objects.filter(
            user_id__in={row.user_id for row in keyed},
            idempotency_hash__in={row.idempotency_hash for row in keyed},
        ).values_list("user_id", "idempotency_hash")
    )
    fresh = [row for row in rows if (row.user_id, row.idempotency_hash) not in taken]
    if not fresh or _bulk_insert_or_refuse(ActivityEvent, fresh):
        return fresh
    unkeyed = [row for row in fresh if row.idempotency_hash is None]
    ActivityEvent.objects.bulk_create(unkeyed)
    inserted = list(unkeyed)
    for row in fresh:
        if row.idempotency_hash is None:
            continue
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            row.pk = None
            continue
        inserted.append(row)
    return inserted


def first_occurrence_claims(rows: Iterable[ActivityEvent]) -> list[Claim]:
    """The FirstOccurrence keys the events claim, one per (user, kind, key), earliest first."""
    claims: dict[tuple[int, str, str], Claim] = {}
    for row in rows:
        if row.type not in COUNTED_ONCE:
            continue
        kind, _ = COUNTED_ONCE[row.type]
        key = first_occurrence_key(event_type=row.type, language_id=row.language_id, word=row.word, item_id=row.item_id)
        key_hash = sha256_hex(key)
        claim = claims.get((row.user_id, kind, key_hash))
        if claim is None:
            claims[(row.user_id, kind, key_hash)] = Claim(
                row.user_id, kind, key, key_hash, row.language_id, row.occurred_at
            )
        elif row.occurred_at < claim.occurred_at:
            claim.occurred_at, claim.language_id = row.occurred_at, row.language_id
    return list(claims.values())


def _move_earlier(claim: Claim) -> None:
    """A late-arriving event that happened before the recorded first occurrence becomes the first:
    leaderboards count words first translated within a period. Monotonic under concurrency."""
    FirstOccurrence.objects.filter(
        user_id=claim.user_id, kind=claim.kind, key_hash=claim.key_hash, occurred_at__gt=claim.occurred_at
    ).update(occurred_at=claim.occurred_at, language_id=claim.language_id)


def _claim_first_occurrences(claims: list[Claim]) -> list[Claim]:
    """Insert-if-absent every claim; return those this call created (the ones that count)."""
    if not claims:
        return []
    existing: dict[tuple[int, str, str], dt.datetime] = {
        (user_id, kind, key_hash): occurred_at
        for user_id, kind, key_hash, occurred_at in FirstOccurrence.objects.filter(
            user_id__in={c.user_id for c in claims},
            kind__in={c.kind for c in claims},
            key_hash__in={c.key_hash for c in claims},
        ).values_list("user_id", "kind", "key_hash", "occurred_at")
    }
    fresh: list[Claim] = []
    for claim in claims:
        recorded_at = existing.get((claim.user_id, claim.kind, claim.key_hash))
        if recorded_at is None:
            fresh.append(claim)
        elif claim.occurred_at < recorded_at:
            _move_earlier(claim)
    if not fresh:
        return []
    # Sorted inserts keep two concurrent batches from locking index records in opposite orders.
    fresh.sort(key=lambda c: (c.user_id, c.kind, c.key_hash))
    if _bulk_insert_or_refuse(FirstOccurrence, [claim.as_row() for claim in fresh]):
        return fresh
    # A concurrent request claimed one of these keys after our read: row by row.
    created: list[Claim] = []
    for claim in fresh:
        try:
            with transaction.atomic():
                claim.as_row().save(force_insert=True)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            _move_earlier(claim)
            continue
        created.append(claim)
    return created


def _metric_amounts(rows: list[ActivityEvent], created: list[Claim]) -> Counter[tuple[int, str]]:
    """How much each (user, activity type code) grows."""
    amounts: Counter[tuple[int, str]] = Counter()
    code_of_kind = dict(COUNTED_ONCE.values())
    for claim in created:
        amounts[(claim.user_id, code_of_kind[claim.kind])] += 1
    for row in rows:
        if row.type == EventType.EXERCISE_ANSWERED and row.correct:
            amounts[(row.user_id, CORRECT_EXERCISES)] += 1
    return amounts


def events_record(*, reporter: User, events: list[dict[str, Any]]) -> EventsRecordResult:
    """Store the events in the activity log and feed the metrics, streaks and badges they drive
    (SPEC §2.3), all in one transaction.

    Events name their ``user`` only when the reporter may report for others; checking that is the
    caller's job (the API refuses it with 403 before calling). An event whose idempotency key the
    user already has is a duplicate: not stored, not counted. When an activity type is not in the
    catalogue (fixtures not loaded), its events are still stored and its metric is skipped.
    Practice events go to ``streaks.practice_record`` in the same transaction.
    """
    # The catalogue rows the batch can feed, in one query (none for practice-only batches).
    codes = {COUNTED_ONCE[e["type"]][1] for e in events if e["type"] in COUNTED_ONCE}
    if any(e["type"] == EventType.EXERCISE_ANSWERED and e.get("correct") for e in events):
        codes.add(CORRECT_EXERCISES)
    activity_types = ActivityType.objects.in_bulk(sorted(codes), field_name="code") if codes else {}

    # Keys repeated within the batch: the first one wins, the others are duplicates.
    rows: list[ActivityEvent] = []
    seen_keys: set[tuple[int, str]] = set()
    for event in events:
        row = _event_row(event, user=event.get("user") or reporter, reporter=reporter)
        if row.idempotency_hash is not None:
            if (row.user_id, row.idempotency_hash) in seen_keys:
                continue
            seen_keys.add((row.user_id, row.idempotency_hash))
        rows.append(row)

    def run() -> tuple[int, tuple[NewBadge, ...]]:
        for row in rows:  # a retried attempt starts again from unsaved rows
            row.pk = None
            row._state.adding = True
        inserted = _insert_events(rows)
        created = _claim_first_occurrences(first_occurrence_claims(inserted))
        users = {row.user_id: row.user for row in inserted}
        # Metric rows are locked in one global order, (user, type), so batches cannot deadlock.
        increments = sorted(
            (
                (user_id, activity_types[code], amount)
                for (user_id, code), amount in _metric_amounts(inserted, created).items()
                if code in activity_types
            ),
            key=lambda item: (item[0], item[1].pk),
        )
        # Lock the existing metric rows in one query, before any insert-if-absent: on MariaDB an
        # INSERT IGNORE meeting an existing row takes a shared lock, and concurrent batches would
        # deadlock upgrading it.
        locked = metrics_lock(pairs=[(user_id, activity_type.pk) for user_id, activity_type, _ in increments])
        new_badges: list[NewBadge] = []
        for user_id, activity_type, amount in increments:
            change = metric_increment(
                user=user_id, activity_type=activity_type, amount=amount, locked=locked.get((user_id, activity_type.pk))
            )
            new_badges.extend(NewBadge(user=users[user_id], badge=award.badge) for award in change.new_badges)
        for row in sorted(inserted, key=lambda r: (r.user_id, r.occurred_at)):
            if row.type == EventType.PRACTICE:
                # The STREAK_DAYS badges a newly counted day awards.
                awards = streaks.practice_record(
                    user=row.user,
                    language_id=row.language_id,
                    occurred_at=row.occurred_at,
                    seconds=row.duration_seconds,
                )
                new_badges.extend(NewBadge(user=users[row.user_id], badge=award.badge) for award in awards or ())
        return len(inserted), tuple(new_badges)

    accepted, new_badges = atomic_with_retry(run)
    return EventsRecordResult(accepted=accepted, duplicates=len(events) - accepted, new_badges=new_badges)
