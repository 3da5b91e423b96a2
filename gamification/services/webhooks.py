"""Outbound events (SPEC §11.3): endpoints, and the transactional outbox.

An outbound event is written as one ``WebhookDelivery`` row per subscribed endpoint, **inside
the transaction of the change it reports**: ``webhook_events_enqueue`` is the one way to emit an
event. A rolled-back change leaves no row, a committed one always has its rows, and a request
never waits for a receiver: it only inserts rows. The worker (``gamification.worker``, or Celery
when ``CELERY_BROKER_URL`` is set) sends them (``services.webhook_delivery``).

Finding the subscribers costs no query on the hot path: the active endpoints' event types are
kept in the cache (Redis when ``REDIS_URL`` is set, so every process shares it) for
``WEBHOOK_SUBSCRIBERS_CACHE_SECONDS``, and every change made through the services below clears
it, at once and again when the change commits (a process that rebuilt it from the old rows in
between would otherwise keep them). Without Redis, another process (``run_worker``,
``create_webhook``) sees a change within that many seconds. With nobody subscribed to a type,
emitting it costs one cache read and nothing else; the payload builders below look that up
before they read anything.

Payloads (``data``) follow SPEC §11.3; ``user`` is ``{username, external_id}`` (the external id is
null for users who signed up here). Times are ISO 8601 in UTC, as the API writes them.
"""

import contextlib
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from gamification.models import (
    WEBHOOK_TEST_EVENT,
    DeliveryStatus,
    FriendRequest,
    User,
    UserBadge,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from gamification.services.badge_icons import badge_icon_path
from gamification.services.db import atomic_with_retry, is_unique_violation
from gamification.validators import webhook_event_types_validate, webhook_secret_validate, webhook_url_validate

SUBSCRIBERS_CACHE_KEY = "webhooks:subscribers:v1"


# Subscribers ------------------------------------------------------------------------------------
def _subscribers_load() -> dict[str, tuple[int, ...]]:
    by_type: dict[str, list[int]] = defaultdict(list)
    for endpoint_id, event_types in WebhookEndpoint.objects.filter(active=True).values_list("pk", "event_types"):
        for event_type in event_types or ():
            by_type[event_type].append(endpoint_id)
    return {event_type: tuple(ids) for event_type, ids in by_type.items()}


def webhook_subscribers(*, event_type: str) -> tuple[int, ...]:
    """The ids of the active endpoints subscribed to ``event_type``. From the cache (no query)
    when it holds the list, else one query that refills it."""
    subscribers = cache.get(SUBSCRIBERS_CACHE_KEY)
    if subscribers is None:
        subscribers = _subscribers_load()
        cache.set(SUBSCRIBERS_CACHE_KEY, subscribers, settings.WEBHOOK_SUBSCRIBERS_CACHE_SECONDS)
    return subscribers.get(event_type, ())


def webhook_subscribers_forget() -> None:
    """Clear the cached subscribers, now and once the current transaction commits: call it with
    every change to endpoints (the services below do)."""
    cache.delete(SUBSCRIBERS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(SUBSCRIBERS_CACHE_KEY))


# Emitting ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboundEvent:
    event_type: str
    data: dict[str, Any]
    created_at: dt.datetime | None = None


_suppressed = threading.local()


@contextlib.contextmanager
def webhook_events_suppressed() -> Iterator[None]:
    """Emit nothing in this block (this thread): for bulk work that is not news to anyone, such
    as a historical import or a rebuild."""
    previous = getattr(_suppressed, "active", False)
    _suppressed.active = True
    try:
        yield
    finally:
        _suppressed.active = previous


def _suppressing() -> bool:
    return getattr(_suppressed, "active", False)


def webhook_events_enqueue_many(*, events: Sequence[OutboundEvent]) -> list[WebhookDelivery]:
    """Write the deliveries of ``events``: one row per event and subscribed active endpoint, in
    one insert. Call it inside the transaction of the change the events report, so that both are
    committed or neither; the worker sends them after the commit (with a broker, they are also
    handed to Celery right then). Returns the rows written (none when nobody is subscribed)."""
    if not events or _suppressing():
        return []
    now = timezone.now()
    window = settings.WEBHOOK_RETRY_WINDOW
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_type=event.event_type,
            created_at=event.created_at or now,
            data=event.data,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            retry_until=(event.created_at or now) + window,
        )
        for event in events
        for endpoint_id in webhook_subscribers(event_type=event.event_type)
    ]
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows)
    from gamification.services.webhook_delivery import webhook_deliveries_hand_off

    webhook_deliveries_hand_off(delivery_ids=[row.delivery_id for row in rows])
    return rows


