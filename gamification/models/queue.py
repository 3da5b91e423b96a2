"""Work done outside requests (SPEC §15): queued ingestion batches and staff-started task runs.

``QueuedEventBatch``: one ``POST /api/events/`` answered 202 (``Prefer: respond-async``), its
events already validated and carrying their idempotency keys. The row is committed before the
202, so the database is the queue of record: Celery only signals that there is work, and
``run_worker`` (or Celery beat's sweep) finds whatever a signal missed. A worker applies a batch
and deletes its row in one transaction, so a batch is applied exactly once whatever dies when.

``TaskRun``: a long job staff started from the admin (``award_badges``, ``rebuild_metrics``), with
its progress, run by a worker rather than in the request.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class QueuedEventBatch(models.Model):
    # The account that posted the batch (events without a ``user`` are theirs). Deleting the
    # account deletes what it had queued, as it deletes its activity log.
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Validated events in JSON: ``occurred_at`` ISO 8601, ``user`` an id (or absent), an
    # ``idempotency_key`` on every event (assigned at enqueue time when the client sent none).
    events = models.JSONField()
    event_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Not before this time: a batch that failed to apply waits (backoff) before its next attempt.
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "queued event batch"
        verbose_name_plural = "queued event batches"
        indexes = [models.Index(fields=["available_at"], name="queuedbatch_available_at")]

    def __str__(self) -> str:
        return f"{self.event_count} event(s) queued at {self.created_at:%Y-%m-%d %H:%M:%S}"


class TaskKind(models.TextChoices):
    AWARD_BADGES = "award_badges", "Award qualified badges"
    REBUILD_METRICS = "rebuild_metrics", "Rebuild metrics from the activity log"


class TaskStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class TaskRun(models.Model):
    kind = models.CharField(max_length=30, choices=TaskKind.choices)
    # The job's options, e.g. {"codes": ["TRANSLATED_WORDS"]} for award_badges.
    arguments = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every progress update: a running task whose heartbeat stopped (its worker
    # died) is started again by the next worker that looks (both jobs are safe to run twice).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = "background task"
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="taskrun_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
