"""Signalling the workers of queued ingestion (gamification.services.event_queue):

- inside a request, once the 202 has been sent (the publish costs a millisecond and a round trip
  that the answer need not wait for); outside a request, at the commit;
- with a shared Redis, coalesced: a batch publishes only when no signalled worker is still
  to look, and a worker that releases the signal looks once more, so a batch whose publisher
  found the signal pending is applied all the same.
"""

import uuid

import pytest

from gamification import tasks
from gamification.models import QueuedEventBatch
from gamification.services import event_queue
from gamification.views.events import EventsView
from tests.api.test_events_api import metric, post, word
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.servers import free_port
from tests.test_tasks import reachable

ASYNC = {"HTTP_PREFER": "respond-async"}
REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture(autouse=True)
def _breakers_closed():
    event_queue._breaker.paused_until = 0.0
    event_queue._signal_breaker.paused_until = 0.0
    yield
    event_queue._signal_breaker.paused_until = 0.0


@pytest.fixture
def calls(settings, monkeypatch):
    """What reached the broker: the publish itself is recorded, never sent."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # never reached
    recorded: list[str] = []
    monkeypatch.setattr(tasks.events_apply_queued, "apply_async", lambda **kwargs: recorded.append("publish"))
    return recorded


@pytest.fixture
def shared_redis(settings, monkeypatch):
    """A real Redis for the signal key, under a key of this test's own."""
    if not reachable(6379):
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = REDIS
    key = f"test-signal-pending-{uuid.uuid4().hex}"
    monkeypatch.setattr(event_queue, "_signal_key", lambda: key)
    yield key
    event_queue._signal_redis().delete(key)


def queue_one(learner, word_text: str) -> None:
    event = {"type": "word_translated", "word": word_text, "language": "de", "occurred_at": learner.created_at}
    event_queue.events_enqueue(reporter=learner, events=[event])


# After the response ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_inside_a_request_the_broker_is_signalled_once_after_the_response(calls, monkeypatch):
    queue = EventsView._queue

    def queue_and_note(self, request, events):
        response = queue(self, request, events)
        calls.append("response")
        return response

    monkeypatch.setattr(EventsView, "_queue", queue_and_note)
    client = client_for(UserFactory())
    assert post(client, {"events": [word("a"), word("b")]}, **ASYNC).status_code == 202
    assert calls == ["response", "publish"]
    assert post(client, word("c"), **ASYNC).status_code == 202
    assert calls == ["response", "publish", "response", "publish"]


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_request_signals_nothing(calls):
    client = client_for(UserFactory())
    assert post(client, word("a")).status_code == 201
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_request_the_broker_is_signalled_at_the_commit(calls):
    queue_one(UserFactory(), "x")
    assert calls == ["publish"]


# Coalesced with a shared Redis -----------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_batches_queued_while_a_signal_is_pending_publish_nothing_more(calls, shared_redis):
    client = client_for(UserFactory())
    for text in ("a", "b", "c"):
        assert post(client, word(text), **ASYNC).status_code == 202
    assert calls == ["publish"]
    event_queue.signal_release()  # what a worker does before its last look
    assert post(client, word("d"), **ASYNC).status_code == 202
    assert calls == ["publish", "publish"]


@pytest.mark.django_db(transaction=True)
def test_the_task_applies_a_batch_whose_publisher_found_the_signal_pending(calls, shared_redis, monkeypatch):
    learner = UserFactory()
    queue_one(learner, "first")  # publishes: the signal is now pending
    assert calls == ["publish"]
    apply = event_queue.queued_events_apply
    looks: list[int] = []

    def apply_then_queue_another(**kwargs):
        taken = apply(**kwargs)
        looks.append(taken)
        if len(looks) == 1:  # the worker found no full chunk; a request queues one more batch now
            queue_one(learner, "late")
        return taken

    monkeypatch.setattr(event_queue, "queued_events_apply", apply_then_queue_another)
    tasks.events_apply_queued()  # the signalled worker
    assert calls == ["publish"]  # the late batch found the signal pending and did not publish
    assert looks == [1, 1, 0, 0]  # the first batch; the last look: the late one; then once more, nothing
    assert not QueuedEventBatch.objects.exists()
    assert metric(learner, "TRANSLATED_WORDS") == 2
    queue_one(learner, "next")  # released: the next batch signals again
    assert calls == ["publish", "publish"]


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_every_batch_publishes(calls, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    learner = UserFactory()
    queue_one(learner, "a")
    queue_one(learner, "b")
    assert calls == ["publish", "publish"]
    assert event_queue._signal_breaker.paused_until > 0  # tried once, then left alone


@pytest.mark.django_db(transaction=True)
def test_a_failed_publish_releases_the_signal(settings, shared_redis, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"

    def refuse(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.events_apply_queued, "apply_async", refuse)
    queue_one(UserFactory(), "a")
    assert event_queue._breaker.paused_until > 0
    assert not event_queue._signal_redis().exists(shared_redis)  # the next batch may signal


@pytest.mark.django_db(transaction=True)
def test_a_drain_out_of_time_releases_the_signal_and_says_more_may_wait(calls, shared_redis, settings):
    settings.QUEUED_EVENTS_APPLY_BATCHES = 1
    learner = UserFactory()
    for text in ("a", "b", "c"):
        queue_one(learner, text)
    assert calls == ["publish"]
    assert event_queue.queued_events_drain(seconds=-1.0) == (1, True)  # one full chunk, then time is up
    assert QueuedEventBatch.objects.count() == 2
    assert not event_queue._signal_redis().exists(shared_redis)
    assert event_queue.queued_events_drain(seconds=60.0) == (2, False)
    assert not QueuedEventBatch.objects.exists()
