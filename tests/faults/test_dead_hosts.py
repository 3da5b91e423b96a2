"""SPEC §14: dependencies that hang instead of refusing (a dead host, a full network buffer) cost
bounded time: the probes and the API answer within the configured connect and socket timeouts,
not after the operating system's TCP timeouts (minutes)."""

import pytest

from tests.servers import AppServer, SilentListener, app_environment, http

pytestmark = pytest.mark.servers

CONNECT_TIMEOUT = 1  # DATABASE_CONNECT_TIMEOUT, seconds
REDIS_TIMEOUT = 0.3


@pytest.fixture(scope="module")
def hung_app(servers_dir):
    with SilentListener() as database, SilentListener() as redis, SilentListener() as broker:
        env = app_environment(
            DATABASE_URL=f"mysql://root@127.0.0.1:{database.port}/nothing",
            REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
            CELERY_BROKER_URL=f"amqp://guest:secret@127.0.0.1:{broker.port}//",
            DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
            REDIS_TIMEOUT=str(REDIS_TIMEOUT),
            THROTTLING="on",
        )
        server = AppServer(env, directory=servers_dir, workers=1, name="gunicorn-hung")
        server.start()
        yield server
        server.stop()


def test_liveness_needs_nothing_of_a_hung_database_or_cache(hung_app):
    answer = http(hung_app.base_url, "GET", "/healthz")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})
    assert answer.seconds < 1.0


def test_readiness_names_everything_down_within_its_timeouts_and_no_detail(hung_app):
    answer = http(hung_app.base_url, "GET", "/readyz")
    assert answer.status == 503
    assert answer.json() == {"status": "unavailable", "checks": {"database": "down", "cache": "down", "broker": "down"}}
    assert answer.seconds < CONNECT_TIMEOUT + 1.5
    assert b"127.0.0.1" not in answer.body and b"secret" not in answer.body


def test_api_answers_503_within_the_connect_timeout(hung_app):
    answer = http(hung_app.base_url, "GET", "/api/me/", token="0" * 40)
    assert answer.status == 503 and answer.is_json and "detail" in answer.json()
    assert answer.headers["retry-after"].isdigit()
    assert answer.seconds < CONNECT_TIMEOUT + 1.5