def webhook_events_enqueue(
    *, event_type: str, data: dict[str, Any], created_at: dt.datetime | None = None
) -> list[WebhookDelivery]:
    """Emit one outbound event: THE way to tell webhook receivers that something happened. Call
    it inside the transaction of the change (see ``webhook_events_enqueue_many``)."""
    return webhook_events_enqueue_many(events=[OutboundEvent(event_type, data, created_at)])


def webhook_subscribed(*, event_type: str) -> bool:
    """Whether any active endpoint wants ``event_type`` (no query when cached): look it up before
    reading anything to build a payload."""
    return not _suppressing() and bool(webhook_subscribers(event_type=event_type))


# Payloads ---------------------------------------------------------------------------------------
def iso_utc(value: dt.datetime) -> str:
    """An aware datetime as the API writes it: ISO 8601 in UTC with a ``Z``."""
    text = value.astimezone(dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def user_ref(*, username: str, external_id: str | None) -> dict[str, Any]:
    """``user`` in payloads: the username now, and the platform's id (null when it has none)."""
    return {"username": username, "external_id": external_id}


def absolute_url(path: str | None) -> str | None:
    """A site path made absolute with ``SITE_URL`` (left as it is without it)."""
    if not path or path.startswith(("http://", "https://")) or not settings.SITE_URL:
        return path
    return settings.SITE_URL + path


def webhook_badges_awarded(*, user_id: int, user_badges: Iterable[UserBadge]) -> None:
    """``badge.awarded`` for each new award, from inside the awarding transaction
    (``services.metrics``). No query unless an endpoint is subscribed; then one for the user and
    the insert. Every user's awards are sent; ``external_id`` is null for users without one."""
    awards = list(user_badges)
    if not awards or not webhook_subscribed(event_type=WebhookEventType.BADGE_AWARDED):
        return
    username, external_id = User.objects.filter(pk=user_id).values_list("username", "external_id").get()
    user = user_ref(username=username, external_id=external_id)
    webhook_events_enqueue_many(
        events=[
            OutboundEvent(
                WebhookEventType.BADGE_AWARDED,
                {
                    "user": user,
                    "badge": {
                        "code": award.badge.activity_type.code,
                        "level": award.badge.level,
                        "name": award.badge.name,
                        "icon_url": absolute_url(badge_icon_path(award.badge)),
                    },
                    "achieved_at": iso_utc(award.achieved_at),
                },
                award.achieved_at,
            )
            for award in awards
        ]
    )


def _friend_request_data(*, request: FriendRequest, sender: User, receiver: User) -> dict[str, Any]:
    return {
        "sender": user_ref(username=sender.username, external_id=sender.external_id),
        "receiver": user_ref(username=receiver.username, external_id=receiver.external_id),
        "created_at": iso_utc(request.created_at),
    }


def webhook_friend_request_created(*, request: FriendRequest, sender: User, receiver: User) -> None:
    """``friend_request.created``, from inside the transaction that inserted the request."""
    if webhook_subscribed(event_type=WebhookEventType.FRIEND_REQUEST_CREATED):
        webhook_events_enqueue(
            event_type=WebhookEventType.FRIEND_REQUEST_CREATED,
            data=_friend_request_data(request=request, sender=sender, receiver=receiver),
            created_at=request.created_at,
        )


def webhook_friend_request_accepted(
    *, request: FriendRequest, sender: User, receiver: User, accepted_at: dt.datetime
) -> None:
    """``friend_request.accepted``, from inside the accepting transaction. ``data.created_at`` is
    when the request was sent (the same shape as ``friend_request.created``); the envelope's
    ``created_at`` is when it was accepted."""
    if webhook_subscribed(event_type=WebhookEventType.FRIEND_REQUEST_ACCEPTED):
        webhook_events_enqueue(
            event_type=WebhookEventType.FRIEND_REQUEST_ACCEPTED,
            data=_friend_request_data(request=request, sender=sender, receiver=receiver),
            created_at=accepted_at,
        )


def webhook_user_deleted(*, external_id: str | None) -> None:
    """``user.deleted`` ``{external_id}``, from inside the deleting transaction, with the id read
    before the row went (null for a user who signed up here)."""
    if webhook_subscribed(event_type=WebhookEventType.USER_DELETED):
        webhook_events_enqueue(event_type=WebhookEventType.USER_DELETED, data={"external_id": external_id})


# Endpoints --------------------------------------------------------------------------------------
def webhook_endpoint_put(
    *,
    url: str,
    secret: str,
    event_types: Iterable[str],
    active: bool = True,
    description: str | None = None,
) -> tuple[WebhookEndpoint, bool]:
    """Register the endpoint at ``url``, or update the one already there (matched exactly after
    stripping); returns ``(endpoint, created)``. ValidationError for a URL that is not https (or
    http to a loopback address), an empty secret, or unknown event types."""
    url = webhook_url_validate(url)
    secret = webhook_secret_validate(secret)
    types = webhook_event_types_validate(list(event_types))

    def run() -> tuple[WebhookEndpoint, bool]:
        endpoint = WebhookEndpoint.objects.select_for_update().filter(url=url).first()
        created = endpoint is None
        if endpoint is None:
            endpoint = WebhookEndpoint(url=url)
        endpoint.secret, endpoint.event_types, endpoint.active = secret, types, active
        if description is not None:
            endpoint.description = description
        endpoint.updated_at = timezone.now()
        if created:
            endpoint.save(force_insert=True)
        else:
            endpoint.save(update_fields=["secret", "event_types", "active", "description", "updated_at"])
        webhook_subscribers_forget()
        return endpoint, created

    try:
        return atomic_with_retry(run)
    except IntegrityError as error:
        if not is_unique_violation(error, on="url"):
            raise
        return atomic_with_retry(run)  # a concurrent registration of this URL won: update it


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    secret: str | None = None,
    event_types: Iterable[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Change the fields given (None: unchanged), validated as in ``webhook_endpoint_put``. A
    new secret signs every attempt from now on, retries of older events included."""
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = webhook_url_validate(url)
    if secret is not None and secret != "":
        changes["secret"] = webhook_secret_validate(secret)
    if event_types is not None:
        changes["event_types"] = webhook_event_types_validate(list(event_types))
    if active is not None:
        changes["active"] = active
    if description is not None:
        changes["description"] = description
    changes["updated_at"] = timezone.now()
    for field, value in changes.items():
        setattr(endpoint, field, value)
    with transaction.atomic():
        if endpoint.pk is None:
            endpoint.save(force_insert=True)
        else:
            endpoint.save(update_fields=list(changes))
        webhook_subscribers_forget()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and their attempts."""
    with transaction.atomic():
        endpoint.delete()
        webhook_subscribers_forget()


def webhook_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this one endpoint (active or not), sent by the worker
    like any other: the admin's way to check the URL and the receiver's signature check."""
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=WEBHOOK_TEST_EVENT,
            created_at=now,
            data={"message": "A test event sent from the admin.", "endpoint_id": endpoint.pk},
            next_attempt_at=now,
            retry_until=now + settings.WEBHOOK_RETRY_WINDOW,
        )
        from gamification.services.webhook_delivery import webhook_deliveries_hand_off

        webhook_deliveries_hand_off(delivery_ids=[delivery.delivery_id])
    return delivery


def webhook_secret_masked(secret: str) -> str:
    """How the admin shows a stored secret: never in full, its last 4 characters only when it is
    long enough (16+) that they give nothing useful away."""
    if not secret:
        return "(none)"
    tail = f", ending in …{secret[-4:]}" if len(secret) >= 16 else ""
    return f"set ({len(secret)} characters{tail})"
