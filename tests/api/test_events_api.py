import datetime as dt
import json
import threading

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from gamification.models import ActivityEvent, Badge, FirstOccurrence, UserBadge, UserMetric
from gamification.services.webhooks import webhook_subscribers
from tests.conftest import client_for
from tests.factories import UserFactory

URL = "/api/events/"
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


def metric(user, code: str) -> int:
    row = UserMetric.objects.filter(user=user, activity_type__code=code).first()
    return row.value if row else 0


def word(w: str = "haus", **extra) -> dict:
    return {"type": "word_translated", "word": w, "language": "de", **extra}


def practice(**extra) -> dict:
    return {"type": "practice", "kind": "reading", "duration_seconds": 300, "language": "de", **extra}


def post(client: APIClient, body, **kwargs):
    return client.post(URL, body, format="json", **kwargs)


def service_account():
    account = UserFactory(email="platform@service.invalid")
    account.user_permissions.add(Permission.objects.get(codename="report_events_for_others"))
    return account


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.mark.django_db
class TestAccepting:
    def test_one_event_is_stored_and_counted(self, user, auth_client, frozen):
        response = post(auth_client, word(" Haus ", occurred_at="2025-03-10T10:00:00+01:00"))

        assert response.status_code == 201
        assert response.json() == {"accepted": 1, "duplicates": 0, "new_badges": []}
        event = ActivityEvent.objects.get(user=user)
        assert (event.type, event.word, event.language_id) == ("word_translated", "Haus", "de")
        assert event.occurred_at == NOW.replace(hour=9)
        assert event.received_at == NOW
        assert event.reported_by is None
        assert metric(user, "TRANSLATED_WORDS") == 1

    def test_occurred_at_defaults_to_now(self, user, auth_client, frozen):
        assert post(auth_client, word()).status_code == 201
        assert ActivityEvent.objects.get(user=user).occurred_at == NOW

    def test_occurred_at_keeps_its_instant_across_offsets(self, user, auth_client, frozen):
        post(auth_client, word(occurred_at="2025-03-10T10:00:00+01:00"))
        post(auth_client, word("baum", occurred_at="2025-03-10T09:30:00Z"))
        times = sorted(ActivityEvent.objects.filter(user=user).values_list("occurred_at", flat=True))
        assert times == [NOW.replace(hour=9), NOW.replace(hour=9, minute=30)]

    def test_500_new_words_award_levels_1_to_3_in_one_response(self, user, auth_client):
        response = post(auth_client, {"events": [word(f"wort{i}") for i in range(500)]})

        assert response.status_code == 201
        body = response.json()
        assert (body["accepted"], body["duplicates"]) == (500, 0)
        assert [(b["code"], b["level"], b["name"]) for b in body["new_badges"]] == [
            ("TRANSLATED_WORDS", 1, "Word Curious"),
            ("TRANSLATED_WORDS", 2, "Translation Enthusiast"),
            ("TRANSLATED_WORDS", 3, "Lexical Leader"),
        ]
        assert body["new_badges"][0] == {
            "code": "TRANSLATED_WORDS",
            "level": 1,
            "name": "Word Curious",
            "icon_url": "http://testserver/static/gamification/badges/translated_words_1.svg",
        }
        assert metric(user, "TRANSLATED_WORDS") == 500

    def test_an_uploaded_icon_gives_its_absolute_media_url(self, user, auth_client):
        Badge.objects.filter(activity_type__code="LEARNED_WORDS", level=1).update(icon_upload="badge-icons/mine.png")
        body = post(auth_client, {"type": "word_learned", "word": "Haus", "language": "de"}).json()
        assert body["new_badges"][0]["icon_url"] == "http://testserver/media/badge-icons/mine.png"

    def test_words_count_once_ignoring_case_and_whitespace_per_language(self, user, auth_client):
        body = post(
            auth_client,
            {"events": [word("Haus"), word(" haus "), word("HAUS"), word("haus", language="nl")]},
        ).json()

        assert (body["accepted"], body["duplicates"]) == (4, 0)
        assert metric(user, "TRANSLATED_WORDS") == 2

    def test_every_type_feeds_its_metric(self, user, auth_client, monkeypatch):
        practised = []
        monkeypatch.setattr("gamification.services.streaks.practice_record", lambda **kw: practised.append(kw))
        events = [
            {"type": "exercise_answered", "correct": True, "language": "de"},
            {"type": "exercise_answered", "correct": False, "language": "de"},
            {"type": "audio_lesson_completed", "lesson_id": 17, "language": "de"},
            {"type": "audio_lesson_completed", "lesson_id": "17", "language": "fr"},
            {"type": "word_learned", "word": "Baum", "language": "de"},
            {"type": "article_read", "article_id": "a-1", "language": "de"},
            practice(kind="listening", duration_seconds=86400),
        ]

        assert post(auth_client, {"events": events}).status_code == 201

        assert metric(user, "CORRECT_EXERCISES") == 1
        assert metric(user, "COMPLETED_AUDIO_LESSONS") == 1
        assert metric(user, "LEARNED_WORDS") == 1
        assert metric(user, "READ_ARTICLES") == 1
        assert [(p["user"], p["language_id"], p["seconds"]) for p in practised] == [(user, "de", 86400)]
        assert ActivityEvent.objects.filter(user=user).count() == 7

    def test_unknown_fields_and_fields_of_other_types_are_ignored(self, user, auth_client):
        response = post(auth_client, practice(word=12, correct="maybe", colour="blue"))
        assert response.status_code == 201
        assert ActivityEvent.objects.get(user=user).word == ""


