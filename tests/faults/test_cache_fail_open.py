"""``gamification.cache.FailOpenRedisCache`` against a private Redis, a closed port and a port
that never answers (SPEC §14: Redis unreachable → caches miss, limits fail open, one warning a
minute)."""

import logging
import time

import pytest
from redis.exceptions import ResponseError

from gamification import cache as fail_open
from gamification.cache import RETRY_INTERVAL, WARNING_INTERVAL, FailOpenRedisCache
from tests.servers import SilentListener, free_port

pytestmark = pytest.mark.servers

TIMEOUT = 0.2


def backend(location: str) -> FailOpenRedisCache:
    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    return FailOpenRedisCache(location, {"OPTIONS": options, "KEY_PREFIX": "tests"})


@pytest.fixture
def clock(monkeypatch):
    """The backend's clock, moved by the test."""
    now = {"t": 1000.0}
    monkeypatch.setattr(fail_open, "_clock", lambda: now["t"])
    return now


@pytest.fixture
def redis_cache(redis_server):
    cache = backend(redis_server.url(3))
    cache.clear()
    return cache


def test_with_redis_up_it_is_the_redis_cache(redis_cache):
    redis_cache.set("a", {"x": 1})
    assert redis_cache.get("a") == {"x": 1}
    assert redis_cache.add("a", 2) is False and redis_cache.add("b", 2) is True
    assert redis_cache.incr("b", 3) == 5
    assert redis_cache.get_many(["a", "b", "c"]) == {"a": {"x": 1}, "b": 5}
    assert redis_cache.set_many({"c": 1, "d": 2}) == []
    assert redis_cache.has_key("c") and redis_cache.touch("c", 10) and redis_cache.delete("c")
    assert redis_cache.get("c", "missing") == "missing"


def test_with_redis_up_a_wrong_call_still_raises(redis_cache):
    with pytest.raises(ValueError, match="not found"):
        redis_cache.incr("never-set")
    redis_cache._cache.get_client(write=True).lpush(redis_cache.make_key("list"), "x")
    with pytest.raises(ResponseError):
        redis_cache.incr("list")


def test_unreachable_answers_as_an_empty_cache():
    cache = backend(f"redis://127.0.0.1:{free_port()}/0")
    assert cache.get("a") is None and cache.get("a", 7) == 7
    assert cache.add("a", 1) is False
    assert cache.set("a", 1) is None
    assert cache.incr("counter", 4) == 4  # a counted limit allows
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # Django's "not stored" list
    assert cache.has_key("a") is False and cache.touch("a") is False and cache.delete("a") is False
    assert cache.delete_many(["a"]) is None and cache.clear() is False
    assert cache.get_or_set("a", 9) == 9


def test_unreachable_warns_once_a_minute_with_the_number_of_failures(clock, caplog):
    cache = backend(f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.INFO, logger="gamification.cache")
    # 100 calls over 59 s: every other one tries Redis (the retry interval), all are answered without it
    for _ in range(100):
        cache.get("k")
        clock["t"] += 0.59
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis cache unreachable (ConnectionError" in warnings[0].getMessage()
    assert "(1 call answered without it since the last warning" in warnings[0].getMessage()

    clock["t"] += WARNING_INTERVAL - 0.59 * 100 + 1
    cache.get("k")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "(100 calls answered without it since the last warning" in warnings[1].getMessage()


def test_hung_redis_costs_one_timeout_per_retry_interval():
    with SilentListener() as silent:
        cache = backend(f"redis://127.0.0.1:{silent.port}/0")
        started = time.monotonic()
        assert cache.get("k", "default") == "default"
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(50):
            assert cache.get("k", "default") == "default"
            cache.set("k", 1)
        rest = time.monotonic() - started
    assert first < TIMEOUT + 0.3
    assert rest < 0.1  # within the retry interval nothing waits on the socket


def test_redis_back_is_used_again_after_the_retry_interval(redis_cache, redis_server, redis_restored, caplog):
    caplog.set_level(logging.INFO, logger="gamification.cache")
    redis_cache.set("k", "before")
    redis_server.stop()
    assert redis_cache.get("k", "missed") == "missed"
    redis_cache.set("k", "lost")
    redis_server.start()
    time.sleep(RETRY_INTERVAL + 0.05)
    assert redis_cache.get("k", "empty") == "empty"  # Redis keeps nothing across a restart
    redis_cache.set("k", "after")
    assert redis_cache.get("k") == "after"
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Redis cache unreachable") for m in messages)
    assert messages[-1] == "Redis cache reachable again"
