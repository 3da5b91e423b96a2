"""``GET /api/me/export/``: one JSON document with everything about me, streamed."""

import datetime as dt
import json
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gamification.models import ActivityEvent, RestDay
from tests.factories import UserFactory, make_friends

URL = "/api/me/export/"
T0 = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)


def add_events(user, count: int) -> None:
    ActivityEvent.objects.bulk_create(
        (
            ActivityEvent(
                user=user,
                type="word_translated",
                word=f"w{n}",
                language_id="de",
                occurred_at=T0 + dt.timedelta(seconds=n // 2),
            )
            for n in range(count)
        ),
        batch_size=5000,
    )


def consume(response) -> tuple[int, int]:
    """Read the stream piece by piece, keeping nothing: (bytes, pieces)."""
    size = pieces = 0
    for piece in response.streaming_content:
        size += len(piece)
        pieces += 1
    return size, pieces


@pytest.mark.django_db
class TestExport:
    def test_anonymous_is_401(self, api_client):
        response = api_client.get(URL)

        assert response.status_code == 401

    def test_the_document_has_every_section_and_only_mine(self, user, auth_client):
        friend = UserFactory()
        make_friends(user, friend)
        RestDay.objects.create(user=user, start=dt.date(2030, 1, 1), end=dt.date(2030, 1, 2))
        add_events(user, 3)
        add_events(friend, 2)

        response = auth_client.get(URL)

        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == "application/json"
        document = json.loads(b"".join(response.streaming_content))
        assert list(document) == [
            "profile",
            "friends",
            "friend_requests",
            "badges",
            "metrics",
            "streaks",
            "rest_days",
            "classrooms",
            "privacy",
            "blocks",
            "activity",
        ]
        assert document["profile"]["email"] == user.email
        assert [row["username"] for row in document["friends"]] == [friend.username]
        assert "email" not in json.dumps(document["friends"])
        assert document["rest_days"][0]["start"] == "2030-01-01"
        assert [entry["word"] for entry in document["activity"]] == ["w2", "w1", "w0"]
        assert document["friend_requests"] == {"received": [], "sent": []}
        assert document["privacy"] == {"progress_visible_to": "friends", "discoverable": True, "on_leaderboards": True}
        assert document["blocks"] == []

    def test_my_blocks_and_privacy_settings_are_in_it(self, user, auth_client):
        pest = UserFactory()
        auth_client.post("/api/blocks/", {"username": pest.username}, format="json")
        auth_client.patch("/api/me/privacy/", {"discoverable": False}, format="json")

        document = json.loads(b"".join(auth_client.get(URL).streaming_content))

        assert [row["user"]["username"] for row in document["blocks"]] == [pest.username]
        assert document["privacy"]["discoverable"] is False

    def test_an_empty_log_is_an_empty_list(self, user, auth_client):
        document = json.loads(b"".join(auth_client.get(URL).streaming_content))

        assert document["activity"] == []

    def test_50_000_events_stream_in_flat_memory_and_bounded_queries(self, user, auth_client):
        def measure(count: int) -> tuple[int, int, int]:
            ActivityEvent.objects.filter(user=user).delete()
            add_events(user, count)
            response = auth_client.get(URL)
            tracemalloc.start()
            with CaptureQueriesContext(connection) as queries:
                size, _ = consume(response)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return size, peak, len(queries)

        small_size, small_peak, small_queries = measure(5_000)
        big_size, big_peak, big_queries = measure(50_000)

        assert big_size > 9 * small_size  # the big document really is ten times longer
        # Memory holds one chunk of 2,000 events either way: not ten times more.
        assert big_peak < 1.5 * small_peak
        # One query per 2,000 events (3 for 5,000; 25 and an empty one for 50,000), nothing
        # per event.
        assert big_queries - small_queries == 26 - 3