@pytest.mark.django_db
class TestIdempotency:
    def test_the_same_key_in_a_later_call_counts_once(self, user, auth_client):
        first = post(auth_client, word(idempotency_key="evt-1")).json()
        second = post(auth_client, word("baum", idempotency_key="evt-1")).json()

        assert (first["accepted"], first["duplicates"]) == (1, 0)
        assert (second["accepted"], second["duplicates"]) == (0, 1)
        assert ActivityEvent.objects.filter(user=user).count() == 1
        assert metric(user, "TRANSLATED_WORDS") == 1

    def test_the_same_key_twice_in_a_batch_counts_once(self, user, auth_client):
        body = post(
            auth_client,
            {"events": [{"type": "exercise_answered", "correct": True, "language": "de", "idempotency_key": "x"}] * 2},
        ).json()
        assert (body["accepted"], body["duplicates"]) == (1, 1)
        assert metric(user, "CORRECT_EXERCISES") == 1

    def test_a_key_of_101_characters_is_refused(self, auth_client):
        response = post(auth_client, word(idempotency_key="k" * 101))
        assert response.status_code == 400
        assert "idempotency_key" in response.json()


@pytest.mark.django_db
class TestValidation:
    @pytest.mark.parametrize(
        ("event", "field"),
        [
            ({"type": "word_translated", "language": "de"}, "word"),
            (word("   "), "word"),
            (word("x" * 101), "word"),
            (word(["haus"]), "word"),
            ({"type": "exercise_answered", "language": "de"}, "correct"),
            ({"type": "exercise_answered", "correct": "true", "language": "de"}, "correct"),
            ({"type": "exercise_answered", "correct": 1, "language": "de"}, "correct"),
            ({"type": "audio_lesson_completed", "language": "de"}, "lesson_id"),
            ({"type": "audio_lesson_completed", "lesson_id": " ", "language": "de"}, "lesson_id"),
            ({"type": "audio_lesson_completed", "lesson_id": "9" * 101, "language": "de"}, "lesson_id"),
            ({"type": "audio_lesson_completed", "lesson_id": True, "language": "de"}, "lesson_id"),
            ({"type": "article_read", "article_id": 1.5, "language": "de"}, "article_id"),
            ({"type": "article_read", "language": "de"}, "article_id"),
            (practice(kind="sleeping"), "kind"),
            ({"type": "practice", "duration_seconds": 60, "language": "de"}, "kind"),
            (practice(duration_seconds=None), "duration_seconds"),
            (practice(duration_seconds=0), "duration_seconds"),
            (practice(duration_seconds=86401), "duration_seconds"),
            (practice(duration_seconds=True), "duration_seconds"),
            (practice(duration_seconds=60.0), "duration_seconds"),
            (practice(duration_seconds="60"), "duration_seconds"),
            ({"type": "dancing", "language": "de"}, "type"),
            ({"language": "de", "word": "haus"}, "type"),
            ({"type": "word_translated", "word": "haus"}, "language"),
            (word(language="xx"), "language"),
            (word(language=7), "language"),
            (word(occurred_at="2025-03-10T11:00:00"), "occurred_at"),
            (word(occurred_at="yesterday"), "occurred_at"),
            (word(occurred_at="2025-03-10T12:06:00+00:00"), "occurred_at"),
            (word(occurred_at="2025-02-08T11:59:00+00:00"), "occurred_at"),
            (word(user=""), "user"),
        ],
    )
    def test_an_invalid_event_is_400_on_its_field_and_stores_nothing(self, auth_client, frozen, event, field):
        response = post(auth_client, event)

        assert response.status_code == 400
        assert field in response.json(), response.json()
        assert isinstance(response.json()[field], list)
        assert not ActivityEvent.objects.exists()

    def test_occurred_at_within_the_clock_skew_and_age_limits_is_accepted(self, auth_client, frozen):
        events = [word("a", occurred_at="2025-03-10T12:04:59+00:00"), word("b", occurred_at="2025-02-08T12:01:00Z")]
        assert post(auth_client, {"events": events}).status_code == 201

    @pytest.mark.parametrize("field", ["type", "kind", "language", "word", "user", "idempotency_key"])
    def test_a_lone_surrogate_is_a_400_not_a_500(self, auth_client, field):
        body = {**practice(type="word_translated" if field == "word" else "practice"), field: "SURROGATE"}
        raw = json.dumps(body).replace('"SURROGATE"', '"\\ud800"')

        response = auth_client.post(URL, raw.encode(), content_type="application/json")

        assert response.status_code in (400, 403)
        assert not ActivityEvent.objects.exists()

    def test_naive_occurred_at_is_refused_with_a_message_about_the_offset(self, auth_client, frozen):
        body = post(auth_client, word(occurred_at="2025-03-10T11:00:00")).json()
        assert "offset" in body["occurred_at"][0]

    def test_a_batch_with_one_bad_event_stores_nothing_and_names_its_index(self, user, auth_client):
        events = [word("a"), practice(duration_seconds=0), word("c")]

        response = post(auth_client, {"events": events})

        assert response.status_code == 400
        body = response.json()
        assert list(body) == ["events"]
        assert body["events"][0] == {}
        assert list(body["events"][1]) == ["duration_seconds"]
        assert body["events"][2] == {}
        assert not ActivityEvent.objects.exists()
        assert not FirstOccurrence.objects.exists()
        assert metric(user, "TRANSLATED_WORDS") == 0

    def test_501_events_are_refused(self, auth_client):
        response = post(auth_client, {"events": [word(f"w{i}") for i in range(501)]})
        assert response.status_code == 400
        assert "events" in response.json()
        assert not ActivityEvent.objects.exists()

    @pytest.mark.parametrize("events", [[], {}, "haus", None, [None], [["word"]]])
    def test_an_empty_or_malformed_list_is_400(self, auth_client, events):
        response = post(auth_client, {"events": events})
        assert response.status_code == 400
        assert "events" in response.json()

    @pytest.mark.parametrize("body", [b"[]", b'"event"', b"42", b"null", b"[{}]"])
    def test_json_that_is_not_an_object_is_400(self, auth_client, body):
        response = auth_client.post(URL, body, content_type="application/json")
        assert response.status_code == 400
        assert "detail" in response.json()

    def test_malformed_json_is_400(self, auth_client):
        response = auth_client.post(URL, b'{"type": "word_translated",', content_type="application/json")
        assert response.status_code == 400
        assert "detail" in response.json()
        assert not ActivityEvent.objects.exists()

    def test_not_logged_in_is_401(self, api_client):
        assert post(api_client, word()).status_code == 401


