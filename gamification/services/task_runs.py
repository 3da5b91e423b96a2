"""Long jobs started by staff in the admin (SPEC §15): ``award_badges`` and ``rebuild_metrics``
as background tasks with their progress on a ``TaskRun`` row, never inside the request.

``task_run_start`` writes the row (queued) and, with a broker, hands its id to Celery after the
commit (``gamification.task_run_execute``). Without a broker, or when the hand-off is lost,
the worker's ``tasks.run_queued`` job finds it: ``run_worker`` runs it in a thread of its own (the
worker's other jobs go on meanwhile), Celery beat inline in the worker process that took the
sweep.

``task_run_execute`` claims the row with one conditional UPDATE (queued, or running with a
heartbeat older than ``TASK_RUN_STALE_SECONDS``: its worker died), so two workers never run one
task at once, and a redelivered Celery task whose run is alive does nothing. Progress (``done``
of ``total``) and the heartbeat are written at most every ``PROGRESS_INTERVAL`` seconds, each in
its own autocommit statement, so staff see them while the job runs. Both jobs are safe to run
twice: a run restarted after its worker died starts from the beginning and changes nothing twice.
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from gamification.models import ActivityType, TaskKind, TaskRun, TaskStatus, User
from gamification.selectors.badges import badge_award_candidates_count
from gamification.services.metrics import badges_award_qualified
from gamification.services.rebuild import metrics_rebuild

logger = logging.getLogger("gamification.task_runs")
PROGRESS_INTERVAL = 1.0


class TaskRunInvalid(ValueError):
    """The arguments do not name what exists (an unknown activity type code)."""


def task_run_start(*, kind: str, started_by: User | None, codes: list[str] | None = None) -> TaskRun:
    """Queue a run of ``kind`` (``award_badges`` optionally limited to activity type ``codes``;
    ``rebuild_metrics`` for everyone). Returns the row; a worker picks it up within seconds."""
    arguments: dict = {}
    if kind == TaskKind.AWARD_BADGES and codes:
        wanted = sorted({code.strip().upper() for code in codes})
        known = set(ActivityType.objects.filter(code__in=wanted).values_list("code", flat=True))
        if unknown := [code for code in wanted if code not in known]:
            raise TaskRunInvalid(f"Unknown activity type code: {', '.join(unknown)}.")
        arguments["codes"] = wanted
    elif kind not in TaskKind.values:
        raise TaskRunInvalid(f"Unknown task: {kind}.")
    with transaction.atomic():
        run = TaskRun.objects.create(kind=kind, arguments=arguments, started_by=started_by)
        if settings.CELERY_BROKER_URL:
            transaction.on_commit(lambda: _publish(run.pk))
    return run


def _publish(task_run_id: int) -> None:
    try:
        from gamification import tasks

        tasks.task_run_execute.apply_async(args=[task_run_id], retry=False, expires=3600)
    except Exception as error:  # the sweep starts it
        logger.warning(
            "Could not hand task run %s to the broker (%s); the worker's sweep will start it", task_run_id, error
        )


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.TASK_RUN_STALE_SECONDS)
    return Q(status=TaskStatus.QUEUED) | Q(status=TaskStatus.RUNNING, heartbeat_at__lt=stale)


def _claim(task_run_id: int) -> bool:
    now = timezone.now()
    claimed = TaskRun.objects.filter(_claimable(now), pk=task_run_id).update(
        status=TaskStatus.RUNNING, started_at=now, heartbeat_at=now, done=0, error="", attempts=F("attempts") + 1
    )
    return bool(claimed)


class _Progress:
    """Counts ``on_progress`` calls; writes ``done`` and the heartbeat at most every interval."""

    def __init__(self, task_run_id: int) -> None:
        self.task_run_id = task_run_id
        self.done = 0
        self.written_at = time.monotonic()

    def __call__(self, amount: int = 1) -> None:
        self.done += amount
        if time.monotonic() - self.written_at >= PROGRESS_INTERVAL:
            self.flush()

    def total(self, total: int) -> None:
        TaskRun.objects.filter(pk=self.task_run_id).update(total=total, heartbeat_at=timezone.now())

    def flush(self) -> None:
        self.written_at = time.monotonic()
        TaskRun.objects.filter(pk=self.task_run_id).update(done=self.done, heartbeat_at=timezone.now())


def _award_badges(run: TaskRun, progress: _Progress) -> str:
    activity_types = list(ActivityType.objects.order_by("id"))
    codes = run.arguments.get("codes")
    if codes:
        activity_types = [activity_type for activity_type in activity_types if activity_type.code in codes]
    progress.total(badge_award_candidates_count(activity_types=activity_types))
    awarded = badges_award_qualified(activity_types=activity_types, on_progress=progress)
    names = ", ".join(activity_type.code for activity_type in activity_types) if codes else "all activity types"
    return f"Awarded {awarded} badge{'s' if awarded != 1 else ''} ({names})."


def _rebuild_metrics(run: TaskRun, progress: _Progress) -> str:
    progress.total(User.objects.count())
    result = metrics_rebuild(on_progress=progress)
    return (
        f"Rebuilt {result.users} user{'s' if result.users != 1 else ''}: {result.metrics_changed} metric "
        f"value{'s' if result.metrics_changed != 1 else ''} changed, {result.badges_awarded} "
        f"badge{'s' if result.badges_awarded != 1 else ''} awarded."
    )


JOBS: dict[str, Callable[[TaskRun, _Progress], str]] = {
    TaskKind.AWARD_BADGES: _award_badges,
    TaskKind.REBUILD_METRICS: _rebuild_metrics,
}


def task_run_execute(*, task_run_id: int) -> bool:
    """Run the task if it can be claimed (see the module docstring); record done or failed.
    Returns whether this call ran it."""
    if not _claim(task_run_id):
        return False
    run = TaskRun.objects.get(pk=task_run_id)
    progress = _Progress(task_run_id)
    try:
        result = JOBS[run.kind](run, progress)
    except Exception as error:
        logger.exception("task run %s (%s) failed", run.pk, run.kind)
        TaskRun.objects.filter(pk=run.pk).update(
            status=TaskStatus.FAILED,
            done=progress.done,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return True
    TaskRun.objects.filter(pk=run.pk).update(
        status=TaskStatus.DONE, done=progress.done, result=result[:300], finished_at=timezone.now()
    )
    return True


def _next_claimable() -> int | None:
    return TaskRun.objects.filter(_claimable(timezone.now())).order_by("id").values_list("pk", flat=True).first()


def _execute_in_thread(task_run_id: int) -> None:
    try:
        task_run_execute(task_run_id=task_run_id)
    finally:
        connection.close()


def task_runs_run_due(*, background: bool | None = None) -> int:
    """The worker's job: start the oldest claimable task run, if any (1, else 0). In ``run_worker``
    (no broker) in a thread, so the worker's other jobs keep their pace; under Celery inline."""
    task_run_id = _next_claimable()
    if task_run_id is None:
        return 0
    if background is None:
        background = not settings.CELERY_BROKER_URL and not connection.in_atomic_block
    if not background:
        task_run_execute(task_run_id=task_run_id)
        return 1
    if any(thread.name == f"task-run-{task_run_id}" for thread in threading.enumerate()):
        return 0
    close_old_connections()
    threading.Thread(
        target=_execute_in_thread, args=(task_run_id,), name=f"task-run-{task_run_id}", daemon=True
    ).start()
    return 1
