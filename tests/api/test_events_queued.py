"""Queued ingestion (``Prefer: respond-async``): 202 after the same validation as the
synchronous path, a queue row with keys, applied by the database-backed worker through the same
service (metrics, unseen badges, the badge.awarded outbox), exactly once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gamification.models import ActivityEvent, QueuedEventBatch, User, UserBadge, WebhookDelivery
from gamification.services.event_queue import queued_events_apply
from gamification.services.webhooks import webhook_endpoint_put
from gamification.worker import PERIODIC_JOBS, Worker
from tests.api.test_events_api import metric, post, practice, service_account, word
from tests.conftest import client_for, is_mariadb
from tests.factories import UserFactory
from tests.threads import run_in_threads

ASYNC = {"HTTP_PREFER": "respond-async"}


def words(n: int, prefix: str = "w") -> dict:
    return {"events": [word(f"{prefix}{i}") for i in range(n)]}


def drain() -> int:
    """What run_worker does: its schedule's jobs, until nothing is waiting."""
    worker = Worker(tuple(job for job in PERIODIC_JOBS if job.name == "events.apply_queued"))
    rounds = 0
    while QueuedEventBatch.objects.exists():
        worker.run_once()
        rounds += 1
        assert rounds < 100
    return rounds


@pytest.mark.django_db
class TestQueuing:
    def test_a_batch_is_answered_202_and_queued_not_recorded(self, user, auth_client):
        response = post(auth_client, words(3), **ASYNC)

        assert response.status_code == 202
        assert response.json() == {"queued": 3}
        assert response["Preference-Applied"] == "respond-async"
        assert not ActivityEvent.objects.exists()
        batch = QueuedEventBatch.objects.get()
        assert (batch.reporter, batch.event_count) == (user, 3)

    def test_every_event_gets_an_idempotency_key_at_enqueue_and_sent_keys_are_kept(self, auth_client):
        post(auth_client, {"events": [word("a", idempotency_key="mine"), word("b"), word("c")]}, **ASYNC)

        keys = [event["idempotency_key"] for event in QueuedEventBatch.objects.get().events]
        assert keys[0] == "mine"
        assert all(key.startswith("q:") for key in keys[1:]) and len(set(keys)) == 3

    @pytest.mark.parametrize(
        "prefer", ["respond-async", "RESPOND-ASYNC", "wait=10, respond-async", "respond-async; x=1"]
    )
    def test_prefer_header_forms(self, auth_client, prefer):
        assert post(auth_client, word(), HTTP_PREFER=prefer).status_code == 202

    @pytest.mark.parametrize("prefer", ["", "return=minimal", "respond-asynchronously"])
    def test_without_the_preference_the_answer_is_the_synchronous_201(self, auth_client, prefer):
        response = post(auth_client, word(), HTTP_PREFER=prefer)
        assert response.status_code == 201
        assert "Preference-Applied" not in response
        assert not QueuedEventBatch.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [
            {"events": [word(), {"type": "practice", "kind": "reading", "duration_seconds": 0, "language": "de"}]},
            {"type": "practice", "kind": "reading", "duration_seconds": 0, "language": "de"},
            {"events": [word(occurred_at="2025-03-10T10:00:00")]},
            {"events": []},
            {"events": [word(f"w{i}") for i in range(501)]},
            {"events": [word(language="xx")]},
            [word()],
        ],
    )
    def test_invalid_input_gets_the_same_400_and_nothing_is_queued(self, auth_client, body):
        queued = post(auth_client, body, **ASYNC)
        synchronous = post(auth_client, body)

        assert queued.status_code == synchronous.status_code == 400
        assert queued.json() == synchronous.json()
        assert not QueuedEventBatch.objects.exists() and not ActivityEvent.objects.exists()

    def test_naming_another_user_without_the_permission_is_403_and_nothing_is_queued(self, auth_client):
        UserFactory(username="bob")
        response = post(auth_client, word(user="bob"), **ASYNC)
        assert response.status_code == 403
        assert not QueuedEventBatch.objects.exists()

    def test_anonymous_is_401(self, api_client):
        assert post(api_client, word(), **ASYNC).status_code == 401

    def test_queuing_costs_the_same_queries_for_1_and_500_events(self, user, auth_client):
        post(auth_client, word("warm"), **ASYNC)
        with CaptureQueriesContext(connection) as one:
            post(auth_client, word("x"), **ASYNC)
        with CaptureQueriesContext(connection) as many:
            post(auth_client, words(500), **ASYNC)
        assert len(many) == len(one)