@pytest.mark.django_db
class TestReportingForOthers:
    def test_a_learner_naming_another_user_is_403_and_nothing_is_stored(self, user, auth_client):
        other = UserFactory()

        response = post(auth_client, {"events": [word("a"), word("b", user=other.username)]})

        assert response.status_code == 403
        assert "detail" in response.json()
        assert not ActivityEvent.objects.exists()

    def test_a_learner_naming_an_unknown_user_is_403_too(self, auth_client):
        assert post(auth_client, word(user="nobody_here")).status_code == 403

    def test_a_learner_may_name_themself_in_any_casing(self, user, auth_client):
        response = post(auth_client, word(user=user.username.upper()))
        assert response.status_code == 201
        assert ActivityEvent.objects.get().user == user

    def test_a_service_account_reports_for_learners_and_new_badges_carry_usernames(self):
        platform = service_account()
        ada, bo = UserFactory(), UserFactory()
        events = [
            {"type": "word_learned", "word": "haus", "language": "de", "user": ada.username.upper()},
            {"type": "word_learned", "word": "haus", "language": "de", "user": bo.username},
            {"type": "exercise_answered", "correct": True, "language": "de", "user": bo.username},
        ]

        response = post(client_for(platform), {"events": events})

        assert response.status_code == 201
        body = response.json()
        assert body["accepted"] == 3
        assert sorted((b["username"], b["code"], b["level"]) for b in body["new_badges"]) == sorted(
            [(ada.username, "LEARNED_WORDS", 1), (bo.username, "LEARNED_WORDS", 1)]
        )
        assert metric(ada, "LEARNED_WORDS") == 1
        assert metric(bo, "CORRECT_EXERCISES") == 1
        assert metric(platform, "LEARNED_WORDS") == 0
        assert set(ActivityEvent.objects.values_list("reported_by", flat=True)) == {platform.pk}

    def test_a_service_account_naming_an_unknown_user_is_400_on_that_event(self):
        platform = service_account()
        learner = UserFactory()

        response = post(client_for(platform), {"events": [word(user=learner.username), word(user="ghost")]})

        assert response.status_code == 400
        assert response.json() == {"events": [{}, {"user": ['Unknown user "ghost".']}]}
        assert not ActivityEvent.objects.exists()

    def test_idempotency_keys_are_per_named_user(self):
        platform = service_account()
        ada, bo = UserFactory(), UserFactory()
        events = [word(user=ada.username, idempotency_key="k"), word(user=bo.username, idempotency_key="k")]

        body = post(client_for(platform), {"events": events}).json()

        assert (body["accepted"], body["duplicates"]) == (2, 0)

    def test_a_service_batch_costs_a_fixed_number_of_queries_per_user_not_per_event(self):
        platform = service_account()
        client = client_for(platform)
        learners = UserFactory.create_batch(12)
        post(client, {"events": [word(user=u.username) for u in learners]})  # metric rows exist
        webhook_subscribers(event_type="badge.awarded")  # the webhook subscribers are cached, as when warm

        def batch(n_users: int) -> dict:
            return {"events": [word(f"{n_users}-{i}", user=learners[i % n_users].username) for i in range(24)]}

        with CaptureQueriesContext(connection) as few:
            post(client, batch(2))
        with CaptureQueriesContext(connection) as many:
            post(client, batch(12))

        # Per user and type: the metric's UPDATE and its level lookup (the rows are locked for the
        # whole batch in one query); everything else is per batch. The 2 users of the first batch
        # reach level 1 (a held-badge check, the badge rows and an award insert each); the 12 of the
        # second do not.
        assert len(many) - len(few) == 10 * 2 - 2 * 3


