"""The background worker (SPEC §15): periodic jobs on the database alone, or on Celery.

``PERIODIC_JOBS`` is the schedule, in one place: ``python manage.py run_worker`` runs it in one
process on the database alone (``Worker`` below), and Celery beat runs the same jobs as tasks
when ``CELERY_BROKER_URL`` is set (``zeeguu_site/celery.py``). Every job is safe to run twice at
once: deliveries are claimed with leases and row locks, and the streak scan's "once a day" is a
unique constraint, so a second worker or a second beat changes nothing.

A job is a function without arguments returning a number of items handled; one that handled a
full batch (``PeriodicJob.drains``) runs again at once instead of waiting for its interval, so a
backlog drains at full speed.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from types import FrameType

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger("gamification.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: str  # "module.path:function", imported when first run
    every_seconds: Callable[[], float]  # read when the schedule is built, from the settings
    # With a batch size: the job handled a full batch and should run again at once.
    batch_size: Callable[[], int] | None = None
    # Under Celery beat, when it differs (deliveries are handed to Celery at commit, so the sweep
    # there only picks up retries and anything the hand-off missed).
    broker_every_seconds: Callable[[], float] | None = None

    def load(self) -> Callable[[], int | None]:
        module, _, name = self.function.partition(":")
        return getattr(import_module(module), name)


def _delivery_batch() -> int:
    return 4 * settings.WORKER_CONCURRENCY


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    # Due deliveries: new ones (without a broker) and retries whose time came (always).
    PeriodicJob(
        "webhooks.deliver_due",
        "gamification.services.webhook_delivery:webhook_deliveries_deliver_due",
        lambda: settings.WORKER_POLL_SECONDS,
        _delivery_batch,
        lambda: settings.WORKER_SWEEP_SECONDS,
    ),
    # Queued ingestion: waiting batches (without a broker, the only consumer; under beat, the
    # sweep for whatever a signal missed, e.g. while the broker was down).
    PeriodicJob(
        "events.apply_queued",
        "gamification.services.event_queue:queued_events_apply_due",
        lambda: settings.QUEUED_EVENTS_POLL_SECONDS,
        lambda: settings.QUEUED_EVENTS_APPLY_BATCHES,
        lambda: settings.WORKER_SWEEP_SECONDS,
    ),
    # award_badges / rebuild_metrics started in the admin (run_worker: in a thread of their own).
    PeriodicJob("tasks.run_queued", "gamification.services.task_runs:task_runs_run_due", lambda: 2.0),
    PeriodicJob("streaks.at_risk_scan", "gamification.services.streak_alerts:streaks_at_risk_scan", lambda: 60.0),
    PeriodicJob("webhooks.purge", "gamification.services.webhook_delivery:webhook_deliveries_purge", lambda: 3600.0),
    PeriodicJob("streaks.notices_purge", "gamification.services.streak_alerts:streak_notices_purge", lambda: 3600.0),
)


def periodic_job(name: str) -> PeriodicJob:
    for job in PERIODIC_JOBS:
        if job.name == name:
            return job
    raise KeyError(name)


def celery_interval(job: PeriodicJob) -> float:
    """The job's interval under Celery beat."""
    return (job.broker_every_seconds or job.every_seconds)()


def periodic_job_run(name: str) -> tuple[int, bool]:
    """Run one job of the schedule by name (Celery's periodic task calls this); returns the
    number handled and whether it handled a full batch (run it again at once)."""
    job = periodic_job(name)
    handled = int(job.load()() or 0)
    return handled, job.batch_size is not None and handled >= job.batch_size()


@dataclass
class _Scheduled:
    job: PeriodicJob
    function: Callable[[], int | None]
    interval: float
    due_at: float = 0.0
    failures: int = field(default=0)


class Worker:
    """Runs ``jobs`` on their intervals in this process until ``stop()`` (or SIGTERM/SIGINT when
    started by ``run_forever(install_signal_handlers=True)``). A job that raises is logged and
    tried again at its next interval; the database connection is checked between jobs, so a
    restarted database costs one failed run, not the worker."""

    def __init__(self, jobs: tuple[PeriodicJob, ...] = PERIODIC_JOBS, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._stopping = threading.Event()
        now = clock()
        self._scheduled = [_Scheduled(job, job.load(), max(0.05, job.every_seconds()), now) for job in jobs]

    def stop(self, *_args: object) -> None:
        if not self._stopping.is_set():
            logger.info("worker stopping after the current job")
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_once(self) -> float:
        """Run every job that is due; return the seconds until the next one is."""
        for item in self._scheduled:
            if self.stopping:
                break
            if self._clock() < item.due_at:
                continue
            if not connection.in_atomic_block:  # (tests run jobs inside their transaction)
                close_old_connections()
            again = False
            try:
                handled = int(item.function() or 0)
                item.failures = 0
                again = item.job.batch_size is not None and handled >= item.job.batch_size()
            except Exception:
                item.failures += 1
                logger.exception("worker job %s failed (%d in a row)", item.job.name, item.failures)
            item.due_at = self._clock() + (0 if again else item.interval)
        return max(0.0, min(item.due_at for item in self._scheduled) - self._clock())

    def run_forever(self, *, install_signal_handlers: bool = False) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        logger.info("worker started: %s", ", ".join(f"{i.job.name} every {i.interval:g} s" for i in self._scheduled))
        while not self.stopping:
            wait = self.run_once()
            self._stopping.wait(wait)
        logger.info("worker stopped")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            # A second signal: leave now; claimed deliveries come back when their lease ends.
            raise SystemExit(128 + signum)
        self.stop()
