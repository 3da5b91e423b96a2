"""A Redis cache that fails open (SPEC §14): with Redis unreachable, requests are still served.

``FailOpenRedisCache`` is Django's ``RedisCache`` whose every operation, when Redis cannot be
reached or does not answer within its socket timeouts, answers as an empty cache would: ``get``
the default, ``add`` False, ``set`` nothing, ``get_many`` nothing, ``incr`` the delta (a counter
starting afresh), ``set_many`` every key as not stored. Throttles keep their history in the cache,
so their limits fail open too: DRF's throttles find no history and allow the request.

After a failure the backend does not try Redis again for ``RETRY_INTERVAL`` seconds, so that a
Redis host that swallows packets costs one socket timeout per interval and process, not one per
cache call. Failures are logged as one warning per ``WARNING_INTERVAL`` seconds and process (with
the number of calls answered without Redis since the last one); the first success afterwards is
logged once (info).

Only connection errors and timeouts are absorbed: a wrong command or a bad value still raises.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("gamification.cache")

T = TypeVar("T")
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
RETRY_INTERVAL = 1.0
WARNING_INTERVAL = 60.0
_clock = time.monotonic  # tests move it forward


class _Outage:
    """Per process and Redis location: whether Redis is considered down, and when the last
    warning was logged. Shared by the threads of a process (Django makes a backend per thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0
        self.warned_at: float | None = None
        self.calls_since_warning = 0

    def skipping(self) -> bool:
        if not (self.down and _clock() < self.retry_at):
            return False
        with self.lock:
            self.calls_since_warning += 1
        return True

    def failed(self, location: str, error: Exception) -> None:
        now = _clock()
        with self.lock:
            self.down = True
            self.retry_at = now + RETRY_INTERVAL
            self.calls_since_warning += 1
            if self.warned_at is not None and now - self.warned_at < WARNING_INTERVAL:
                return
            calls, self.calls_since_warning = self.calls_since_warning, 0
            self.warned_at = now
        logger.warning(
            "Redis cache unreachable (%s: %s): serving without it, caches miss and rate limits fail open "
            "(%d call%s answered without it since the last warning; next warning in %d s at the earliest)",
            type(error).__name__,
            error,
            calls,
            "" if calls == 1 else "s",
            WARNING_INTERVAL,
            extra={"cache_location": location},
        )

    def succeeded(self, location: str) -> None:
        with self.lock:
            if not self.down:
                return
            self.down = False
        logger.info("Redis cache reachable again", extra={"cache_location": location})


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(self._location)

    def _guarded(self, call: Callable[[], T], fallback: T) -> T:
        if self._outage.skipping():
            return fallback
        try:
            result = call()
        except UNREACHABLE as error:
            self._outage.failed(self._location, error)
            return fallback
        if self._outage.down:
            self._outage.succeeded(self._location)
        return result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._guarded(lambda: RedisCache.add(self, key, value, timeout, version), False)

    def get(self, key, default=None, version=None) -> Any:
        return self._guarded(lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self._guarded(lambda: RedisCache.set(self, key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._guarded(lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key, version=None) -> bool:
        return self._guarded(lambda: RedisCache.delete(self, key, version), False)

    def get_many(self, keys, version=None) -> dict:
        return self._guarded(lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key, version=None) -> bool:
        return self._guarded(lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key, delta=1, version=None) -> int:
        # Unreachable: as if the counter had just been created (a limit counted by incr allows).
        return self._guarded(lambda: RedisCache.incr(self, key, delta, version), delta)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        return self._guarded(lambda: RedisCache.set_many(self, data, timeout, version), list(data))

    def delete_many(self, keys, version=None) -> None:
        self._guarded(lambda: RedisCache.delete_many(self, keys, version), None)

    def clear(self) -> bool:
        return self._guarded(lambda: RedisCache.clear(self), False)
