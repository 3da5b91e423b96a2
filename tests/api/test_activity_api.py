"""``GET /api/me/activity/``: my activity log, filtered and cursor-paginated."""

import datetime as dt

import pytest

from gamification.models import ActivityEvent
from tests.factories import EventFactory, UserFactory

URL = "/api/me/activity/"
T0 = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)


def event(user, minutes: int, **fields):
    fields.setdefault("type", "practice")
    if fields["type"] == "practice":
        fields.setdefault("kind", "reading")
        fields.setdefault("duration_seconds", 60)
    return EventFactory(user=user, occurred_at=T0 + dt.timedelta(minutes=minutes), **fields)


@pytest.mark.django_db
class TestMyActivity:
    def test_anonymous_is_401(self, api_client):
        assert api_client.get(URL).status_code == 401

    def test_entries_carry_each_types_fields_newest_first(self, user, auth_client):
        event(user, 1, type="word_translated", word="Haus")
        event(user, 2, type="exercise_answered", correct=True)
        event(user, 3, type="audio_lesson_completed", item_id="L1")
        event(user, 4, type="word_learned", word="Baum")
        event(user, 5, type="article_read", item_id="42", language_id="fr")
        practice = event(user, 6, duration_seconds=300)
        event(UserFactory(), 7)  # someone else's

        response = auth_client.get(URL)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        results = body["results"]
        assert [entry["type"] for entry in results] == [
            "practice",
            "article_read",
            "word_learned",
            "audio_lesson_completed",
            "exercise_answered",
            "word_translated",
        ]
        assert results[0] == {
            "id": practice.pk,
            "type": "practice",
            "occurred_at": "2025-05-01T12:06:00Z",
            "language": "de",
            "kind": "reading",
            "duration_seconds": 300,
        }
        assert {k: v for k, v in results[1].items() if k != "id"} == {
            "type": "article_read",
            "occurred_at": "2025-05-01T12:05:00Z",
            "language": "fr",
            "article_id": "42",
        }
        assert results[2]["word"] == "Baum"
        assert results[3]["lesson_id"] == "L1"
        assert results[4]["correct"] is True
        assert results[5]["word"] == "Haus"

    def test_filters_by_type_language_and_a_half_open_time_range(self, user, auth_client):
        for minutes in range(10):
            event(user, minutes, language_id="fr" if minutes % 2 else "de")
        event(user, 3, type="word_learned", word="x")

        def ids(**query):
            response = auth_client.get(URL, query)
            assert response.status_code == 200, response.json()
            return [entry["occurred_at"][11:16] for entry in response.json()["results"]]

        assert ids(type="word_learned") == ["12:03"]
        assert ids(language="fr", type="practice") == ["12:09", "12:07", "12:05", "12:03", "12:01"]
        assert ids(since="2025-05-01T14:02:00+02:00", until="2025-05-01T12:04:00Z", type="practice") == [
            "12:03",
            "12:02",
        ]

    @pytest.mark.parametrize(
        "query",
        [
            {"type": "sleeping"},
            {"language": "xx"},
            {"since": "2025-05-01T12:00:00"},  # no offset
            {"until": "yesterday"},
        ],
    )
    def test_unknown_values_are_400_naming_the_parameter(self, auth_client, query):
        response = auth_client.get(URL, query)

        assert response.status_code == 400
        assert set(response.json()) == set(query)

    def test_pages_of_100_follow_the_cursor_without_gaps_or_repeats_in_2_queries_each(
        self, user, auth_client, django_assert_max_num_queries
    ):
        ActivityEvent.objects.bulk_create(
            [
                ActivityEvent(
                    user=user,
                    type="practice",
                    kind="reading",
                    duration_seconds=60,
                    language_id="de",
                    occurred_at=T0 + dt.timedelta(minutes=n // 3),  # three events share each instant
                )
                for n in range(250)
            ]
        )
        seen, url, pages = [], URL, 0
        while url:
            with django_assert_max_num_queries(2):  # the token, one page
                body = auth_client.get(url).json()
            seen += [entry["id"] for entry in body["results"]]
            assert len(body["results"]) <= 100
            url, pages = body["next"], pages + 1

        assert pages == 3
        expected = list(
            ActivityEvent.objects.filter(user=user).order_by("-occurred_at", "-id").values_list("id", flat=True)
        )
        assert seen == expected

    def test_a_forged_cursor_is_a_json_404(self, auth_client):
        response = auth_client.get(URL, {"cursor": "not-a-cursor"})

        assert response.status_code == 404
        assert "detail" in response.json()