@pytest.mark.django_db
class TestQueryCounts:
    def test_posting_one_event_costs_a_fixed_number_of_queries(self, user, auth_client, django_assert_num_queries):
        post(auth_client, word("warm-up"))
        # Token (1), languages (1), then the service: see tests/services/test_events.py.
        with django_assert_num_queries(15):
            response = post(auth_client, word())
        assert response.status_code == 201

    def test_a_100_event_batch_costs_what_a_10_event_batch_costs(self, user, auth_client):
        UserMetric.objects.create(user=user, activity_type_id=_type_id("TRANSLATED_WORDS"), value=1000)

        with CaptureQueriesContext(connection) as ten:
            post(auth_client, {"events": [word(f"ten{i}") for i in range(10)]})
        with CaptureQueriesContext(connection) as hundred:
            post(auth_client, {"events": [word(f"hundred{i}") for i in range(100)]})

        from tests.services.test_events import sqlite_extra_insert_chunks

        assert len(hundred) == len(ten) + sqlite_extra_insert_chunks(100)


def _type_id(code: str) -> int:
    from gamification.models import ActivityType

    return ActivityType.objects.get(code=code).pk


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_posted_by_4_threads_at_once_counts_once():
    learner = UserFactory()
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    bodies: list[dict] = []

    def send() -> None:
        client = client_for(learner)
        barrier.wait()
        try:
            response = post(
                client, {"type": "exercise_answered", "correct": True, "language": "de", "idempotency_key": "same"}
            )
            statuses.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [201] * 4
    assert sorted((b["accepted"], b["duplicates"]) for b in bodies) == [(0, 1), (0, 1), (0, 1), (1, 0)]
    assert ActivityEvent.objects.filter(user=learner).count() == 1
    assert metric(learner, "CORRECT_EXERCISES") == 1
    assert UserBadge.objects.filter(user=learner).count() == 0


@pytest.mark.django_db
def test_events_are_rate_limited_per_user(user, auth_client, settings, monkeypatch):
    from gamification.views.throttles import EventsThrottle

    settings.THROTTLING_ENABLED = True
    monkeypatch.setattr(EventsThrottle, "rate", "3/min", raising=False)

    statuses = [post(auth_client, word(f"w{i}")).status_code for i in range(4)]

    assert statuses == [201, 201, 201, 429]
    assert ActivityEvent.objects.filter(user=user).count() == 3
    assert post(client_for(UserFactory()), word()).status_code == 201
