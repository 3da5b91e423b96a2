"""The worker (SPEC §15): the schedule's loop in a thread, and ``manage.py run_worker`` as a real
process that delivers from the database alone and stops on SIGTERM/SIGINT."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from gamification.models import WebhookDelivery
from gamification.services.webhooks import webhook_endpoint_put, webhook_events_enqueue
from gamification.worker import PERIODIC_JOBS, PeriodicJob, Worker
from tests.webhook_receivers import Receiver

ROOT = Path(__file__).resolve().parent.parent
SECRET = "worker-test-secret-0123456789"
calls: list[str] = []


def counting_job() -> int:
    calls.append("count")
    return 0


def failing_job() -> int:
    calls.append("fail")
    raise RuntimeError("boom")


def full_batch_job() -> int:
    calls.append("batch")
    return 5 if len([c for c in calls if c == "batch"]) < 3 else 0


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db
class TestLoop:
    def setup_method(self) -> None:
        calls.clear()

    def test_a_failing_job_is_logged_and_the_others_go_on(self, caplog):
        worker = Worker(
            (
                PeriodicJob("fail", "tests.test_worker:failing_job", lambda: 60),
                PeriodicJob("count", "tests.test_worker:counting_job", lambda: 60),
            )
        )
        worker.run_once()
        assert calls == ["fail", "count"]
        assert "worker job fail failed (1 in a row)" in caplog.text

    def test_a_job_that_handled_a_full_batch_runs_again_at_once(self):
        clock = [0.0]
        worker = Worker(
            (PeriodicJob("batch", "tests.test_worker:full_batch_job", lambda: 60, lambda: 5),), clock=lambda: clock[0]
        )
        assert worker.run_once() == 0  # a full batch: due again now
        assert worker.run_once() == 0
        assert worker.run_once() == 60  # a short batch: back to its interval
        assert calls == ["batch"] * 3

    def test_stop_ends_run_forever(self):
        worker = Worker((PeriodicJob("count", "tests.test_worker:counting_job", lambda: 0.05),))
        thread = threading.Thread(target=worker.run_forever)
        thread.start()
        assert wait_for(lambda: len(calls) >= 3, timeout=5)
        worker.stop()
        thread.join(5)
        assert not thread.is_alive()

    @pytest.mark.django_db(transaction=True)
    def test_the_schedule_delivers_what_a_commit_wrote(self, settings):
        settings.WORKER_POLL_SECONDS = 0.05
        worker = Worker(PERIODIC_JOBS)
        thread = threading.Thread(target=lambda: (worker.run_forever(), connection.close()))
        with Receiver(SECRET) as receiver:
            webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["user.deleted"])
            thread.start()
            try:
                # autocommit, while the worker's thread polls the same database
                _beside_sqlite_shared_cache(
                    lambda: webhook_events_enqueue(event_type="user.deleted", data={"external_id": "e-1"})
                )
                assert wait_for(lambda: len(receiver.received) == 1, timeout=10)
            finally:
                worker.stop()
                thread.join(10)
        assert receiver.received[0].json["data"] == {"external_id": "e-1"}
        assert wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", timeout=5)


def _beside_sqlite_shared_cache(write, attempts: int = 50):
    """Run ``write`` beside another thread's queries. The SQLite test database lives in memory
    with a shared cache, where a table another connection is reading is "locked" at once,
    without the busy timeout a database file has (as `make run` and production use): retry that
    error alone, briefly."""
    from django.db import OperationalError

    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as error:
            if connection.vendor != "sqlite" or "table is locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.02)


def _run_worker_process(database: Path, **env: str) -> subprocess.Popen:
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DEBUG", "CELERY_BROKER_URL"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="zeeguu_site.settings",
        SECRET_KEY="worker-process-test-key",
        SQLITE_PATH=str(database),
        WORKER_POLL_SECONDS="0.2",
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _copy_test_database(path: Path) -> None:
    """The test database (schema, reference data, this test's committed rows) as a file the
    worker process can open."""
    connection.ensure_connection()
    with sqlite3.connect(path) as target:
        connection.connection.backup(target)


needs_sqlite = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("mysql"), reason="a process on a copy of the SQLite test database"
)


@needs_sqlite
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_worker_delivers_on_the_database_alone_and_stops_on_a_signal(tmp_path, stop_signal):
    database = tmp_path / "worker.sqlite3"
    with Receiver(SECRET) as receiver:
        webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["user.deleted"])
        webhook_events_enqueue(event_type="user.deleted", data={"external_id": "from-the-outbox"})
        _copy_test_database(database)

        process = _run_worker_process(database)
        try:
            arrived = wait_for(lambda: len(receiver.received) == 1, timeout=30)
        finally:
            process.send_signal(stop_signal)
            try:
                _, stderr = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
    assert arrived, stderr
    assert process.returncode == 0, stderr
    assert "worker started" in stderr and "worker stopped" in stderr
    assert "attempt 1 200" in stderr  # one log line per attempt
    assert receiver.received[0].signature_valid
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT status, attempts FROM gamification_webhookdelivery").fetchall() == [("delivered", 1)]
