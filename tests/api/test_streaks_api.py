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
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 120,
                "seconds_to_count": 0,
                "at_risk": False,
            },
            {
                "code": "de",
                "name": "German",
                "daily_streak": 2,
                "max_streak": 2,
                "max_streak_date": "2025-05-02",
                "practiced_today": False,
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 0,
                "seconds_to_count": 120,
                "at_risk": True,
            },
            {
                "code": "es",
                "name": "Spanish",
                "daily_streak": 1,
                "max_streak": 1,
                "max_streak_date": "2025-05-03",
                "practiced_today": True,
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 120,
                "seconds_to_count": 0,
                "at_risk": False,
            },
            {
                "code": "it",
                "name": "Italian",
                "daily_streak": 0,
                "max_streak": 0,
                "max_streak_date": None,
                "practiced_today": False,
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 30,
                "seconds_to_count": 90,
                "at_risk": False,
            },
            {
                "code": "nl",
                "name": "Dutch",
                "daily_streak": 0,
                "max_streak": 1,
                "max_streak_date": "2025-05-01",
                "practiced_today": False,
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 0,
                "seconds_to_count": 120,
                "at_risk": False,
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

        # The token, the streak rows with their languages, today's seconds and whether today is a
        # rest day (no other rest day can matter: no streak has missed a day).
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
                "freezes_held": 0,
                "frozen_days": [],
                "seconds_today": 120,
                "seconds_to_count": 0,
                "at_risk": False,
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


@pytest.mark.django_db
class TestFriendStreakAcrossTheDateLine:
    """SPEC §4.2 over HTTP with the clock fixed: day n of a friendship is each friend's n-th local
    date from the day it started, not a calendar date both friends share."""

    @staticmethod
    def befriend(a, b, now: dt.datetime) -> None:
        with time_machine.travel(now, tick=False):
            response = client_for(a).post("/api/friend-requests/", {"receiver": b.username}, format="json")
            assert response.status_code == 201
            accepted = client_for(b).post(f"/api/friend-requests/{response.json()['id']}/accept/")
            assert accepted.status_code == 201
            assert accepted.json()["friend_streak"] == 0

    @staticmethod
    def practise(user, now: dt.datetime, seconds: int = 150) -> None:
        event = {"type": "practice", "kind": "reading", "duration_seconds": seconds, "language": "de"}
        with time_machine.travel(now, tick=False):
            assert client_for(user).post("/api/events/", event, format="json").status_code == 201

    @staticmethod
    def friend_streak(viewer, now: dt.datetime) -> int:
        (friend,) = get(client_for(viewer), "/api/friends/", now).json()
        return friend["friend_streak"]

    @pytest.mark.parametrize(
        "west, east",
        [
            ("America/Los_Angeles", "Asia/Tokyo"),  # 13:44 on 1 December, 06:44 on 2 December
            ("Etc/GMT+10", "Etc/GMT-14"),  # 11:44 on 1 December, 11:44 on 2 December
            ("Etc/GMT+10", "Etc/GMT+9"),  # 11:44 and 12:44 on 1 December
        ],
    )
    def test_practising_at_the_same_instant_on_either_side_of_the_date_line_is_one_shared_day(self, west, east):
        a, b = UserFactory(timezone=west), UserFactory(timezone=east)
        self.befriend(a, b, dt.datetime(2025, 12, 1, 21, 40, tzinfo=dt.UTC))

        self.practise(a, dt.datetime(2025, 12, 1, 21, 44, tzinfo=dt.UTC))
        assert self.friend_streak(a, dt.datetime(2025, 12, 1, 21, 45, tzinfo=dt.UTC)) == 0
        self.practise(b, dt.datetime(2025, 12, 1, 21, 44, 30, tzinfo=dt.UTC))

        assert self.friend_streak(a, dt.datetime(2025, 12, 1, 21, 45, tzinfo=dt.UTC)) == 1
        assert self.friend_streak(b, dt.datetime(2025, 12, 1, 21, 45, tzinfo=dt.UTC)) == 1

    def test_los_angeles_and_tokyo_grow_it_once_a_day_and_lose_it_when_tokyo_misses_its_day(self):
        la, tokyo = UserFactory(timezone="America/Los_Angeles"), UserFactory(timezone="Asia/Tokyo")
        self.befriend(la, tokyo, dt.datetime(2025, 12, 1, 21, 40, tzinfo=dt.UTC))
        day = dt.timedelta(days=1)
        first = dt.datetime(2025, 12, 1, 21, 44, tzinfo=dt.UTC)

        # Day 0: 1 December in Los Angeles, 2 December in Tokyo.
        self.practise(la, first)
        self.practise(tokyo, first)
        assert self.friend_streak(la, first + dt.timedelta(minutes=1)) == 1
        # The next day of each (2 and 3 December), at the same instant: 2, and it stays 2.
        self.practise(la, first + day)
        assert self.friend_streak(tokyo, first + day + dt.timedelta(minutes=1)) == 1
        self.practise(tokyo, first + day)
        assert self.friend_streak(tokyo, first + day + dt.timedelta(minutes=1)) == 2
        assert self.friend_streak(la, first + day + dt.timedelta(hours=10)) == 2
        # Day 2: Los Angeles practises its 3 December; Tokyo skips its 4 December.
        self.practise(la, first + 2 * day)
        assert self.friend_streak(la, first + 2 * day + dt.timedelta(minutes=1)) == 2
        # Tokyo's 4 December ends at 15:00 UTC: 2 until then, 0 from then on.
        assert self.friend_streak(la, dt.datetime(2025, 12, 4, 14, 59, 59, tzinfo=dt.UTC)) == 2
        assert self.friend_streak(la, dt.datetime(2025, 12, 4, 15, 0, tzinfo=dt.UTC)) == 0
        assert self.friend_streak(tokyo, dt.datetime(2025, 12, 4, 15, 0, tzinfo=dt.UTC)) == 0


@pytest.mark.django_db
class TestStreakProtectionFields:
    def test_a_missed_day_after_a_week_shows_the_freeze_spent(self, user, auth_client):
        for day in range(1, 8):
            practise(user, utc(day))
        practise(user, utc(9, 8), seconds=50)

        row = get(auth_client, STREAKS, utc(9, 20)).json()[0]

        assert row["daily_streak"] == 7
        assert row["freezes_held"] == 0
        assert row["frozen_days"] == ["2025-05-08"]
        assert (row["seconds_today"], row["seconds_to_count"], row["at_risk"]) == (50, 70, True)

    def test_rest_day_today_is_not_at_risk(self, user, auth_client):
        from gamification.models import RestDay

        practise(user, utc(1))
        RestDay.objects.create(user=user, start=dt.date(2025, 5, 2), end=dt.date(2025, 5, 3))

        row = get(auth_client, STREAKS, utc(3, 20)).json()[0]

        assert (row["daily_streak"], row["at_risk"], row["seconds_to_count"], row["freezes_held"]) == (1, False, 0, 0)

    def test_rest_day_today_right_after_a_counted_day_is_read_with_the_streaks(
        self, user, auth_client, django_assert_num_queries
    ):
        from gamification.models import RestDay

        practise(user, utc(1))
        practise(user, utc(1), language="fr")
        RestDay.objects.create(user=user, start=dt.date(2025, 5, 2), end=dt.date(2025, 5, 2))

        with django_assert_num_queries(2):  # the token, the streaks with today's rest flag
            rows = get(auth_client, STREAKS, utc(2, 20)).json()

        assert [(row["code"], row["daily_streak"], row["at_risk"], row["seconds_to_count"]) for row in rows] == [
            ("de", 1, False, 0),
            ("fr", 1, False, 0),
        ]
        # The day after, not resting: 2 May was missed unless it was a rest day, so the rest days
        # are read (it was one: the streaks stand, at risk).
        with django_assert_num_queries(3):
            rows = get(auth_client, STREAKS, utc(3, 20)).json()
        assert [(row["daily_streak"], row["at_risk"], row["seconds_to_count"]) for row in rows] == [(1, True, 120)] * 2

    def test_rest_days_are_read_when_a_streak_missed_a_day(self, user, auth_client, django_assert_num_queries):
        from gamification.models import RestDay

        practise(user, utc(1))
        practise(user, utc(4), language="fr")
        RestDay.objects.create(user=user, start=dt.date(2025, 5, 2), end=dt.date(2025, 5, 3))

        with django_assert_num_queries(3):  # the token, the streaks, the rest days since 1 May
            rows = get(auth_client, STREAKS, utc(4, 20)).json()

        # de: 2 and 3 May rest, so the 1-day run stands on 4 May (not counted yet: at risk).
        assert [(row["code"], row["daily_streak"], row["at_risk"]) for row in rows] == [
            ("de", 1, True),
            ("fr", 1, False),
        ]

    def test_the_queries_do_not_grow_with_rest_days_or_frozen_days(
        self, user, auth_client, django_assert_max_num_queries
    ):
        from gamification.models import RestDay

        for day in range(1, 15):
            practise(user, utc(day), language="de")
            practise(user, utc(day), language="fr")
        for month in (6, 7, 8):
            RestDay.objects.create(user=user, start=dt.date(2025, month, 1), end=dt.date(2025, month, 14))

        with django_assert_max_num_queries(3):  # the token, streaks with today's seconds, rest days
            rows = get(auth_client, STREAKS, utc(17, 9)).json()

        assert [(row["code"], row["daily_streak"], row["freezes_held"]) for row in rows] == [
            ("de", 14, 0),
            ("fr", 14, 0),
        ]
        assert rows[0]["frozen_days"] == ["2025-05-15", "2025-05-16"]
