import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from gamification.models import Friendship, LanguageStreak
from gamification.services.streaks import practice_record
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends

STREAKS = "/api/streaks/"


def user_streaks(username: str) -> str:
    return f"/api/users/{username}/streaks/"


def practise(user, when: dt.datetime, seconds: int = 120, language: str = "de") -> None:
    with time_machine.travel(when, tick=False):
        practice_record(user=user, language_id=language, occurred_at=when, seconds=seconds)


def utc(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 5, day, hour, minute, tzinfo=dt.UTC)


def get(client: APIClient, url: str, now: dt.datetime):
    with time_machine.travel(now, tick=False):
        return client.get(url)


@pytest.mark.django_db
class TestMyStreaks:
    def test_anonymous_is_401(self, api_client):
        assert api_client.get(STREAKS).status_code == 401

    def test_nothing_practised_is_an_empty_list(self, auth_client):
        response = auth_client.get(STREAKS)

        assert response.status_code == 200
        assert response.json() == []

    def test_every_practised_language_by_streak_then_code(self, user, auth_client):
        for day in (1, 2, 3):
            practise(user, utc(day), language="fr")
        for day in (1, 2):
            practise(user, utc(day), language="de")
        practise(user, utc(3, 9), language="es")
        practise(user, utc(3, 10), language="it", seconds=30)  # practised, never counted
        practise(user, utc(1), language="nl")  # counted once, long ago

        response = get(auth_client, STREAKS, utc(3, 20))

        assert response.status_code == 200
        assert response.json() == [
            {
                "code": "fr",
                "name": "French",
                "daily_streak": 3,
                "max_streak": 3,
                "max_streak_date": "2025-05-03",
                "practiced_today": True,
            },
            {
                "code": "de",
                "name": "German",
                "daily_streak": 2,
                "max_streak": 2,
                "max_streak_date": "2025-05-02",
                "practiced_today": False,
            },
            {
                "code": "es",
                "name": "Spanish",
                "daily_streak": 1,
                "max_streak": 1,
                "max_streak_date": "2025-05-03",
                "practiced_today": True,
            },
            {
                "code": "it",
                "name": "Italian",
                "daily_streak": 0,
                "max_streak": 0,
                "max_streak_date": None,
                "practiced_today": False,
            },
            {
                "code": "nl",
                "name": "Dutch",
                "daily_streak": 0,
                "max_streak": 1,
                "max_streak_date": "2025-05-01",
                "practiced_today": False,
            },
        ]

    def test_days_are_the_callers_local_days(self):
        tokyo = UserFactory(timezone="Asia/Tokyo")
        # 20:00 UTC on 1 and 2 May is 05:00 on 2 and 3 May in Tokyo.
        practise(tokyo, utc(1, 20))
        practise(tokyo, utc(2, 20))

        # 16:00 UTC on 4 May is 01:00 on 5 May in Tokyo: 4 May was missed there.
        assert get(client_for(tokyo), STREAKS, utc(4, 14, 59)).json()[0]["daily_streak"] == 2
        assert get(client_for(tokyo), STREAKS, utc(4, 15, 0)).json()[0]["daily_streak"] == 0

    def test_the_list_costs_the_same_queries_whatever_the_number_of_languages(self, user, auth_client):
        practise(user, utc(1), language="de")
        with CaptureQueriesContext(connection) as one:
            assert len(get(auth_client, STREAKS, utc(1, 13)).json()) == 1
        for language in ("fr", "es", "it", "nl", "pl", "sv"):
            practise(user, utc(1), language=language)

        with CaptureQueriesContext(connection) as seven:
            assert len(get(auth_client, STREAKS, utc(1, 13)).json()) == 7

        # The token, the streak rows with their languages.
        assert len(one) == len(seven) == 2

    def test_reading_writes_nothing(self, user, auth_client):
        practise(user, utc(1))

        with CaptureQueriesContext(connection) as queries:
            get(auth_client, STREAKS, utc(9))

        assert [q["sql"] for q in queries if not q["sql"].upper().startswith("SELECT")] == []
        assert LanguageStreak.objects.get(user=user).length == 1


@pytest.mark.django_db
class TestUserStreaks:
    def test_anonymous_is_401(self, api_client, user):
        assert api_client.get(user_streaks(user.username)).status_code == 401

    def test_my_own_streaks_by_username_in_any_case(self, user, auth_client):
        practise(user, utc(1))

        response = get(auth_client, user_streaks(user.username.upper()), utc(1, 13))

        assert response.status_code == 200
        assert [row["code"] for row in response.json()] == ["de"]

    def test_a_friend_sees_my_streaks_on_my_local_calendar(self):
        kiri = UserFactory(timezone="Pacific/Kiritimati")
        friend = UserFactory(timezone="Pacific/Pago_Pago")
        make_friends(kiri, friend)
        when = dt.datetime(2025, 5, 1, 20, tzinfo=ZoneInfo("Pacific/Kiritimati"))
        practise(kiri, when)

        # Kiritimati's 3 May has begun (10:00 UTC on 2 May); Pago Pago is still on 1 May.
        response = get(client_for(friend), user_streaks(kiri.username), utc(2, 10))

        assert response.status_code == 200
        assert response.json()[0]["daily_streak"] == 0
        assert response.json()[0]["max_streak_date"] == "2025-05-01"

    def test_a_stranger_is_403(self, user):
        stranger = UserFactory()
        practise(user, utc(1))

        response = client_for(stranger).get(user_streaks(user.username))

        assert response.status_code == 403
        assert response.json() == {"detail": "Only this user and their friends can see their streaks."}

    def test_a_former_friend_is_403(self, user):
        former = UserFactory()
        friendship = make_friends(user, former)
        Friendship.objects.filter(pk=friendship.pk).update(active=None, ended_at=friendship.created_at)

        assert client_for(former).get(user_streaks(user.username)).status_code == 403

    @pytest.mark.parametrize("username", ["nobody_here", "x" * 51, "%25", "a.b-c_"])
    def test_an_unknown_user_is_404(self, auth_client, username):
        response = auth_client.get(user_streaks(username))

        assert response.status_code == 404
        assert response.json() == {"detail": "No user with this username."}


@pytest.mark.django_db
class TestThroughEventIngestion:
    def test_two_practice_events_of_one_minute_make_a_counted_day(self, user, auth_client):
        now = utc(10, 12)
        events = [
            {"type": "practice", "kind": "reading", "duration_seconds": 60, "language": "de"},
            {"type": "practice", "kind": "listening", "duration_seconds": 60, "language": "de"},
        ]

        with time_machine.travel(now, tick=False):
            response = auth_client.post("/api/events/", {"events": events}, format="json")
            streaks = auth_client.get(STREAKS).json()

        assert response.status_code == 201
        assert streaks == [
            {
                "code": "de",
                "name": "German",
                "daily_streak": 1,
                "max_streak": 1,
                "max_streak_date": "2025-05-10",
                "practiced_today": True,
            }
        ]

    def test_the_seventh_day_reports_the_consistency_badge(self, user, auth_client):
        responses = []
        for day in range(1, 8):
            with time_machine.travel(utc(day, 18), tick=False):
                event = {"type": "practice", "kind": "exercises", "duration_seconds": 600, "language": "fr"}
                responses.append(auth_client.post("/api/events/", event, format="json").json())

        assert [r["new_badges"] for r in responses[:6]] == [[]] * 6
        assert [(b["code"], b["level"]) for b in responses[6]["new_badges"]] == [("STREAK_DAYS", 1)]
