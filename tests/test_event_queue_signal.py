"""Queued ingestion signals the broker once the 202 has been sent (the publish costs about a
millisecond and a round trip that the answer need not wait for); outside a request, at once."""

import pytest

from gamification.services import event_queue
from gamification.views.events import EventsView
from tests.api.test_events_api import post, word
from tests.conftest import client_for
from tests.factories import UserFactory

ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture
def calls(settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # never reached: the publish is recorded
    recorded: list[str] = []
    monkeypatch.setattr(event_queue, "_publish", lambda: recorded.append("publish"))
    return recorded


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
    learner = UserFactory()
    event_queue.events_enqueue(
        reporter=learner,
        events=[{"type": "word_translated", "word": "x", "language": "de", "occurred_at": learner.created_at}],
    )
    assert calls == ["publish"]
