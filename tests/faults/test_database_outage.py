"""SPEC §14 with a real database that dies: the app under gunicorn, its private MariaDB killed
under load and started again. Every answer is a 2xx or a JSON 503 with Retry-After, the probes
say what is down, the workers recover by themselves, and nothing is half-written."""

import re
import time

import pytest

from tests.faults.conftest import DATABASE
from tests.servers import Traffic, http, logged_keys, manage, metric_values

pytestmark = pytest.mark.servers

OUTAGE_SECONDS = 3
RECOVERY_BOUND = 5.0  # seconds from "the database accepts connections" to the first 2xx


def wait_for(predicate, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_database_killed_under_load_answers_json_503_then_recovers_with_nothing_half_written(
    app, mariadb, mariadb_restored
):
    # Given traffic that succeeds
    master_pid = app.server.process.pid
    traffic = Traffic(app.base_url, app.tokens, readers=4, writers=2, run_id="outage")
    traffic.start()
    try:
        wait_for(lambda: sum(o.status == 201 for o in traffic.outcomes) >= 5, seconds=10, what="events accepted")

        # When the database dies (SIGKILL: a crash, uncommitted transactions lost with it)
        stopped_at = time.monotonic()
        mariadb.stop(kill=True)
        wait_for(
            lambda: any(o.status == 503 and o.at > stopped_at for o in traffic.outcomes), seconds=5, what="first 503"
        )
        # Then the probes tell liveness from readiness, quickly
        healthz = http(app.base_url, "GET", "/healthz")
        readyz = http(app.base_url, "GET", "/readyz")
        assert healthz.status == 200 and healthz.json() == {"status": "ok"}
        assert readyz.status == 503, readyz.body
        assert readyz.json() == {"status": "unavailable", "checks": {"database": "down", "cache": "ok"}}
        assert readyz.headers["retry-after"].isdigit()
        assert readyz.seconds < 3
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))

        # When it comes back (same port, same data; gunicorn untouched)
        mariadb.start()
        back_at = time.monotonic()
        first_success = wait_for(
            lambda: next((o for o in traffic.outcomes if o.at > back_at and 200 <= o.status < 300), None),
            seconds=15,
            what="a 2xx after the database came back",
        )
        time.sleep(1)
    finally:
        traffic.stop()

    # Then: no 500, no HTML, no dropped connection; every 503 is JSON with Retry-After
    statuses = {o.status for o in traffic.outcomes}
    assert statuses <= {200, 201, 503}, sorted(statuses)
    unavailable = [o for o in traffic.outcomes if o.status == 503]
    assert len(unavailable) >= 10, "the outage produced too few requests to prove anything"
    assert any(o.method == "GET" for o in unavailable) and any(o.method == "POST" for o in unavailable)
    assert all(o.is_json and o.retry_after and o.retry_after.isdigit() for o in unavailable)
    assert all(o.at > stopped_at for o in unavailable)
    # recovery without a restart: the same gunicorn master, no worker replaced or timed out
    assert first_success.at - back_at < RECOVERY_BOUND
    assert app.server.running and app.server.process.pid == master_pid
    log = "\n".join(app.server.log_lines())
    assert "WORKER TIMEOUT" not in log and "Internal Server Error" not in log
    # no traceback: neither for the 503s nor for the failed readiness check (one line)
    assert "Traceback" not in log, log[-3000:]
    assert "Health check Database(alias='default') failed: Unavailable: (" in log
    assert http(app.base_url, "GET", "/readyz").status == 200

    # Nothing half-written: every batch ended with a 201 (retried with its keys), each key is in
    # the log exactly once, and metrics equal what rebuild_metrics derives from the log.
    assert traffic.batches and all(batch.statuses[-1] == 201 for batch in traffic.batches)
    assert any(503 in batch.statuses for batch in traffic.batches), "no write met the outage"
    counts = logged_keys(mariadb, DATABASE)
    sent = {key for batch in traffic.batches for key in batch.keys}
    assert {key: counts.get(key, 0) for key in sent} == dict.fromkeys(sent, 1)

    before = metric_values(mariadb, DATABASE)
    output = manage(app.env, "rebuild_metrics", "--no-progress")
    assert re.search(r": 0 metric values changed, 0 badges awarded", output), output
    assert metric_values(mariadb, DATABASE) == before


def test_database_restarted_between_requests_is_invisible(app, mariadb, mariadb_restored):
    # Given workers holding persistent connections
    token = app.tokens[0]
    for _ in range(4):
        assert http(app.base_url, "GET", "/api/me/", token=token).status == 200
    # When the database restarts cleanly between two requests
    mariadb.stop()
    mariadb.start()
    # Then the broken persistent connections are replaced on first use: no request fails
    answers = [http(app.base_url, "GET", "/api/streaks/", token=token) for _ in range(8)]
    assert [a.status for a in answers] == [200] * 8
