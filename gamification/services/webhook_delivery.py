"""Sending the outbox (SPEC §11.3): claims, signed POSTs, retries with backoff, resends.

**Claims.** A sender claims due deliveries in a short transaction: it selects them (``FOR UPDATE
SKIP LOCKED`` on MariaDB, so concurrent senders take different rows without waiting; SQLite's
IMMEDIATE transactions serialise claims instead) and moves their ``next_attempt_at`` to a lease
expiry, then commits and sends outside any transaction. No other sender sees a claimed row as due
until the lease runs out, which happens only when its sender died mid-attempt: the delivery is
then sent again (at least once). The attempt's outcome is written only where ``next_attempt_at``
still holds that sender's lease, so a late or superseded sender (a staff resend in between)
changes nothing; its attempt is still logged.

**Attempts.** A POST of ``{id, type, created_at, data}`` (compact JSON, UTF-8) with
``X-Gamification-Event``, ``X-Gamification-Delivery`` (the ``id``, the same on every attempt) and
``X-Gamification-Signature: t=<unix time of this attempt>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret. Redirects are not followed. Outcomes:

- 2xx: delivered;
- timeout, connection error, 5xx, 408 or 429: retried, the first retry after
  ``WEBHOOK_RETRY_BASE_SECONDS``, then doubling (at most ``WEBHOOK_RETRY_MAX_DELAY_SECONDS``
  apart), until ``retry_until`` (24 hours after the event, ``WEBHOOK_RETRY_WINDOW``); the last
  attempt is made at that moment and, if it fails too, the delivery is failed;
- any other answer (a 3xx, a 4xx: the receiver refused this request, and the same request again
  would be refused again), an endpoint made inactive, or a URL no longer allowed: failed at once.

Staff can resend any delivery: a new attempt now, with the same id, and a new 24-hour window.

**Fairness.** At most ``PER_ENDPOINT`` deliveries of one endpoint are claimed at a time and
sent one after the other; after a timeout, that endpoint's other claimed deliveries are released
untouched (still due, no attempt counted), so a hung receiver holds one sender for one timeout,
not one per queued event, and never delays the other endpoints, which are sent in parallel
(``WORKER_CONCURRENCY`` threads on MariaDB; one at a time on SQLite).
"""

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from gamification.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from gamification.services.broker import PublishBreaker
from gamification.services.db import atomic_with_retry
from gamification.services.webhooks import iso_utc
from gamification.validators import webhook_url_validate

logger = logging.getLogger("gamification.webhooks")

USER_AGENT = "zeeguu-gamification-webhooks/1"
PER_ENDPOINT = 10
# How much of an error answer's body is kept for staff (last_error).
BODY_EXCERPT_BYTES = 512
RETRYABLE_STATUS = frozenset({408, 429})


# Signing ----------------------------------------------------------------------------------------
def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Gamification-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of
    "<timestamp>.<body>" keyed with the secret>`` (secret and text as UTF-8)."""
    signed = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): ``{id, type, created_at, data}``."""
    envelope = {
        "id": str(delivery.delivery_id),
        "type": delivery.event_type,
        "created_at": iso_utc(delivery.created_at),
        "data": delivery.data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# Backoff ----------------------------------------------------------------------------------------
def retry_delay(*, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: base, then doubling, capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS))


def lease_duration() -> dt.timedelta:
    """Long enough for a sender to try every delivery it claimed for one endpoint."""
    return dt.timedelta(seconds=60 + PER_ENDPOINT * 2 * settings.WEBHOOK_TIMEOUT_SECONDS)


# HTTP -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    error: str
    timed_out: bool
    duration_ms: int


_ssl_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


