"""Sending the outbox (SPEC §11.3) to real HTTP receivers on loopback: signatures, retries with
backoff and the same delivery id, dead and hung endpoints, resends, leases, and (MariaDB) two
senders at once."""

import datetime as dt
import itertools
import json
import threading
import time
from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from gamification.models import WebhookAttempt, WebhookDelivery
from gamification.services.events import events_record
from gamification.services.webhook_delivery import (
    webhook_deliveries_claim,
    webhook_deliveries_deliver,
    webhook_deliveries_deliver_due,
    webhook_deliveries_purge,
    webhook_deliveries_resend,
    webhook_delivery_attempt,
    webhook_signature,
)
from gamification.services.webhooks import webhook_endpoint_put, webhook_events_enqueue, webhook_test_send
from tests.factories import UserFactory
from tests.threads import run_in_threads
from tests.webhook_receivers import HungReceiver, Receiver, closed_port_url

SECRET = "whsec-test-0123456789abcdef"
START = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


def hook(url: str, types=("user.deleted",), secret: str = SECRET):
    return webhook_endpoint_put(url=url, secret=secret, event_types=list(types))[0]


def emit(n: int = 1) -> list[WebhookDelivery]:
    return [row for i in range(n) for row in webhook_events_enqueue(event_type="user.deleted", data={"n": i})]


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS = 3600
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    return settings


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # HMAC-SHA256(key "key", message "1700000000.{}"), computed once with Python's hmac module.
    assert webhook_signature(secret="key", timestamp=1700000000, body=b"{}") == (
        "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
    )


