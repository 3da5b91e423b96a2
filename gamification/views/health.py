"""Liveness and readiness probes (SPEC §14): ``GET /healthz`` and ``GET /readyz``.

Plain Django views, outside DRF: no login, no session, no throttle. ``/healthz`` does no I/O at
all (the process answers). ``/readyz`` asks the database, the cache and, when
``CELERY_BROKER_URL`` is set, the broker, concurrently, each within a short bound, and says only
``ok`` or ``down`` per dependency: why a check failed (error texts, host names) goes to the log
(logger ``health_check``), never into the answer.

The database and cache checks are django-health-check's (``SELECT 1`` on a connection of its own;
a set and get of a fresh key); the broker check is ours, without a client library for the
broker: a Redis ``PING``, the AMQP protocol header answered by a frame, or a TCP connect.
"""

import asyncio
import dataclasses
import datetime as dt
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable

from gamification.views.errors import RETRY_AFTER_SECONDS

SAFE_METHODS = ("GET", "HEAD")
AMQP_PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
AMQP_METHOD_FRAME = b"\x01"


class _WithoutTraceback(logging.Filter):
    """django-health-check logs each failed check with three chained tracebacks; a probe asked
    every few seconds during an outage would flood the log. Keep one line: what failed, and why."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("health_check").addFilter(_WithoutTraceback())


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


@dataclasses.dataclass
class Broker(HealthCheck):
    """The task queue's broker answers: Redis ``PING``, AMQP's greeting, or (other schemes) a
    TCP connection. ``url`` stays out of the repr: it may hold a password."""

    url: str = dataclasses.field(repr=False, default="")
    timeout: dt.timedelta = dataclasses.field(repr=False, default=_seconds(1))

    def run(self) -> None:
        parts = urlsplit(self.url)
        scheme = parts.scheme.split("+")[0]
        seconds = self.timeout.total_seconds()
        try:
            if scheme in ("redis", "rediss"):
                self._redis_ping(seconds)
            elif parts.hostname:
                default_port = 5671 if scheme == "amqps" else 5672
                with socket.create_connection((parts.hostname, parts.port or default_port), timeout=seconds) as sock:
                    if scheme in ("amqp", "pyamqp", "librabbitmq"):
                        sock.sendall(AMQP_PROTOCOL_HEADER)
                        if sock.recv(1) != AMQP_METHOD_FRAME:
                            raise ServiceUnavailable("no AMQP greeting")
        except OSError as error:
            raise ServiceUnavailable(type(error).__name__) from error

    def _redis_ping(self, seconds: float) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: redis-py's default client retries three times with backoff (~10 s).
        client = redis.Redis.from_url(
            self.url, socket_connect_timeout=seconds, socket_timeout=seconds, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.ping()
        except redis.RedisError as error:
            raise ServiceUnavailable(type(error).__name__) from error
        finally:
            client.close()


def readiness_checks() -> dict[str, HealthCheck]:
    """The dependencies ``/readyz`` asks, by the name it reports them under."""
    database = Database()
    # A dead host fails the connect within DATABASE_CONNECT_TIMEOUT; the bound is a backstop.
    database.timeout = _seconds(settings.DATABASE_CONNECT_TIMEOUT)
    checks: dict[str, HealthCheck] = {
        "database": database,
        "cache": Cache(timeout=_seconds(max(1.0, settings.REDIS_TIMEOUT))),
    }
    if settings.CELERY_BROKER_URL:
        checks["broker"] = Broker(url=settings.CELERY_BROKER_URL, timeout=_seconds(settings.REDIS_TIMEOUT))
    return checks


def _method_not_allowed(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    response["Allow"] = ", ".join(SAFE_METHODS)
    return response


def liveness(request: HttpRequest) -> JsonResponse:
    """``GET /healthz``: the process is up. No database, no cache, nothing else."""
    if request.method not in SAFE_METHODS:
        return _method_not_allowed(request)
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


async def readiness(request: HttpRequest) -> JsonResponse:
    """``GET /readyz``: 200 when every dependency answers, else 503 naming those that do not."""
    if request.method not in SAFE_METHODS:
        return _method_not_allowed(request)
    checks = readiness_checks()
    # An executor of our own, left without waiting: a check past its bound must not hold the
    # answer (its thread ends when its own client timeout fires).
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    try:
        results = await asyncio.gather(*(check.get_result(executor) for check in checks.values()))
    finally:
        executor.shutdown(wait=False)
    states = {name: "down" if result.error else "ok" for name, result in zip(checks, results, strict=True)}
    ready = all(state == "ok" for state in states.values())
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": states}, status=200 if ready else 503
    )
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response
