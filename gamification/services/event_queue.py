"""Queued ingestion (SPEC §15): ``POST /api/events/`` with ``Prefer: respond-async``.

The request validates the whole batch exactly as the synchronous path does, then
``events_enqueue`` writes it as one ``QueuedEventBatch`` row and the request answers 202. Workers
apply queued batches through ``events_record``, the synchronous path's own service, so metrics,
streaks, badges (unseen until the learner looks) and the ``badge.awarded`` webhook come out the
same.

Durability: the row is committed before the 202 is sent, so the database is the queue of record
and the broker only carries signals. After the commit (inside a request: once the response has
been sent) a ``gamification.events_apply_queued`` task is published (Celery, when
``CELERY_BROKER_URL`` is set; with a shared Redis, coalesced: see "Coalescing the signals").
With the broker down the publish fails fast, is skipped for a few seconds afterwards (the
webhooks' breaker rule), and nothing is lost: the periodic sweep (``events.apply_queued`` in
``gamification.worker.PERIODIC_JOBS``, run by ``run_worker`` without a broker and by Celery beat
with one) applies whatever is waiting.

Exactly once: ``queued_events_apply`` locks a chunk of the oldest waiting rows (``SELECT … FOR
UPDATE SKIP LOCKED`` on MariaDB, so concurrent workers take different rows; SQLite's IMMEDIATE
transactions serialise them), records their events and deletes the rows **in one transaction**.
A worker killed mid-chunk leaves nothing behind (its transaction rolls back and the rows come
free); a signal redelivered after the commit finds the rows gone. Idempotency keys, assigned at
enqueue time to every event that came without one, are the second line: applying the same events
again (a restored backup, a row re-queued by hand) still changes nothing.

A chunk that fails for another reason than a deadlock (retried whole) is applied again one row
per transaction; a row that fails alone is kept with its error and tried again later, with a
doubling delay, so one bad batch never blocks the rest. Staff see waiting rows in the admin.
"""

import datetime as dt
import logging
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gamification.models import QueuedEventBatch, User
from gamification.services.broker import PublishBreaker
from gamification.services.db import atomic_with_retry, is_database_unavailable
from gamification.services.events import events_record

logger = logging.getLogger("gamification.event_queue")

# The fields a validated event may carry (gamification.serializers.events), stored as JSON.
_JSON_FIELDS = ("type", "language", "idempotency_key", "word", "correct", "lesson_id", "article_id", "kind")
_JSON_INT_FIELDS = ("duration_seconds",)
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 3600


def _event_to_json(event: dict[str, Any], *, key: str) -> dict[str, Any]:
    stored: dict[str, Any] = {name: event[name] for name in (*_JSON_FIELDS, *_JSON_INT_FIELDS) if name in event}
    stored["idempotency_key"] = event.get("idempotency_key") or key
    stored["occurred_at"] = event["occurred_at"].isoformat()
    user = event.get("user")
    if user is not None:
        stored["user"] = user.pk
    return stored


def events_enqueue(*, reporter: User, events: list[dict[str, Any]]) -> QueuedEventBatch:
    """Queue validated events (``events_input_validate``'s output, permission to name other users
    already checked) for a worker to record; returns the committed row.

    Every event without an idempotency key gets one here (``q:<batch uuid>:<index>``), so that the
    events of a batch are duplicates of themselves if they are ever applied twice. The row is
    committed before this returns (or with the caller's transaction); the worker is signalled
    after the commit.
    """
    batch_key = uuid.uuid4().hex
    rows = [_event_to_json(event, key=f"q:{batch_key}:{index}") for index, event in enumerate(events)]
    # One INSERT, committed on its own (autocommit: no BEGIN round trip on the 202's path), or
    # part of the caller's transaction; the signal leaves after the commit either way.
    batch = QueuedEventBatch.objects.create(reporter=reporter, events=rows, event_count=len(rows))
    queued_events_signal()
    return batch