@pytest.mark.django_db
class TestDelivery:
    def test_receiver_verifies_the_signature_and_gets_the_envelope(self):
        with Receiver(SECRET) as receiver:
            endpoint = hook(receiver.url)
            (delivery,) = emit()

            assert webhook_deliveries_deliver_due() == 1

        (got,) = receiver.received
        assert got.signature_valid
        assert got.headers["X-Gamification-Event"] == "user.deleted"
        assert got.headers["X-Gamification-Delivery"] == str(delivery.delivery_id)
        assert got.headers["Content-Type"].startswith("application/json")
        assert got.json == {
            "id": str(delivery.delivery_id),
            "type": "user.deleted",
            "created_at": delivery.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "data": {"n": 0},
        }
        stored = WebhookDelivery.objects.get()
        assert (stored.status, stored.attempts, stored.last_status_code, stored.next_attempt_at) == (
            "delivered",
            1,
            200,
            None,
        )
        assert stored.delivered_at is not None and stored.endpoint_id == endpoint.pk
        assert list(WebhookAttempt.objects.values_list("status_code", "outcome")) == [(200, "delivered")]

    def test_a_wrong_secret_fails_the_receivers_check(self):
        with Receiver("the receivers own secret") as receiver:
            hook(receiver.url, secret="another secret")
            emit()
            webhook_deliveries_deliver_due()
        assert not receiver.received[0].signature_valid

    def test_500_twice_then_200_is_delivered_on_the_third_attempt_with_the_same_id(self, fast_retries):
        with Receiver(SECRET, statuses=[500, 500]) as receiver, time_machine.travel(START, tick=False) as clock:
            hook(receiver.url)
            (delivery,) = emit()

            webhook_deliveries_deliver_due()
            first = WebhookDelivery.objects.get()
            assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
            assert first.next_attempt_at == START + dt.timedelta(seconds=10)
            assert "HTTP 500" in first.last_error and "receiver says no" in first.last_error

            clock.shift(9)
            assert webhook_deliveries_deliver_due() == 0  # not due yet
            clock.shift(1)
            webhook_deliveries_deliver_due()
            assert WebhookDelivery.objects.get().next_attempt_at == START + dt.timedelta(seconds=10 + 20)

            clock.shift(20)
            webhook_deliveries_deliver_due()

        assert [r.delivery_id for r in receiver.received] == [str(delivery.delivery_id)] * 3
        assert all(r.signature_valid for r in receiver.received)
        # t is the time of each attempt.
        stamps = [r.headers["X-Gamification-Signature"].split(",")[0] for r in receiver.received]
        assert stamps == [f"t={int(START.timestamp()) + s}" for s in (0, 10, 30)]
        assert len({r.body for r in receiver.received}) == 1  # the same body every time
        final = WebhookDelivery.objects.get()
        assert (final.status, final.attempts, final.last_status_code, final.last_error) == ("delivered", 3, 200, "")
        assert list(WebhookAttempt.objects.values_list("status_code", "outcome")) == [
            (500, "retry"),
            (500, "retry"),
            (200, "delivered"),
        ]

    @pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
    def test_a_refusal_fails_at_once(self, status):
        with Receiver(SECRET, statuses=[status]) as receiver:
            hook(receiver.url)
            emit()
            webhook_deliveries_deliver_due()
        stored = WebhookDelivery.objects.get()
        assert (stored.status, stored.attempts, stored.last_status_code, stored.next_attempt_at) == (
            "failed",
            1,
            status,
            None,
        )

    @pytest.mark.parametrize("status", [408, 429, 502, 503])
    def test_transient_answers_are_retried(self, status, fast_retries):
        with Receiver(SECRET, statuses=[status]) as receiver:
            hook(receiver.url)
            emit()
            webhook_deliveries_deliver_due()
        assert WebhookDelivery.objects.get().status == "pending"

    def test_a_closed_port_is_retried_with_doubling_delays_then_failed_after_24_hours(self, fast_retries):
        with time_machine.travel(START, tick=False) as clock:
            hook(closed_port_url())
            (delivery,) = emit()
            attempt_times = []
            while WebhookDelivery.objects.get().status == "pending":
                clock.move_to(WebhookDelivery.objects.get().next_attempt_at)
                attempt_times.append(timezone.now())
                assert webhook_deliveries_deliver_due() == 1

        delays = [(b - a).total_seconds() for a, b in itertools.pairwise(attempt_times)]
        assert delays[:9] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560]
        assert set(delays[9:-1]) == {3600}  # capped at WEBHOOK_RETRY_MAX_DELAY_SECONDS
        assert attempt_times[-1] == START + dt.timedelta(hours=24)  # the last try at the window's end
        stored = WebhookDelivery.objects.get()
        assert stored.status == "failed" and stored.attempts == len(attempt_times) == 33
        assert stored.next_attempt_at is None
        assert stored.last_error.startswith("connection error")
        assert stored.delivery_id == delivery.delivery_id

    def test_a_hung_endpoint_times_out_and_is_retried_then_failed(self, fast_retries):
        with HungReceiver() as hung, time_machine.travel(START, tick=False) as clock:
            hook(hung.url)
            emit()
            started = time.monotonic()
            webhook_deliveries_deliver_due()
            assert time.monotonic() - started < 3

            stored = WebhookDelivery.objects.get()
            assert stored.status == "pending" and stored.last_error.startswith("timeout")
            assert stored.next_attempt_at == START + dt.timedelta(seconds=10)

            clock.move_to(START + dt.timedelta(hours=24))
            webhook_deliveries_deliver_due()
        assert WebhookDelivery.objects.get().status == "failed"

    def test_after_a_timeout_the_endpoints_other_deliveries_wait_untouched(self, fast_retries):
        with HungReceiver() as hung, Receiver(SECRET) as healthy:
            hook(hung.url)
            emit(3)
            hook(healthy.url, types=("badge.awarded",))
            webhook_events_enqueue(event_type="badge.awarded", data={})

            started = time.monotonic()
            webhook_deliveries_deliver_due()
            elapsed = time.monotonic() - started

        assert elapsed < 3  # one timeout, not three
        assert len(healthy.received) == 1
        hung_rows = WebhookDelivery.objects.filter(event_type="user.deleted").order_by("id")
        assert [row.attempts for row in hung_rows] == [1, 0, 0]
        assert all(row.status == "pending" for row in hung_rows)
        assert all(row.next_attempt_at <= timezone.now() for row in hung_rows[1:])  # still due

    def test_an_inactive_endpoint_is_not_called(self):
        with Receiver(SECRET) as receiver:
            endpoint = hook(receiver.url)
            emit()
            endpoint.active = False
            endpoint.save(update_fields=["active"])
            webhook_deliveries_deliver_due()
        assert receiver.received == []
        stored = WebhookDelivery.objects.get()
        assert stored.status == "failed" and "inactive" in stored.last_error

    def test_resend_makes_a_new_attempt_with_the_same_id(self):
        with Receiver(SECRET, statuses=[400]) as receiver:
            hook(receiver.url)
            (delivery,) = emit()
            webhook_deliveries_deliver_due()
            assert WebhookDelivery.objects.get().status == "failed"

            assert webhook_deliveries_resend(delivery_ids=[delivery.pk]) == 1
            resent = WebhookDelivery.objects.get()
            assert (resent.status, resent.attempts) == ("pending", 0)
            assert resent.retry_until > timezone.now() + dt.timedelta(hours=23)
            webhook_deliveries_deliver_due()

        assert [r.delivery_id for r in receiver.received] == [str(delivery.delivery_id)] * 2
        assert WebhookDelivery.objects.get().status == "delivered"
        assert WebhookAttempt.objects.count() == 2  # the history keeps both

    def test_a_result_arriving_after_a_resend_does_not_overwrite_it(self):
        with Receiver(SECRET) as receiver:
            hook(receiver.url)
            (delivery,) = emit()
            (claim,) = webhook_deliveries_claim(limit=10)
            webhook_deliveries_resend(delivery_ids=[delivery.pk])
            webhook_delivery_attempt(claim=claim)  # the old sender finishes late

            stored = WebhookDelivery.objects.get()
            assert (stored.status, stored.attempts) == ("pending", 0)  # still due for the resend
            assert WebhookAttempt.objects.count() == 1  # the late attempt is in the history
            webhook_deliveries_deliver_due()
        assert len(receiver.received) == 2
        assert WebhookDelivery.objects.get().status == "delivered"

    def test_a_claim_whose_sender_died_comes_back_after_its_lease(self):
        with Receiver(SECRET) as receiver, time_machine.travel(START, tick=False) as clock:
            hook(receiver.url)
            emit()
            assert len(webhook_deliveries_claim(limit=10)) == 1  # and the sender dies
            assert webhook_deliveries_deliver_due() == 0  # leased: nobody else takes it
            clock.shift(3600)
            assert webhook_deliveries_deliver_due() == 1
        assert len(receiver.received) == 1

    def test_deliver_given_ids_skips_what_is_not_due(self):
        with Receiver(SECRET) as receiver:
            hook(receiver.url)
            first, second = emit(2)
            assert webhook_deliveries_deliver(delivery_ids=[str(first.delivery_id)]) == 1
            assert webhook_deliveries_deliver(delivery_ids=[str(first.delivery_id)]) == 0  # already sent
        assert [r.delivery_id for r in receiver.received] == [str(first.delivery_id)]
        assert WebhookDelivery.objects.get(pk=second.pk).status == "pending"

    def test_test_event_goes_to_that_endpoint_only(self):
        with Receiver(SECRET) as receiver:
            endpoint = hook(receiver.url)
            webhook_test_send(endpoint=endpoint)
            webhook_deliveries_deliver_due()
        (got,) = receiver.received
        assert got.headers["X-Gamification-Event"] == "webhook.test" and got.signature_valid

    def test_a_badge_event_from_ingestion_arrives(self):
        with Receiver(SECRET) as receiver:
            hook(receiver.url, types=("badge.awarded",))
            user = UserFactory(username="reader")
            now = timezone.now()
            events_record(
                reporter=user,
                events=[
                    {"type": "word_translated", "language": "de", "occurred_at": now, "word": f"w{i}"}
                    for i in range(10)
                ],
            )
            webhook_deliveries_deliver_due()
        (got,) = receiver.received
        assert got.json["type"] == "badge.awarded"
        assert got.json["data"]["user"] == {"username": "reader", "external_id": None}
        assert got.json["data"]["badge"]["code"] == "TRANSLATED_WORDS"

    def test_unicode_payloads_are_signed_over_the_utf8_bytes_sent(self):
        with Receiver(SECRET) as receiver:
            hook(receiver.url)
            webhook_events_enqueue(event_type="user.deleted", data={"name": "Zoë 日本"})
            webhook_deliveries_deliver_due()
        (got,) = receiver.received
        assert got.signature_valid and json.loads(got.body.decode("utf-8"))["data"]["name"] == "Zoë 日本"

    def test_purge_deletes_old_finished_deliveries_only(self, settings):
        with Receiver(SECRET) as receiver:
            hook(receiver.url)
            emit(2)
            webhook_deliveries_deliver_due()
            emit(1)  # pending
        WebhookDelivery.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
        assert webhook_deliveries_purge() == 2
        assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending"]
        assert not WebhookAttempt.objects.exists()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_never_send_a_delivery_twice(settings):
    settings.WORKER_CONCURRENCY = 3
    receivers = [Receiver(SECRET) for _ in range(4)]
    for receiver in receivers:
        receiver.__enter__()
    try:
        for index, receiver in enumerate(receivers):
            hook(receiver.url, types=("user.deleted",) if index % 2 else ("badge.awarded",))
        for i in range(30):
            webhook_events_enqueue(event_type="user.deleted", data={"n": i})
            webhook_events_enqueue(event_type="badge.awarded", data={"n": i})
        total = WebhookDelivery.objects.count()
        assert total == 120
        done = threading.Event()

        def sender(_: int) -> None:
            while not done.is_set():
                if (
                    webhook_deliveries_deliver_due(limit=7) == 0
                    and not WebhookDelivery.objects.filter(status="pending").exists()
                ):
                    done.set()

        errors = run_in_threads(2, sender)
    finally:
        for receiver in receivers:
            receiver.__exit__(None, None, None)

    assert errors == []
    received = Counter(r.delivery_id for receiver in receivers for r in receiver.received)
    assert len(received) == total and set(received.values()) == {1}
    assert WebhookDelivery.objects.filter(status="delivered", attempts=1).count() == total
    assert WebhookAttempt.objects.count() == total


@pytest.mark.django_db(transaction=True)
def test_a_poll_with_nothing_due_is_one_read_and_no_transaction(django_assert_num_queries):
    hook("https://hooks.example.org/")
    with time_machine.travel(START, tick=False):
        emit()  # due now, not yet at START - 1 s
    with time_machine.travel(START - dt.timedelta(seconds=1), tick=False), django_assert_num_queries(1) as queries:
        assert webhook_deliveries_deliver_due() == 0
    assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]