def http_post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> HttpResult:
    """POST ``body`` to ``url``; never raises for network trouble. ``timeout`` bounds the
    connect, and then the wait for the answer (status line and headers) as a whole; a receiver
    that trickles its headers byte by byte can stretch the last read by one more timeout."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname or "", parts.port
    started = time.monotonic()
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    status: int | None = None
    error, timed_out = "", False
    try:
        conn.request("POST", path, body=body, headers=headers)
        if conn.sock is not None:
            conn.sock.settimeout(max(0.001, timeout - (time.monotonic() - started)))
        response = conn.getresponse()
        status = response.status
        excerpt = response.read(BODY_EXCERPT_BYTES)
        if not 200 <= status < 300:
            text = excerpt.decode("utf-8", "replace").strip()
            error = f"HTTP {status} {response.reason}" + (f": {text}" if text else "")
    except TimeoutError:
        error, timed_out = f"timeout: no answer within {timeout:g} s", True
    except ssl.SSLError as exc:
        error = f"TLS error: {exc}"
    except (OSError, http.client.HTTPException) as exc:
        error = f"connection error: {type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return HttpResult(status, error, timed_out, int((time.monotonic() - started) * 1000))


# Claims -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    delivery: WebhookDelivery  # with its endpoint loaded
    lease_until: dt.datetime
    due_at: dt.datetime  # next_attempt_at before the claim, to release it untouched


def webhook_deliveries_claim(
    *,
    limit: int,
    delivery_ids: Sequence[UUID | str] | None = None,
    exclude_endpoint_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due deliveries (oldest due first, at most ``PER_ENDPOINT`` per
    endpoint), or only those of ``delivery_ids`` that are due; see the module docstring."""
    now = now or timezone.now()
    lease_until = now + lease_duration()
    excluded = set(exclude_endpoint_ids)
    due = WebhookDelivery.objects.filter(next_attempt_at__lte=now)
    if delivery_ids is not None:
        due = due.filter(delivery_id__in=[UUID(str(value)) for value in delivery_ids])
    if excluded:
        due = due.exclude(endpoint_id__in=excluded)
    # The worker polls every second: when nothing is due, one indexed read and no transaction
    # (on SQLite a claim's transaction takes the database's write lock).
    if not connection.in_atomic_block and not due.exists():
        return []

    def run() -> list[Claim]:
        oldest_first = due.order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            oldest_first = oldest_first.select_for_update(skip_locked=True)
        chosen: dict[int, dt.datetime] = {}
        per_endpoint: dict[int, int] = defaultdict(int)
        for pk, endpoint_id, due_at in oldest_first.values_list("pk", "endpoint_id", "next_attempt_at")[: limit * 4]:
            if per_endpoint[endpoint_id] < PER_ENDPOINT and len(chosen) < limit:
                per_endpoint[endpoint_id] += 1
                chosen[pk] = due_at
        if not chosen:
            return []
        WebhookDelivery.objects.filter(pk__in=chosen).update(next_attempt_at=lease_until)
        rows = WebhookDelivery.objects.filter(pk__in=chosen).select_related("endpoint").order_by("id")
        return [Claim(row, lease_until, chosen[row.pk]) for row in rows]

    return atomic_with_retry(run)


def _release(claims: Sequence[Claim]) -> None:
    """Give claimed deliveries back, due as before, without counting an attempt."""
    for claim in claims:
        WebhookDelivery.objects.filter(pk=claim.delivery.pk, next_attempt_at=claim.lease_until).update(
            next_attempt_at=claim.due_at
        )


# Attempts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptOutcome:
    delivery_id: UUID
    outcome: str  # "delivered", "retry" or "failed"
    status_code: int | None
    error: str
    timed_out: bool
    next_attempt_at: dt.datetime | None


