"""Outbound events (SPEC §11.3): the endpoints staff register, the outbox of deliveries the
worker sends, every attempt, and the once-a-day marks of the streak-at-risk scan.

A delivery is one event for one endpoint. Its row is written in the transaction of the change it
reports (``services.webhooks.webhook_events_enqueue``), so a rolled-back change leaves none; the
worker (``gamification.worker``, or Celery) sends it and records each attempt.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from gamification.models.languages import Language


class WebhookEventType(models.TextChoices):
    """The event types an endpoint may subscribe to."""

    BADGE_AWARDED = "badge.awarded", "badge.awarded: a user achieved a badge"
    FRIEND_REQUEST_CREATED = "friend_request.created", "friend_request.created: a friend request was sent"
    FRIEND_REQUEST_ACCEPTED = "friend_request.accepted", "friend_request.accepted: a friend request was accepted"
    STREAK_AT_RISK = "streak.at_risk", "streak.at_risk: a daily streak ends tonight unless the user practises"
    USER_DELETED = "user.deleted", "user.deleted: an account was deleted"


# Sent by the admin's "Send a test event" action to one endpoint; nobody subscribes to it.
WEBHOOK_TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """A receiver of outbound events. The URL is https, or plain http to a loopback address only
    (``validators.webhook_url_validate``); the secret signs every delivery, so it is stored as
    given and never shown again in full."""

    url = models.URLField(max_length=500, unique=True, help_text="https://…, or http:// to a loopback address only.")
    secret = models.CharField(max_length=255)
    # A list of WebhookEventType values (validated by the services and the admin form). Endpoints
    # are few: subscribers are found by reading the active ones (cached, services.webhooks).
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, and its state.

    ``delivery_id`` is the event's ``id`` in the body and the ``X-Gamification-Delivery`` header,
    the same on every attempt. ``next_attempt_at`` is set exactly while the delivery is pending
    (a check constraint holds it): the worker's "due" query reads its index alone. While an
    attempt is in flight it holds the claim's lease expiry (see services.webhooks).
    ``retry_until`` ends the retry window (24 hours after the event, or after a resend).
    """

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the event happened.")
    data = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts since the event, or since the last resend.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    retry_until = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status=DeliveryStatus.PENDING, next_attempt_at__isnull=False)
                | (~Q(status=DeliveryStatus.PENDING) & Q(next_attempt_at__isnull=True)),
                name="webhookdelivery_due_iff_pending",
            ),
        ]
        indexes = [
            # The worker's due query: WHERE next_attempt_at <= now ORDER BY next_attempt_at.
            # Only pending rows have a value, so the index holds the queue and nothing else.
            models.Index(fields=["next_attempt_at"], name="webhookdelivery_due"),
            # The admin's list (newest first) and the housekeeping purge of old rows.
            models.Index(fields=["created_at"], name="webhookdelivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.delivery_id}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery, for the admin's history."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(
        max_length=10, help_text="delivered, retry (a later attempt follows) or failed (the last one)."
    )

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="webhookattempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"


class StreakAtRiskNotice(models.Model):
    """``streak.at_risk`` was emitted for this user, language and local date: the unique pair
    makes it once a day, whichever scanner (worker, Celery beat, a restart) got there first."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    language = models.ForeignKey(Language, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "language", "local_date"], name="streakatrisknotice_once_a_day"),
        ]
        indexes = [models.Index(fields=["local_date"], name="streakatrisknotice_date")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.language_id} {self.local_date}"
