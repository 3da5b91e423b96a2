"""Celery tasks (SPEC §15): thin wrappers around services, used when ``CELERY_BROKER_URL`` is set.

Every task is safe to run twice (acks late: a worker killed mid-task gets it redelivered):
deliveries are claimed with leases and the outcome recorded only by the claim's holder, and
the periodic jobs are the idempotent ones of ``gamification.worker.PERIODIC_JOBS``.
"""

from zeeguu_site.celery import app

# A signalled worker drains for at most this long, then hands the rest to a fresh task (so
# that a long backlog does not pin one worker process and other tasks get their turn).
DRAIN_SECONDS = 10.0


@app.task(name="gamification.webhooks_deliver", acks_late=True, ignore_result=True)
def webhooks_deliver(delivery_ids: list[str]) -> int:
    """Send these deliveries (handed over right after the commit that wrote them) if still due."""
    from gamification.services.webhook_delivery import webhook_deliveries_deliver

    return webhook_deliveries_deliver(delivery_ids=delivery_ids)


@app.task(name="gamification.periodic_job", acks_late=True, ignore_result=True)
def periodic_job(name: str) -> int:
    """One run of a job of the schedule (``gamification.worker.PERIODIC_JOBS``), from beat."""
    from gamification.worker import periodic_job_run

    handled, full = periodic_job_run(name)
    if full:  # a backlog: go on at once rather than at the next beat
        periodic_job.apply_async(args=[name], expires=300)
    return handled


@app.task(name="gamification.events_apply_queued", acks_late=True, ignore_result=True)
def events_apply_queued() -> int:
    """Queued events wait (signalled after a 202's commit): ``queued_events_drain`` applies them.
    Redelivered after a crash, it applies whatever is still waiting; a chunk is applied and
    removed in one transaction, so nothing is applied twice."""
    from gamification.services.event_queue import queued_events_drain

    handled, more = queued_events_drain(seconds=DRAIN_SECONDS)
    if more:  # a long backlog: a fresh task goes on, so that other tasks get their turn
        events_apply_queued.apply_async(expires=600)
    return handled


@app.task(name="gamification.task_run_execute", acks_late=True, ignore_result=True)
def task_run_execute(task_run_id: int) -> bool:
    """A task run staff started in the admin; redelivered while it runs elsewhere, it does nothing."""
    from gamification.services.task_runs import task_run_execute as execute

    return execute(task_run_id=task_run_id)
