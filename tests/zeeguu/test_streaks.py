"""Streaks through the Zeeguu-compatible paths (docs/zeeguu.md)."""

import datetime as dt

import pytest
import time_machine

from gamification.models import LanguageStreak
from tests.factories import UserFactory, make_friends
from tests.zeeguu.conftest import frontend_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 6, 12, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def streak(user, code: str, *, length: int, last: dt.date | None, best: int, best_date: dt.date | None = None):
    return LanguageStreak.objects.create(
        user=user, language_id=code, length=length, last_date=last, max_length=best, max_date=best_date or last
    )


@pytest.fixture
def me():
    user = UserFactory(username="me_user")
    streak(user, "de", length=3, last=TODAY, best=3)  # practised today
    streak(user, "fr", length=5, last=TODAY - dt.timedelta(days=1), best=9, best_date=dt.date(2024, 5, 1))
    streak(user, "es", length=12, last=TODAY - dt.timedelta(days=4), best=12)  # lapsed: shows 0
    return user


def test_daily_streak_is_the_best_current_streak(me):
    response = frontend_for(me).get("/daily_streak")
    assert response.status_code == 200
    assert response.json() == {"daily_streak": 5}


def test_daily_streak_of_someone_who_never_practised_is_zero():
    assert frontend_for(UserFactory()).get("/daily_streak").json() == {"daily_streak": 0}


def test_all_language_streaks_by_current_streak_with_practiced_today(me):
    assert frontend_for(me).get("/all_language_streaks").json() == [
        {"code": "fr", "language": "French", "daily_streak": 5, "practiced_today": False},
        {"code": "de", "language": "German", "daily_streak": 3, "practiced_today": True},
        {"code": "es", "language": "Spanish", "daily_streak": 0, "practiced_today": False},
    ]


def test_language_streak_history_by_best_run(me):
    assert frontend_for(me).get("/language_streak_history").json() == [
        {"code": "es", "language": "Spanish", "daily_streak": 0, "max_streak": 12, "max_streak_date": "2024-06-08"},
        {"code": "fr", "language": "French", "daily_streak": 5, "max_streak": 9, "max_streak_date": "2024-05-01"},
        {"code": "de", "language": "German", "daily_streak": 3, "max_streak": 3, "max_streak_date": "2024-06-12"},
    ]


def test_a_language_without_a_counted_day_has_a_null_date():
    user = UserFactory()
    streak(user, "it", length=0, last=None, best=0)
    assert frontend_for(user).get("/language_streak_history").json() == [
        {"code": "it", "language": "Italian", "daily_streak": 0, "max_streak": 0, "max_streak_date": None}
    ]


def test_a_friends_history_is_the_full_one(me):
    friend = UserFactory(username="friend")
    make_friends(me, friend)
    assert (
        frontend_for(friend).get("/friend_language_streak_history/ME_USER").json()
        == frontend_for(me).get("/language_streak_history").json()
    )


def test_my_own_history_through_the_friend_path(me):
    mine = frontend_for(me).get("/friend_language_streak_history/me_user").json()
    assert [row["max_streak"] for row in mine] == [12, 9, 3]


def test_a_strangers_history_is_codes_and_names_only(me):
    response = frontend_for(UserFactory()).get("/friend_language_streak_history/me_user")
    assert response.status_code == 200
    assert response.json() == [
        {"code": "es", "language": "Spanish"},
        {"code": "fr", "language": "French"},
        {"code": "de", "language": "German"},
    ]


def test_an_unknown_users_history_is_empty():
    response = frontend_for(UserFactory()).get("/friend_language_streak_history/nobody_here")
    assert (response.status_code, response.json()) == (200, [])


def test_today_is_the_users_own(me):
    # 23:30 UTC on 12 June is already 13 June in Tokyo: "de" (last counted 12 June) is yesterday
    # there, not today.
    me.timezone = "Asia/Tokyo"
    me.save(update_fields=["timezone"])
    with time_machine.travel(dt.datetime(2024, 6, 12, 23, 30, tzinfo=dt.UTC), tick=False):
        rows = {row["code"]: row for row in frontend_for(me).get("/all_language_streaks").json()}
    assert rows["de"]["practiced_today"] is False
    assert rows["de"]["daily_streak"] == 3
    assert rows["fr"]["daily_streak"] == 0
