"""``GET /healthz`` and ``GET /readyz`` (SPEC §14), in process. The real outages (a killed
MariaDB, a stopped Redis, hung hosts) are in ``tests/faults/``."""

import socket
import threading

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from gamification.views.health import AMQP_PROTOCOL_HEADER

DEAD_REDIS_CACHE = {
    "default": {
        "BACKEND": "gamification.cache.FailOpenRedisCache",
        "LOCATION": "redis://127.0.0.1:{port}/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeAmqpBroker:
    """Answers the AMQP protocol header with the first byte of a method frame, as a broker does."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.sock.accept()
        except OSError:
            return
        with connection:
            if connection.recv(8) == AMQP_PROTOCOL_HEADER:
                connection.sendall(b"\x01\x00\x00")

    def close(self) -> None:
        self.sock.close()


def test_healthz_is_ok_without_any_io(client, monkeypatch):
    # No django_db mark: a query would raise. Any cache call fails the test too.
    def no_cache(*args, **kwargs):
        raise AssertionError("liveness touched the cache")

    for method in ("get", "set", "add", "get_many", "incr"):
        monkeypatch.setattr(cache, method, no_cache)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_login_and_refuses_post_as_json(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_cache_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_names_the_cache_down_without_detail(client):
    port = closed_port()
    caches = {"default": {**DEAD_REDIS_CACHE["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    with override_settings(CACHES=caches):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "cache": "down"}}
    assert response["Retry-After"] == "5"
    assert str(port).encode() not in response.content


@pytest.mark.django_db
def test_readyz_checks_an_amqp_broker_when_one_is_configured(client):
    broker = FakeAmqpBroker()
    try:
        with override_settings(CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{broker.port}//"):
            response = client.get("/readyz")
    finally:
        broker.close()
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_readyz_names_an_unreachable_broker(client, scheme):
    with override_settings(CELERY_BROKER_URL=f"{scheme}://user:hunter2@127.0.0.1:{closed_port()}/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "cache": "ok", "broker": "down"}}
    assert b"hunter2" not in response.content


@pytest.mark.django_db
def test_readyz_refuses_post_as_json(client):
    response = Client().post("/readyz")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
