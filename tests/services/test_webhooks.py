"""The outbox (SPEC §11.3): which changes write which events, in their own transaction, for
whom, and at what cost."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gamification.models import UserBadge, WebhookDelivery, WebhookEndpoint
from gamification.services.events import events_record
from gamification.services.friends import friend_request_accept, friend_request_send
from gamification.services.platform import platform_user_put
from gamification.services.users import user_delete
from gamification.services.webhooks import (
    webhook_endpoint_delete,
    webhook_endpoint_put,
    webhook_endpoint_update,
    webhook_events_enqueue,
    webhook_events_suppressed,
    webhook_secret_masked,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ALL_TYPES = ["badge.awarded", "friend_request.created", "friend_request.accepted", "streak.at_risk", "user.deleted"]


def endpoint(url="https://hooks.example.org/a", types=None, **kwargs) -> WebhookEndpoint:
    return webhook_endpoint_put(url=url, secret="s" * 20, event_types=types or ALL_TYPES, **kwargs)[0]


def words(n: int, *, start: int = 0) -> list[dict]:
    now = timezone.now()
    return [
        {"type": "word_translated", "language": "de", "occurred_at": now, "word": f"Wort{i}", "idempotency_key": None}
        for i in range(start, start + n)
    ]


class TestEndpoints:
    @pytest.mark.parametrize(
        "url",
        ["http://hooks.example.org/a", "ftp://127.0.0.1/a", "https://user:pw@hooks.example.org/", "not a url", ""],
    )
    def test_refused_urls(self, url):
        with pytest.raises(ValidationError):
            endpoint(url=url)
        assert not WebhookEndpoint.objects.exists()

    @pytest.mark.parametrize(
        "url",
        ["https://hooks.example.org/a?x=1", "http://127.0.0.1:9000/hook", "http://localhost/h", "http://[::1]:81/"],
    )
    def test_accepted_urls_https_or_loopback_http(self, url):
        assert endpoint(url=url).url == url

    def test_unknown_or_no_event_types_are_refused(self):
        with pytest.raises(ValidationError, match=r"badge\.awardd"):
            endpoint(types=["badge.awardd"])
        with pytest.raises(ValidationError):
            webhook_endpoint_put(url="https://a.example.org/", secret="x", event_types=[])

    def test_put_twice_updates_the_endpoint_with_that_url(self):
        first = endpoint(types=["badge.awarded"])
        second, created = webhook_endpoint_put(
            url=" https://hooks.example.org/a ", secret="new-secret", event_types=["user.deleted", "badge.awarded"]
        )

        assert not created and second.pk == first.pk
        stored = WebhookEndpoint.objects.get()
        assert stored.secret == "new-secret"
        assert stored.event_types == ["badge.awarded", "user.deleted"]  # known order, no repeats

    def test_masked_secret_never_shows_it(self):
        assert webhook_secret_masked("short") == "set (5 characters)"
        masked = webhook_secret_masked("0123456789abcdefWXYZ")
        assert "0123" not in masked and masked.endswith("…WXYZ)")


class TestSubscribers:
    def test_only_active_endpoints_subscribed_to_the_type_get_a_row(self):
        wants = endpoint(url="https://a.example.org/", types=["user.deleted"])
        endpoint(url="https://b.example.org/", types=["badge.awarded"])
        endpoint(url="https://c.example.org/", types=["user.deleted"], active=False)

        rows = webhook_events_enqueue(event_type="user.deleted", data={"external_id": "x"})

        assert [row.endpoint_id for row in rows] == [wants.pk]
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "pending" and delivery.attempts == 0
        assert delivery.retry_until - delivery.created_at == dt.timedelta(hours=24)

    def test_nobody_subscribed_costs_no_query_once_cached(self, django_assert_num_queries):
        with django_assert_num_queries(1):  # the active endpoints, read once
            assert webhook_events_enqueue(event_type="user.deleted", data={}) == []
        with django_assert_num_queries(0):
            assert webhook_events_enqueue(event_type="user.deleted", data={}) == []

    def test_subscribed_costs_the_insert_alone(self, django_assert_num_queries):
        endpoint()
        webhook_events_enqueue(event_type="user.deleted", data={})
        with django_assert_num_queries(1):
            webhook_events_enqueue(event_type="user.deleted", data={})

    def test_endpoint_changes_apply_to_the_next_event_at_once(self):
        assert webhook_events_enqueue(event_type="user.deleted", data={}) == []  # cached: nobody
        hook = endpoint(types=["user.deleted"])
        assert len(webhook_events_enqueue(event_type="user.deleted", data={})) == 1

        webhook_endpoint_update(endpoint=hook, active=False)
        assert webhook_events_enqueue(event_type="user.deleted", data={}) == []

        webhook_endpoint_update(endpoint=hook, active=True, event_types=["badge.awarded"])
        assert webhook_events_enqueue(event_type="user.deleted", data={}) == []
        assert len(webhook_events_enqueue(event_type="badge.awarded", data={})) == 1

        webhook_endpoint_delete(endpoint=hook)
        assert webhook_events_enqueue(event_type="badge.awarded", data={}) == []

    def test_ingestion_without_awards_costs_the_same_with_a_subscriber(self):
        user = UserFactory()
        events_record(reporter=user, events=words(1))  # metric rows exist, caches warm

        def queries_of_one_event(start: int) -> int:
            with CaptureQueriesContext(connection) as queries:
                events_record(reporter=user, events=words(1, start=start))
            return len(queries)

        without = queries_of_one_event(1)
        endpoint()
        webhook_events_enqueue(event_type="badge.awarded", data={})  # warm the subscribers
        with_subscriber = queries_of_one_event(2)

        assert with_subscriber == without

    def test_suppressed_block_emits_nothing(self):
        endpoint()
        with webhook_events_suppressed():
            assert webhook_events_enqueue(event_type="user.deleted", data={}) == []
        assert len(webhook_events_enqueue(event_type="user.deleted", data={})) == 1


class TestBadgeAwarded:
    def test_each_new_badge_is_an_event_with_the_spec_payload(self):
        endpoint(types=["badge.awarded"])
        user = UserFactory(username="Wordsmith")

        events_record(reporter=user, events=words(10))

        delivery = WebhookDelivery.objects.get()
        award = UserBadge.objects.select_related("badge").get(user=user)
        assert delivery.event_type == "badge.awarded"
        assert delivery.data == {
            "user": {"username": "Wordsmith", "external_id": None},
            "badge": {
                "code": "TRANSLATED_WORDS",
                "level": 1,
                "name": "Word Curious",
                "icon_url": "/static/gamification/badges/translated_words_1.svg",
            },
            "achieved_at": award.achieved_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        assert delivery.created_at == award.achieved_at

    def test_several_levels_at_once_are_several_events_with_absolute_icons(self, settings):
        settings.SITE_URL = "https://gamification.example.org"
        endpoint(types=["badge.awarded"])
        user, _ = platform_user_put(external_id="platform-7")

        events_record(reporter=user, events=words(100))

        deliveries = WebhookDelivery.objects.order_by("id")
        assert [d.data["badge"]["level"] for d in deliveries] == [1, 2]
        assert {d.data["user"]["external_id"] for d in deliveries} == {"platform-7"}
        assert deliveries[0].data["badge"]["icon_url"].startswith("https://gamification.example.org/static/")

    def test_a_rolled_back_award_leaves_no_event(self):
        endpoint()
        user = UserFactory()

        with pytest.raises(RuntimeError), transaction.atomic():
            events_record(reporter=user, events=words(10))
            assert WebhookDelivery.objects.count() == 1  # written with the award, inside it
            raise RuntimeError("the caller's transaction fails after the award")

        assert not UserBadge.objects.filter(user=user).exists()
        assert not WebhookDelivery.objects.exists()

    def test_event_and_award_commit_together(self):
        endpoint()
        user = UserFactory()

        with transaction.atomic():
            events_record(reporter=user, events=words(10))

        assert UserBadge.objects.filter(user=user).count() == WebhookDelivery.objects.count() == 1

    def test_no_query_for_the_event_when_nobody_subscribes(self):
        user = UserFactory()
        events_record(reporter=user, events=words(9))
        webhook_events_enqueue(event_type="badge.awarded", data={})  # the cache holds "nobody"
        with CaptureQueriesContext(connection) as queries:
            events_record(reporter=user, events=words(1, start=9))  # awards level 1
        assert UserBadge.objects.filter(user=user).exists()
        assert not any("webhook" in query["sql"].lower() for query in queries)
        assert not WebhookDelivery.objects.exists()


class TestFriendRequests:
    def test_created_and_accepted_payloads(self):
        endpoint(types=["friend_request.created", "friend_request.accepted"])
        alice = UserFactory(username="alice")
        bob, _ = platform_user_put(external_id="bob-1", username="bob")

        request = friend_request_send(sender=alice, receiver_username="bob")
        accepted = friend_request_accept(request_id=request.pk, acting_user=bob)

        created_event, accepted_event = WebhookDelivery.objects.order_by("id")
        sent_at = request.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        expected = {
            "sender": {"username": "alice", "external_id": None},
            "receiver": {"username": "bob", "external_id": "bob-1"},
            "created_at": sent_at,
        }
        assert (created_event.event_type, created_event.data) == ("friend_request.created", expected)
        assert (accepted_event.event_type, accepted_event.data) == ("friend_request.accepted", expected)
        assert accepted_event.created_at == accepted.friendship.created_at

    def test_a_refused_request_writes_nothing(self):
        endpoint()
        alice = UserFactory(username="alice")
        with pytest.raises(ValidationError):
            friend_request_send(sender=alice, receiver_username="alice")
        assert not WebhookDelivery.objects.exists()


class TestUserDeleted:
    def test_carries_the_external_id_read_before_the_delete(self):
        endpoint(types=["user.deleted"])
        user, _ = platform_user_put(external_id="ext-42")

        user_delete(user=user)

        delivery = WebhookDelivery.objects.get()
        assert (delivery.event_type, delivery.data) == ("user.deleted", {"external_id": "ext-42"})

    def test_a_user_without_external_id_is_sent_with_null(self):
        endpoint(types=["user.deleted"])
        user_delete(user=UserFactory())
        assert WebhookDelivery.objects.get().data == {"external_id": None}