def _refusal(delivery: WebhookDelivery) -> str:
    """Why this delivery must not be sent at all, or ''."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        return "not sent: the endpoint is inactive"
    try:
        webhook_url_validate(endpoint.url)
    except ValidationError as error:
        return f"not sent: the URL is not allowed ({' '.join(error.messages)})"
    return ""


def webhook_delivery_attempt(*, claim: Claim) -> AttemptOutcome:
    """Make one attempt of a claimed delivery and record it (attempt log, delivery state, one
    log line); see the module docstring for the outcomes."""
    delivery, endpoint = claim.delivery, claim.delivery.endpoint
    attempt_at = timezone.now()
    refusal = _refusal(delivery)
    if refusal:
        result = HttpResult(None, refusal, False, 0)
    else:
        body = webhook_body(delivery)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Gamification-Event": delivery.event_type,
            "X-Gamification-Delivery": str(delivery.delivery_id),
            "X-Gamification-Signature": webhook_signature(
                secret=endpoint.secret, timestamp=int(attempt_at.timestamp()), body=body
            ),
        }
        result = http_post(url=endpoint.url, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    finished_at = timezone.now()
    attempts = delivery.attempts + 1
    code = result.status_code
    next_attempt_at: dt.datetime | None = None
    if code is not None and 200 <= code < 300:
        outcome = "delivered"
    elif not refusal and (code is None or code >= 500 or code in RETRYABLE_STATUS):
        if finished_at >= delivery.retry_until:
            outcome = "failed"
        else:
            outcome = "retry"
            next_attempt_at = min(finished_at + retry_delay(attempts=attempts), delivery.retry_until)
    else:
        outcome = "failed"

    changes: dict = {
        "attempts": attempts,
        "last_attempt_at": attempt_at,
        "last_status_code": code,
        "last_error": result.error,
        "next_attempt_at": next_attempt_at,
    }
    if outcome == "delivered":
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=finished_at)
    elif outcome == "failed":
        changes["status"] = DeliveryStatus.FAILED

    def record() -> int:
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            attempted_at=attempt_at,
            status_code=code,
            error=result.error,
            duration_ms=result.duration_ms,
            outcome=outcome,
        )
        return WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=claim.lease_until).update(**changes)

    recorded = atomic_with_retry(record)
    logger.info(
        "webhook %s %s to %s: attempt %d %s in %d ms, %s%s",
        delivery.event_type,
        delivery.delivery_id,
        endpoint.url,
        attempts,
        code if code is not None else "-",
        result.duration_ms,
        outcome if outcome != "retry" else f"retry at {iso_utc(next_attempt_at)}",
        f" ({result.error})" if result.error else "",
        extra={"delivery_id": str(delivery.delivery_id), "endpoint_id": endpoint.pk, "outcome": outcome},
    )
    if not recorded:
        logger.info("webhook %s: superseded while in flight (resent or re-claimed)", delivery.delivery_id)
    return AttemptOutcome(delivery.delivery_id, outcome, code, result.error, result.timed_out, next_attempt_at)


def _send_group(claims: Sequence[Claim]) -> list[AttemptOutcome]:
    """One endpoint's claimed deliveries, one after the other; after a timeout the rest are
    released untouched."""
    outcomes: list[AttemptOutcome] = []
    for index, claim in enumerate(claims):
        outcome = webhook_delivery_attempt(claim=claim)
        outcomes.append(outcome)
        if outcome.timed_out:
            _release(claims[index + 1 :])
            break
    return outcomes


def _send_group_in_thread(claims: Sequence[Claim]) -> list[AttemptOutcome]:
    try:
        return _send_group(claims)
    finally:
        connection.close()


def webhook_claims_send(*, claims: Sequence[Claim], concurrency: int | None = None) -> list[AttemptOutcome]:
    """Send claimed deliveries: each endpoint's in order, endpoints in parallel threads (one
    thread and connection each; on SQLite, all in this thread: it has a single writer)."""
    groups: dict[int, list[Claim]] = defaultdict(list)
    for claim in claims:
        groups[claim.delivery.endpoint_id].append(claim)
    workers = min(len(groups), concurrency or settings.WORKER_CONCURRENCY)
    # Threads have connections of their own: they could not see rows of a caller's transaction.
    if workers <= 1 or connection.vendor == "sqlite" or connection.in_atomic_block:
        return [outcome for group in groups.values() for outcome in _send_group(group)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        results = list(pool.map(_send_group_in_thread, groups.values()))
    return [outcome for group in results for outcome in group]


def webhook_deliveries_deliver_due(*, limit: int | None = None, now: dt.datetime | None = None) -> int:
    """Claim and send the deliveries that are due now (at most ``limit``, by default
    4 x ``WORKER_CONCURRENCY``); returns how many were attempted. The periodic job of the
    worker and of Celery beat."""
    limit = limit or 4 * settings.WORKER_CONCURRENCY
    claims = webhook_deliveries_claim(limit=limit, now=now)
    return len(webhook_claims_send(claims=claims)) if claims else 0


def webhook_deliveries_deliver(*, delivery_ids: Sequence[UUID | str]) -> int:
    """Send the given deliveries if they are still due (the Celery task handed them right after
    their commit; anything already sent or claimed by another sender is skipped)."""
    if not delivery_ids:
        return 0
    claims = webhook_deliveries_claim(limit=len(delivery_ids), delivery_ids=delivery_ids)
    return len(webhook_claims_send(claims=claims)) if claims else 0


# Resend and housekeeping ------------------------------------------------------------------------
def webhook_deliveries_resend(*, delivery_ids: Iterable[int]) -> int:
    """Staff's resend: each delivery (any status) is due now again with the same id, its attempt
    count restarted and a new retry window; the attempt log keeps every earlier attempt. A
    delivery in flight at that moment is attempted again too (its sender's result is dropped)."""
    now = timezone.now()
    ids = list(delivery_ids)
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            retry_until=now + settings.WEBHOOK_RETRY_WINDOW,
            attempts=0,
            delivered_at=None,
        )
        webhook_deliveries_hand_off(
            delivery_ids=list(WebhookDelivery.objects.filter(pk__in=ids).values_list("delivery_id", flat=True))
        )
    return count


