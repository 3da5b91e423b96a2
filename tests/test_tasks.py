"""Celery (SPEC §15): with ``CELERY_BROKER_URL`` set, a delivery is handed to a real broker
right after its commit and a real Celery worker (in a thread) sends it; a broker that cannot be
reached never holds a request; beat's schedule is the worker's."""

import contextlib
import socket
import time
import uuid

import pytest
from django.db import transaction

from gamification.models import WebhookDelivery
from gamification.services import webhook_delivery
from gamification.services.friends import friend_request_send
from gamification.services.webhooks import webhook_endpoint_put
from gamification.worker import PERIODIC_JOBS, celery_interval
from tests.factories import UserFactory
from tests.webhook_receivers import Receiver, closed_port_url
from zeeguu_site.celery import app

SECRET = "celery-test-secret-0123456789"
BROKERS = {
    "redis": ("redis://127.0.0.1:6379/14", 6379),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
}


def reset_broker_connections() -> None:
    """Forget the previous broker and queue: kombu's connection pools, the app's pool and its
    AMQP helper (which caches the queues and the producer pool), so that the next publish and
    the next worker use the configuration now set."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.__dict__.pop("amqp", None)


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def broker(request, settings):
    """The app pointed at a real broker, on a queue of this test's own (parallel runs on the
    shared servers never take each other's messages)."""
    url, port = BROKERS[request.param]
    if not reachable(port):
        pytest.skip(f"no {request.param} broker on 127.0.0.1:{port}")
    queue = f"test-webhooks-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("broker_url", "task_default_queue", "broker_heartbeat")}
    # No AMQP heartbeats: the embedded worker would wait for its heartbeat thread (10 s) to stop.
    app.conf.update(broker_url=url, task_default_queue=queue, broker_heartbeat=0)
    settings.CELERY_BROKER_URL = url
    webhook_delivery._breaker.paused_until = 0.0
    reset_broker_connections()
    yield url
    with app.connection_for_write() as connection, contextlib.suppress(Exception):  # already gone is fine
        connection.default_channel.queue_delete(queue)
    reset_broker_connections()
    app.conf.update(saved)


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"], indirect=True)
def test_a_delivery_handed_to_celery_arrives(broker):
    from celery.contrib.testing.worker import start_worker

    with Receiver(SECRET) as receiver:
        webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["friend_request.created"])
        alice = UserFactory(username="alice")
        UserFactory(username="bob")
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            friend_request_send(sender=alice, receiver_username="bob")  # commits: handed to the broker
            assert wait_for(lambda: len(receiver.received) == 1)

    (got,) = receiver.received
    assert got.signature_valid
    assert got.json["type"] == "friend_request.created"
    assert got.json["data"]["receiver"] == {"username": "bob", "external_id": None}
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", timeout=5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_nothing_is_handed_over_for_a_rolled_back_change(broker):
    from celery.contrib.testing.worker import start_worker

    with Receiver(SECRET) as receiver:
        webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["friend_request.created"])
        alice = UserFactory(username="alice")
        UserFactory(username="bob")
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            with pytest.raises(RuntimeError), transaction.atomic():
                friend_request_send(sender=alice, receiver_username="bob")
                raise RuntimeError("rolled back")
            time.sleep(1.0)
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_broker_costs_a_request_little_and_once(settings, caplog, django_capture_on_commit_callbacks):
    url = closed_port_url().replace("http://", "redis://").removesuffix("/hook") + "/0"
    saved = app.conf.broker_url
    app.conf.broker_url = url
    reset_broker_connections()
    settings.CELERY_BROKER_URL = url
    webhook_delivery._breaker.paused_until = 0.0
    try:
        webhook_endpoint_put(url="https://hooks.example.org/", secret=SECRET, event_types=["friend_request.created"])
        users = [UserFactory() for _ in range(4)]
        timings = []
        for sender in users[1:]:
            started = time.monotonic()
            with django_capture_on_commit_callbacks(execute=True) as callbacks:  # as the commit runs them
                friend_request_send(sender=sender, receiver_username=users[0].username)
            timings.append(time.monotonic() - started)
            assert len(callbacks) == 1
    finally:
        app.conf.broker_url = saved
        reset_broker_connections()
    assert timings[0] < 3.0  # one bounded failure
    assert max(timings[1:]) < 0.5  # then the broker is left alone for a while
    assert WebhookDelivery.objects.count() == 3  # the outbox has them for the sweep
    assert sum("Could not hand webhook deliveries" in r.getMessage() for r in caplog.records) == 1


def test_beat_runs_the_worker_schedule():
    app.finalize()
    from gamification.tasks import periodic_job

    scheduled = {entry["args"][0]: entry for entry in app.conf.beat_schedule.values()}
    assert set(scheduled) == {job.name for job in PERIODIC_JOBS}
    for job in PERIODIC_JOBS:
        entry = scheduled[job.name]
        assert entry["task"] == periodic_job.name
        assert entry["schedule"] == celery_interval(job)
