"""Queued ingestion on Celery with real brokers: a 202 signals a worker that applies the batch;
a worker killed with SIGKILL in the middle of a batch leaves nothing half-applied, and the task
redelivered to a restarted worker applies it exactly once."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from gamification.models import ActivityEvent, QueuedEventBatch, UserMetric
from gamification.services import event_queue
from tests.api.test_events_api import metric, post, word
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.servers import app_environment
from tests.test_tasks import BROKERS, reachable, reset_broker_connections, wait_for
from tests.test_tasks import broker as broker  # the fixture, shared
from zeeguu_site.celery import app

ROOT = Path(__file__).resolve().parent.parent
ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture(autouse=True)
def _breaker_closed():
    event_queue._breaker.paused_until = 0.0
    yield


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"], indirect=True)
def test_a_queued_batch_is_applied_by_a_celery_worker(broker):
    from celery.contrib.testing.worker import start_worker

    learner = UserFactory()
    client = client_for(learner)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        response = post(client, {"events": [word(f"w{i}") for i in range(12)]}, **ASYNC)
        assert response.status_code == 202
        assert wait_for(lambda: not QueuedEventBatch.objects.exists())
    assert ActivityEvent.objects.filter(user=learner).count() == 12
    assert metric(learner, "TRANSLATED_WORDS") == 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_batches_with_coalesced_signals_are_all_applied_by_a_celery_worker(broker, settings, monkeypatch):
    # A shared Redis coalesces the signals (services.event_queue): ten batches queued before
    # any worker looks reach the broker as one task, which applies them all.
    from celery.contrib.testing.worker import start_worker

    from gamification import tasks

    settings.REDIS_URL = "redis://127.0.0.1:6379/13"
    key = f"test-signal-pending-{uuid.uuid4().hex}"
    monkeypatch.setattr(event_queue, "_signal_key", lambda: key)
    sent: list[int] = []
    apply_async = tasks.events_apply_queued.apply_async

    def counted(*args, **kwargs):
        sent.append(1)
        return apply_async(*args, **kwargs)

    monkeypatch.setattr(tasks.events_apply_queued, "apply_async", counted)
    learner = UserFactory()
    client = client_for(learner)
    for i in range(10):
        assert post(client, {"events": [word(f"c{i}-{j}") for j in range(3)]}, **ASYNC).status_code == 202
    assert len(sent) == 1
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        assert wait_for(lambda: not QueuedEventBatch.objects.exists())
    assert ActivityEvent.objects.filter(user=learner).count() == 30
    assert metric(learner, "TRANSLATED_WORDS") == 30
    assert not event_queue._signal_redis().exists(key)  # released: the next batch signals again


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_unreachable_the_202_still_holds_and_the_sweep_applies(settings):
    # A closed port: the publish fails fast, the row is already committed.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    saved = app.conf.broker_url
    app.conf.broker_url = settings.CELERY_BROKER_URL
    reset_broker_connections()
    try:
        learner = UserFactory()
        client = client_for(learner)
        codes = [post(client, {"events": [word(f"b{i}-{j}") for j in range(3)]}, **ASYNC).status_code for i in range(3)]
    finally:
        app.conf.broker_url = saved
        reset_broker_connections()
    assert codes == [202, 202, 202]
    assert QueuedEventBatch.objects.count() == 3
    assert event_queue._breaker.paused_until > 0  # tried once, then left alone

    while event_queue.queued_events_apply_due():  # the sweep (run_worker, or beat once it is back)
        pass
    assert metric(learner, "TRANSLATED_WORDS") == 9


# Kill and redeliver (MariaDB: the worker process connects to this test database) ----------------
VISIBILITY_TIMEOUT = 3  # seconds (Redis): how old an unacknowledged task must be to be handed out again


def _worker_process(*, broker_url: str, queue: str, log: Path) -> subprocess.Popen:
    database = connection.settings_dict
    env = app_environment(
        DATABASE_URL=f"mysql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        LOG_LEVEL="INFO",
    )
    command = [sys.executable, "-m", "celery", "-A", "zeeguu_site", "worker", "--pool", "solo", "--queues", queue]
    command += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _waiting_for_a_lock(database: str) -> int:
    """Connections of this test database blocked on the held metric row (a locking read that has
    run for a second or more; MariaDB may show it in the "Statistics" state, as the optimizer
    reads the row through its unique key)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND COMMAND = 'Query'"
            " AND TIME >= 1 AND INFO LIKE %s",
            [database, "%gamification_usermetric%FOR UPDATE%"],
        )
        return cursor.fetchone()[0]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker_name", ["redis", "rabbitmq"])
def test_a_worker_killed_mid_batch_and_the_task_redelivered_applies_it_exactly_once(broker_name, tmp_path, settings):
    import MySQLdb

    url, port = BROKERS[broker_name]
    if not reachable(port):
        pytest.skip(f"no {broker_name} broker on 127.0.0.1:{port}")
    queue = f"test-queued-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "broker_heartbeat")}
    app.conf.update(broker_url=url, task_default_queue=queue, broker_heartbeat=0)
    settings.CELERY_BROKER_URL = url
    reset_broker_connections()
    database = connection.settings_dict
    workers: list[subprocess.Popen] = []
    locker = MySQLdb.connect(
        host=database["HOST"], port=int(database["PORT"]), user=database["USER"], db=database["NAME"]
    )
    try:
        learner = UserFactory()
        client = client_for(learner)
        assert post(client, word("first")).status_code == 201  # the metric row now exists
        row_id = UserMetric.objects.get(user=learner, activity_type__code="TRANSLATED_WORDS").pk

        # Hold the learner's metric row: the worker's batch transaction will wait on it, midway.
        locker.autocommit(False)
        locker.cursor().execute("SELECT value FROM gamification_usermetric WHERE id = %s FOR UPDATE", [row_id])
        assert post(client, {"events": [word(f"q{i}") for i in range(20)]}, **ASYNC).status_code == 202

        workers.append(_worker_process(broker_url=url, queue=queue, log=tmp_path / "worker1.log"))
        assert wait_for(lambda: _waiting_for_a_lock(database["NAME"]) == 1, timeout=60), (
            tmp_path / "worker1.log"
        ).read_text()
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        locker.rollback()

        # The dead worker's transaction is rolled back: nothing of the batch, the row still queued.
        assert wait_for(lambda: _waiting_for_a_lock(database["NAME"]) == 0, timeout=30)
        time.sleep(0.5)
        assert ActivityEvent.objects.filter(user=learner).count() == 1
        assert QueuedEventBatch.objects.count() == 1

        # No new signal and no beat: only the redelivered task can apply it. Redis hands an
        # unacknowledged task out again once it is older than the visibility timeout (3 s here),
        # checked when a worker starts and then only every 100 s (kombu's restore interval times
        # its throttle): start the second worker once the task is old enough to be restored.
        if broker_name == "redis":
            time.sleep(VISIBILITY_TIMEOUT + 1)
        workers.append(_worker_process(broker_url=url, queue=queue, log=tmp_path / "worker2.log"))
        assert wait_for(lambda: not QueuedEventBatch.objects.exists(), timeout=90), (
            tmp_path / "worker2.log"
        ).read_text()
        time.sleep(1.0)
        assert ActivityEvent.objects.filter(user=learner).count() == 21
        assert metric(learner, "TRANSLATED_WORDS") == 21
    finally:
        locker.close()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        with app.connection_for_write() as broker_connection, contextlib.suppress(Exception):
            broker_connection.default_channel.queue_delete(queue)
        reset_broker_connections()
        app.conf.update(saved)