# Applying ---------------------------------------------------------------------------------------
def _event_from_json(stored: dict[str, Any], *, users: dict[int, User]) -> dict[str, Any] | None:
    event = {name: stored[name] for name in (*_JSON_FIELDS, *_JSON_INT_FIELDS) if name in stored}
    event["occurred_at"] = parse_datetime(stored["occurred_at"])
    if "user" in stored:
        user = users.get(stored["user"])
        if user is None:  # deleted since: their log is gone too
            return None
        event["user"] = user
    return event


def _record_rows(rows: list[QueuedEventBatch]) -> int:
    """Record the events of ``rows`` (the caller owns the transaction); returns events recorded
    or found duplicate. One ``events_record`` per reporter, reporters in id order."""
    user_ids = {row.reporter_id for row in rows}
    for row in rows:
        user_ids.update(event["user"] for event in row.events if "user" in event)
    users = User.objects.in_bulk(sorted(user_ids))
    by_reporter: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        for stored in row.events:
            event = _event_from_json(stored, users=users)
            if event is not None:
                by_reporter[row.reporter_id].append(event)
    handled = 0
    for reporter_id in sorted(by_reporter):
        reporter = users.get(reporter_id)
        if reporter is None:
            continue
        result = events_record(reporter=reporter, events=by_reporter[reporter_id])
        handled += result.accepted + result.duplicates
    return handled


def _lock_waiting(*, limit: int, now: dt.datetime) -> list[QueuedEventBatch]:
    waiting = QueuedEventBatch.objects.filter(available_at__lte=now).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True)
    return list(waiting[:limit])


def queued_events_apply(*, limit: int | None = None) -> int:
    """Apply up to ``limit`` (``QUEUED_EVENTS_APPLY_BATCHES``) of the oldest waiting batches in
    one transaction and delete them; returns the number of batches taken (a full ``limit``: run
    again at once). Safe beside other workers doing the same (they take other rows)."""
    limit = limit or settings.QUEUED_EVENTS_APPLY_BATCHES
    now = timezone.now()

    def run() -> list[int]:
        rows = _lock_waiting(limit=limit, now=now)
        if rows:
            _record_rows(rows)
            QueuedEventBatch.objects.filter(pk__in=[row.pk for row in rows]).delete()
        return [row.pk for row in rows]

    try:
        return len(atomic_with_retry(run))
    except Exception as error:
        if is_database_unavailable(error):
            raise  # nothing to learn row by row; the job runs again later
        logger.exception("applying a chunk of queued events failed; applying its batches one by one")
    return _apply_one_by_one(limit=limit, now=now)


def _apply_one_by_one(*, limit: int, now: dt.datetime) -> int:
    taken = 0
    current: list[int] = []  # the batch being tried, for _postpone
    for _ in range(limit):

        def run() -> bool:
            current.clear()
            rows = _lock_waiting(limit=1, now=now)
            if not rows:
                return False
            current.append(rows[0].pk)
            _record_rows(rows)
            rows[0].delete()
            return True

        try:
            if not atomic_with_retry(run):
                break
        except Exception as error:
            if is_database_unavailable(error) or not current:
                raise
            _postpone(pk=current[0], error=error)
        taken += 1
    return taken


def _postpone(*, pk: int, error: BaseException) -> None:
    """A batch failed alone: keep it, with its error, for a later attempt (doubling delays)."""
    with transaction.atomic():
        row = QueuedEventBatch.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return
        row.attempts += 1
        delay = min(RETRY_BASE_SECONDS * 2 ** (row.attempts - 1), RETRY_MAX_SECONDS)
        row.available_at = timezone.now() + dt.timedelta(seconds=delay)
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.save(update_fields=["attempts", "available_at", "last_error"])
    logger.error("queued event batch %s failed (attempt %d), next try in %d s: %s", pk, row.attempts, delay, error)


