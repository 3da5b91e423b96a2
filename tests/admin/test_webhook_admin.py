"""Admin pages for webhooks (SPEC §11.3): endpoints with a masked secret, deliveries with their
attempts, resend and test events."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gamification.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gamification.services.webhook_delivery import webhook_deliveries_deliver_due
from gamification.services.webhooks import webhook_endpoint_put, webhook_events_enqueue
from tests.factories import UserFactory
from tests.webhook_receivers import Receiver, closed_port_url

pytestmark = pytest.mark.django_db

SECRET = "admin-test-secret-ABCDEFGH-9876"
ENDPOINTS = "/admin/gamification/webhookendpoint/"
DELIVERIES = "/admin/gamification/webhookdelivery/"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def form(**overrides) -> dict:
    data = {
        "url": "https://platform.example.org/hooks",
        "new_secret": SECRET,
        "event_types": ["badge.awarded", "user.deleted"],
        "active": "on",
        "description": "the platform",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


class TestEndpoints:
    def test_add_then_the_secret_is_only_shown_masked(self, staff_client):
        response = staff_client.post(f"{ENDPOINTS}add/", form())
        assert response.status_code == 302
        endpoint = WebhookEndpoint.objects.get()
        assert (endpoint.secret, endpoint.event_types) == (SECRET, ["badge.awarded", "user.deleted"])

        page = staff_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
        assert SECRET not in page and SECRET[:12] not in page
        assert f"set ({len(SECRET)} characters, ending in …9876)" in page

    def test_change_without_a_new_secret_keeps_it(self, staff_client):
        endpoint = webhook_endpoint_put(url="https://a.example.org/", secret=SECRET, event_types=["user.deleted"])[0]
        response = staff_client.post(
            f"{ENDPOINTS}{endpoint.pk}/change/", form(url="https://a.example.org/", new_secret="", active=None)
        )
        assert response.status_code == 302
        endpoint.refresh_from_db()
        assert (endpoint.secret, endpoint.active) == (SECRET, False)
        assert endpoint.event_types == ["badge.awarded", "user.deleted"]

    def test_replacing_the_secret(self, staff_client):
        endpoint = webhook_endpoint_put(url="https://a.example.org/", secret=SECRET, event_types=["user.deleted"])[0]
        staff_client.post(f"{ENDPOINTS}{endpoint.pk}/change/", form(url="https://a.example.org/", new_secret="fresh"))
        endpoint.refresh_from_db()
        assert endpoint.secret == "fresh"

    @pytest.mark.parametrize(
        "overrides",
        [
            {"url": "http://platform.example.org/hooks"},
            {"url": "platform.example.org/hooks"},
            {"new_secret": ""},
            {"event_types": []},
            {"event_types": ["nonsense"]},
        ],
    )
    def test_refused_forms_store_nothing(self, staff_client, overrides):
        response = staff_client.post(f"{ENDPOINTS}add/", form(**overrides))
        assert response.status_code == 200 and response.context["adminform"].form.errors
        assert not WebhookEndpoint.objects.exists()

    def test_a_new_endpoint_gets_the_next_event(self, staff_client):
        webhook_events_enqueue(event_type="user.deleted", data={})  # the cache holds "nobody"
        staff_client.post(f"{ENDPOINTS}add/", form())
        assert len(webhook_events_enqueue(event_type="user.deleted", data={})) == 1

    def test_list_counts_pending_and_failed_and_the_test_action_queues_one(self, staff_client):
        with Receiver(SECRET) as receiver:
            endpoint = webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["user.deleted"])[0]
            webhook_events_enqueue(event_type="user.deleted", data={})
            page = staff_client.get(ENDPOINTS)
            assert page.status_code == 200
            assert page.context["cl"].result_list[0].pending == 1

            response = staff_client.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
            assert response.status_code == 302
            webhook_deliveries_deliver_due()
        assert sorted(r.headers["X-Gamification-Event"] for r in receiver.received) == ["user.deleted", "webhook.test"]


class TestDeliveries:
    def test_list_filters_and_the_attempts_are_inline(self, staff_client, settings):
        settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
        dead = webhook_endpoint_put(url=closed_port_url(), secret=SECRET, event_types=["user.deleted"])[0]
        webhook_events_enqueue(event_type="user.deleted", data={"external_id": "x"})
        webhook_events_enqueue(event_type="badge.awarded", data={})  # nobody subscribed: no row
        webhook_deliveries_deliver_due()
        delivery = WebhookDelivery.objects.get()

        for query, expected in (
            ({}, 1),
            ({"status__exact": "pending"}, 1),
            ({"status__exact": "delivered"}, 0),
            ({"event_type": "user.deleted"}, 1),
            ({"event_type": "badge.awarded"}, 0),
            ({"endpoint__id__exact": dead.pk}, 1),
            ({"q": str(delivery.delivery_id)}, 1),
            ({"q": "not-a-uuid"}, 0),
        ):
            page = staff_client.get(DELIVERIES, query)
            assert page.status_code == 200
            assert len(page.context["cl"].result_list) == expected, query

        change = staff_client.get(f"{DELIVERIES}{delivery.pk}/change/")
        body = change.content.decode()
        assert change.status_code == 200 and not change.context["has_change_permission"]
        assert "connection error" in body and "retry" in body  # the attempt, inline
        assert "&quot;external_id&quot;: &quot;x&quot;" in body
        assert staff_client.get(f"{DELIVERIES}add/").status_code == 403

    def test_resend_action(self, staff_client):
        with Receiver(SECRET, statuses=[404]) as receiver:
            webhook_endpoint_put(url=receiver.url, secret=SECRET, event_types=["user.deleted"])
            (delivery,) = webhook_events_enqueue(event_type="user.deleted", data={})
            webhook_deliveries_deliver_due()
            assert WebhookDelivery.objects.get().status == "failed"

            response = staff_client.post(DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk]})
            assert response.status_code == 302
            webhook_deliveries_deliver_due()
        assert [r.delivery_id for r in receiver.received] == [str(delivery.delivery_id)] * 2
        assert WebhookDelivery.objects.get().status == "delivered"
        assert WebhookAttempt.objects.count() == 2

    def test_list_costs_the_same_queries_for_many_deliveries(self, staff_client):
        webhook_endpoint_put(url="https://a.example.org/", secret=SECRET, event_types=["user.deleted"])
        for _ in range(3):
            webhook_events_enqueue(event_type="user.deleted", data={})
        staff_client.get(DELIVERIES)
        with CaptureQueriesContext(connection) as few:
            staff_client.get(DELIVERIES)
        for _ in range(30):
            webhook_events_enqueue(event_type="user.deleted", data={})
        with CaptureQueriesContext(connection) as many:
            staff_client.get(DELIVERIES)
        assert len(many) == len(few)