@pytest.mark.django_db
class TestApplyingOnTheDatabase:
    def test_run_worker_applies_queued_events_as_the_synchronous_path_would(self, user, auth_client):
        twin = UserFactory()
        twin_client = client_for(twin)
        body = {"events": [*[word(f"w{i}") for i in range(12)], word("w1"), practice()]}

        post(auth_client, body, **ASYNC)
        synchronous = post(twin_client, body).json()
        drain()

        assert not QueuedEventBatch.objects.exists()
        assert ActivityEvent.objects.filter(user=user).count() == ActivityEvent.objects.filter(user=twin).count() == 14
        for code in ("TRANSLATED_WORDS", "STREAK_DAYS"):
            assert metric(user, code) == metric(twin, code)
        assert metric(user, "TRANSLATED_WORDS") == 12
        # The new badge reaches the learner as unseen, as it would have in new_badges.
        assert len(synchronous["new_badges"]) == UserBadge.objects.filter(user=user, seen_at__isnull=True).count() >= 1
        unseen = client_for(user).get("/api/badges/unseen-count/")
        assert unseen.status_code == 200
        assert unseen.json() == client_for(twin).get("/api/badges/unseen-count/").json()

    def test_a_new_badge_from_a_queued_event_is_announced_by_webhook(self, user, auth_client):
        webhook_endpoint_put(url="https://hooks.example.org/", secret="s" * 24, event_types=["badge.awarded"])
        post(auth_client, words(10), **ASYNC)
        assert not WebhookDelivery.objects.exists()

        drain()

        (delivery,) = WebhookDelivery.objects.filter(event_type="badge.awarded")
        assert delivery.data["user"]["username"] == user.username
        assert delivery.data["badge"]["code"] == "TRANSLATED_WORDS"

    def test_applying_the_same_events_twice_changes_nothing(self, user, auth_client):
        post(auth_client, words(5), **ASYNC)
        copy = QueuedEventBatch.objects.get()
        drain()
        # The same batch back in the queue (a restored backup, a hand re-queue): its keys hold.
        QueuedEventBatch.objects.create(reporter=user, events=copy.events, event_count=copy.event_count)
        drain()

        assert ActivityEvent.objects.filter(user=user).count() == 5
        assert metric(user, "TRANSLATED_WORDS") == 5

    def test_a_service_accounts_batch_is_applied_for_the_named_users(self):
        account = service_account()
        alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
        body = {"events": [word("a", user="alice"), word("b", user="bob"), word("c", user="bob")]}
        assert post(client_for(account), body, **ASYNC).status_code == 202

        drain()

        assert (metric(alice, "TRANSLATED_WORDS"), metric(bob, "TRANSLATED_WORDS")) == (1, 2)
        assert set(ActivityEvent.objects.values_list("reported_by", flat=True)) == {account.pk}

    def test_events_naming_learners_by_external_id_are_applied_for_them(self):
        account = service_account()
        alice = UserFactory(username="alice")
        User.objects.filter(pk=alice.pk).update(external_id="zeeguu-7")
        body = {"events": [word("a", external_user_id="zeeguu-7"), word("b", external_user_id="zeeguu-7")]}
        assert post(client_for(account), body, **ASYNC).status_code == 202
        assert post(client_for(account), {"events": [word("c", external_user_id="nobody")]}, **ASYNC).status_code == 400

        drain()

        assert metric(alice, "TRANSLATED_WORDS") == 2
        assert QueuedEventBatch.objects.count() == 0

    def test_events_of_a_user_deleted_meanwhile_are_dropped(self, user):
        account = service_account()
        UserFactory(username="gone")
        post(client_for(account), {"events": [word("a", user="gone"), word("b", user=user.username)]}, **ASYNC)
        User.objects.get(username="gone").delete()
        drain()
        assert ActivityEvent.objects.get().user == user

    def test_many_batches_are_applied_in_chunks(self, user, auth_client, settings):
        settings.QUEUED_EVENTS_APPLY_BATCHES = 4
        for i in range(10):
            post(auth_client, words(3, prefix=f"b{i}-"), **ASYNC)

        assert queued_events_apply() == 4
        assert QueuedEventBatch.objects.count() == 6
        drain()
        assert metric(user, "TRANSLATED_WORDS") == 30

    def test_a_batch_that_fails_is_kept_with_its_error_and_the_others_are_applied(self, user, auth_client, caplog):
        post(auth_client, words(2, prefix="before"), **ASYNC)
        bad = QueuedEventBatch.objects.create(reporter=user, events=[{"type": "practice"}], event_count=1)
        post(auth_client, words(2, prefix="after"), **ASYNC)

        queued_events_apply()

        bad.refresh_from_db()
        assert (bad.attempts, QueuedEventBatch.objects.count()) == (1, 1)
        assert "KeyError" in bad.last_error and bad.available_at > bad.created_at
        assert metric(user, "TRANSLATED_WORDS") == 4
        assert queued_events_apply() == 0  # not due again yet


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_apply_every_batch_exactly_once(settings):
    assert is_mariadb()
    settings.QUEUED_EVENTS_APPLY_BATCHES = 3
    learners = [UserFactory() for _ in range(4)]
    clients = [client_for(learner) for learner in learners]
    for round_ in range(10):
        for index, client in enumerate(clients):
            body = {"events": [word(f"r{round_}-{index}"), practice(duration_seconds=30)]}
            assert post(client, body, **ASYNC).status_code == 202
    assert QueuedEventBatch.objects.count() == 40

    def work(_index: int) -> None:
        while queued_events_apply():
            pass

    assert run_in_threads(4, work) == []
    assert not QueuedEventBatch.objects.exists()
    for learner in learners:
        assert ActivityEvent.objects.filter(user=learner).count() == 20
        assert metric(learner, "TRANSLATED_WORDS") == 10