def queued_events_drain(*, seconds: float) -> tuple[int, bool]:
    """A signalled worker's job: apply chunks of waiting batches until none is left, releasing
    the signal before a last look (see "Coalescing the signals" below), for at most about
    ``seconds``. Returns the batches handled and whether some may still wait (time ran out:
    the caller signals again)."""
    started = time.monotonic()
    handled = 0
    while True:
        taken = queued_events_apply()
        handled += taken
        if taken < settings.QUEUED_EVENTS_APPLY_BATCHES:
            # No full chunk waits: let the next batch signal again, then look once more for a
            # batch whose publisher found this signal pending.
            signal_release()
            taken = queued_events_apply()
            handled += taken
            if taken == 0:
                return handled, False
        if time.monotonic() - started > seconds:
            signal_release()
            return handled, True


def queued_events_apply_due() -> int:
    """The worker's periodic job: one chunk of waiting batches (run again at once while full)."""
    return queued_events_apply()


# Signalling Celery ------------------------------------------------------------------------------
_breaker = PublishBreaker(
    pause=5.0,
    warning="Could not signal queued events to the broker; the periodic sweep will apply them",
    logger=logger,
)


def _publish() -> None:
    if not _breaker.open():
        return
    if not _signal_claim():
        return  # a worker is signalled and has not finished looking: it will see this batch
    try:
        from gamification import tasks

        tasks.events_apply_queued.apply_async(retry=False, expires=600)
    except Exception as error:  # any broker failure: the rows wait for the sweep
        _breaker.failed(error)
        signal_release()


# Coalescing the signals (with a shared Redis, ``REDIS_URL``). Without it every queued batch
# published a task, and at a thousand events a second most tasks found one batch, or none: a
# publish, a delivery and a transaction each. A key says "a worker is signalled and will look
# for waiting rows": a publisher sets it (SET NX, after its own row committed) and publishes
# only if it was not set; the task deletes it once it finds no full chunk, then looks once
# more. A publisher that found the key set did so before that delete, so its committed row is
# seen by that last look. The key expires after ``SIGNAL_PENDING_MS`` (a task lost with a
# broker, or a long drain, lets the next publisher signal again); without Redis, or with Redis
# unreachable, every batch publishes as before.
SIGNAL_PENDING_MS = 2000
_signal_breaker = PublishBreaker(
    pause=5.0,
    warning="Could not reach Redis to coalesce queued-event signals; publishing one per batch",
    logger=logger,
)
_redis_clients: dict[str, Any] = {}


def _signal_redis():
    url = settings.REDIS_URL
    if not url or not _signal_breaker.open():
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis

        timeout = settings.REDIS_TIMEOUT
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return client


def _signal_key() -> str:
    return cache.make_key("queued-events:signal-pending")


def _signal_claim() -> bool:
    """Whether this batch should publish: False only when the key was already set."""
    client = _signal_redis()
    if client is None:
        return True
    try:
        return bool(client.set(_signal_key(), b"1", nx=True, px=SIGNAL_PENDING_MS))
    except Exception as error:  # unreachable Redis: publish, as without it
        _signal_breaker.failed(error)
        return True


def signal_release() -> None:
    """Let the next queued batch publish again (a worker calls this before its last look)."""
    client = _signal_redis()
    if client is None:
        return
    try:
        client.delete(_signal_key())
    except Exception as error:  # the key expires by itself
        _signal_breaker.failed(error)


# Inside a request the signal leaves once the response has been sent (Django's
# ``request_finished``, sent when the server closes the response): publishing costs about a
# millisecond of CPU and a round trip to the broker, which the 202 need not wait for. The
# receivers below are connected in ``gamification.signals``. One publish per request, however
# many batches it queued; outside a request (commands, workers, shells) at once.
_request = threading.local()


def request_began() -> None:
    _request.active = True
    _request.pending = False


def request_ended() -> None:
    pending = getattr(_request, "pending", False)
    _request.active = False
    _request.pending = False
    if pending:
        _publish()


def _publish_after_commit() -> None:
    if getattr(_request, "active", False):
        _request.pending = True
    else:
        _publish()


def queued_events_signal() -> None:
    """With a broker, tell a Celery worker that batches wait: once the current transaction
    commits, and inside a request once its response has been sent. Without a broker,
    ``run_worker`` polls for them."""
    if settings.CELERY_BROKER_URL:
        transaction.on_commit(_publish_after_commit)
