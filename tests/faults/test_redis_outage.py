"""SPEC §14 with a real Redis that stops: requests are still served, rate limits fail open, one
warning per minute and process at most, and limits hold again once Redis is back."""

import time

import pytest

from gamification.cache import RETRY_INTERVAL
from tests.faults.conftest import SEARCH_LIMIT, WORKERS
from tests.servers import READ_PATHS, http, register_learners

pytestmark = pytest.mark.servers

WARNING = "Redis cache unreachable"


def searches(app, token: str, count: int) -> list[int]:
    return [http(app.base_url, "GET", "/api/users/?search=fault", token=token).status for _ in range(count)]


def test_redis_stopped_requests_are_served_and_limits_fail_open_then_hold_again(app, redis_server, redis_restored):
    before_outage, during_outage, after_outage = register_learners(app.base_url, 3, prefix="redis-outage")
    # Given Redis up: the search limit holds, readiness is ok
    assert searches(app, before_outage, SEARCH_LIMIT + 1) == [200] * SEARCH_LIMIT + [429]
    assert http(app.base_url, "GET", "/readyz").status == 200
    log_start = len(app.server.log_lines())

    # When Redis stops
    redis_server.stop()
    # Then reads, events and searches past the limit are all served, without delay
    answers = []
    for round_ in range(12):
        for path in READ_PATHS:
            answers.append(http(app.base_url, "GET", path, token=app.tokens[round_ % len(app.tokens)]))
        answers.append(
            http(
                app.base_url,
                "POST",
                "/api/events/",
                token=app.tokens[0],
                body={"type": "exercise_answered", "correct": True, "language": "de"},
            )
        )
    assert sorted({a.status for a in answers}) == [200, 201]
    assert max(a.seconds for a in answers) < 2.0  # no retries, no backoff: refused at once
    assert searches(app, during_outage, SEARCH_LIMIT + 2) == [200] * (SEARCH_LIMIT + 2)  # fails open
    readyz = http(app.base_url, "GET", "/readyz")
    assert readyz.status == 503
    assert readyz.json() == {"status": "unavailable", "checks": {"database": "ok", "cache": "down"}}
    assert http(app.base_url, "GET", "/healthz").status == 200
    # and the outage is logged once per worker at most (once a minute), not once per request
    warnings = [line for line in app.server.log_lines()[log_start:] if WARNING in line]
    assert 1 <= len(warnings) <= WORKERS, warnings

    # When Redis is back (empty: it keeps nothing)
    redis_server.start()
    time.sleep(RETRY_INTERVAL + 0.1)  # the workers try Redis again at most this long after a failure
    # Then the cache works again: readiness is ok and the limit holds
    assert http(app.base_url, "GET", "/readyz").status == 200
    assert searches(app, after_outage, SEARCH_LIMIT + 1) == [200] * SEARCH_LIMIT + [429]
    assert len([line for line in app.server.log_lines()[log_start:] if WARNING in line]) == len(warnings)