def webhook_deliveries_purge(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """Delete delivered and failed deliveries (with their attempts) older than
    ``WEBHOOK_RETENTION``, in chunks of ``chunk`` rows; pending ones stay. Returns the number."""
    cutoff = (now or timezone.now()) - settings.WEBHOOK_RETENTION
    total = 0
    while True:
        ids = list(
            WebhookDelivery.objects.filter(created_at__lt=cutoff, next_attempt_at__isnull=True).values_list(
                "pk", flat=True
            )[:chunk]
        )
        if not ids:
            return total
        with transaction.atomic():
            _, per_model = WebhookDelivery.objects.filter(pk__in=ids, next_attempt_at__isnull=True).delete()
        total += per_model.get(WebhookDelivery._meta.label, 0)


# Celery hand-off --------------------------------------------------------------------------------
_breaker = PublishBreaker(
    pause=10.0,
    warning="Could not hand webhook deliveries to the broker; the periodic sweep will send them",
    logger=logger,
)


def _publish(delivery_ids: list[str]) -> None:
    if not _breaker.open():
        return
    try:
        from gamification import tasks

        tasks.webhooks_deliver.apply_async(args=[delivery_ids], retry=False, expires=600)
    except Exception as error:  # any broker failure: the sweep covers it
        _breaker.failed(error)


def webhook_deliveries_hand_off(*, delivery_ids: Sequence[UUID | str]) -> None:
    """With a broker (``CELERY_BROKER_URL``), hand the deliveries to Celery once the current
    transaction commits, so that they leave within moments; without one, or when the broker
    cannot be reached, the worker's periodic sweep finds them in the outbox."""
    if not settings.CELERY_BROKER_URL or not delivery_ids:
        return
    ids = [str(value) for value in delivery_ids]
    transaction.on_commit(lambda: _publish(ids))
