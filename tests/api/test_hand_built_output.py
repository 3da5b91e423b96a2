"""The hot read paths build their answers as plain dicts (gamification.serializers.*_out); each
must equal what its DRF serializer (the schema's source) gives for the same data, byte for byte
once rendered."""

import datetime as dt
import json

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from gamification.models import ActivityType, Badge, LanguageStreak, User, UserBadge, UserMetric
from gamification.selectors.badges import badge_progress_for_user, badges_achieved_by_user
from gamification.selectors.friends import friend_list
from gamification.selectors.leaderboards import classroom_leaderboard, friends_leaderboard
from gamification.selectors.streaks import streaks_of_user
from gamification.selectors.users import user_search, users_with_relationship
from gamification.serializers.badges import (
    ActivityTypeAchievedSerializer,
    ActivityTypeProgressSerializer,
    badge_progress_out,
    badges_achieved_out,
)
from gamification.serializers.friends import (
    FriendSerializer,
    UserProfileSerializer,
    UserSearchResultSerializer,
    friend_list_out,
    user_profile_out,
    user_search_out,
)
from gamification.serializers.leaderboards import LeaderboardSerializer, leaderboard_out
from gamification.serializers.streaks import LanguageStreakSerializer, language_streaks_out
from gamification.serializers.users import MeSerializer, me_out
from gamification.services.classrooms import classroom_create, classroom_join
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db


def same(ours, drf) -> None:
    assert json.dumps(ours) == json.dumps(drf)


@pytest.fixture
def learner():
    user = UserFactory(username="hub_learner", name="Hub Ødegård", timezone="Asia/Tokyo")
    now = timezone.now()
    for n, friend in enumerate(UserFactory.create_batch(4)):
        make_friends(user, friend, since=now - dt.timedelta(days=n + 1))
        LanguageStreak.objects.create(user=friend, language_id="de", length=n, last_date=now.date(), max_length=n + 2)
    for badge in Badge.objects.filter(level__lte=2)[:9]:
        UserBadge.objects.create(
            user=user,
            badge=badge,
            achieved_at=now - dt.timedelta(hours=badge.pk),
            seen_at=now if badge.pk % 2 else None,
        )
    for activity_type in ActivityType.objects.all()[:5]:
        UserMetric.objects.create(user=user, activity_type=activity_type, value=activity_type.pk * 7)
    return user


def request():
    return Request(APIRequestFactory().get("/api/badges/", HTTP_HOST="testserver"))


def test_badge_progress(learner):
    progress = badge_progress_for_user(user=learner)
    req = request()
    drf = ActivityTypeProgressSerializer(progress, many=True, context={"request": req}).data
    assert sum(level["achieved"] for item in drf for level in item["badges"]) == 9
    same(badge_progress_out(progress, req), drf)
    same(badge_progress_out(progress, None), ActivityTypeProgressSerializer(progress, many=True).data)


def test_badges_achieved(learner):
    achieved = badges_achieved_by_user(user=learner)
    req = request()
    assert achieved
    same(
        badges_achieved_out(achieved, req),
        ActivityTypeAchievedSerializer(achieved, many=True, context={"request": req}).data,
    )


def test_friend_list(learner):
    friends = friend_list(user=learner)
    assert len(friends) == 4
    same(friend_list_out(friends), FriendSerializer(friends, many=True).data)


def test_search_and_profile(learner):
    other = UserFactory(username="hub_other")
    make_friend_request(learner, other)
    UserFactory(username="hub_third")
    users = user_search(viewer=learner, term="hub")
    assert {user.relationship.status for user in users} >= {"request_sent", "none"}
    same(user_search_out(users), UserSearchResultSerializer(users, many=True).data)
    friend = User.objects.get(pk=friend_list(user=learner)[0].pk)
    (profile,) = users_with_relationship(viewer=learner, users=[friend])
    assert profile.relationship.status == "friends"
    same(user_profile_out(profile), UserProfileSerializer(profile).data)


@pytest.mark.parametrize("period", ["week", "all"])
def test_friends_leaderboard(learner, period):
    board = friends_leaderboard(user=learner, metric="translated_words", period=period)
    assert len(board.rows) == 5
    same(leaderboard_out(board), LeaderboardSerializer(board).data)


def test_classroom_leaderboard_of_a_teacher(learner):
    teacher = UserFactory()
    classroom = classroom_create(name="Class", language_code="de", teacher_usernames=[teacher.username])
    classroom_join(user=learner, invite_code=classroom.invite_code)
    board = classroom_leaderboard(user=teacher, classroom_id=classroom.pk, metric="reading_time")
    assert board.me is None
    same(leaderboard_out(board), LeaderboardSerializer(board).data)


def test_my_streaks(learner):
    today = timezone.localdate()
    LanguageStreak.objects.create(
        user=learner,
        language_id="de",
        length=9,
        last_date=today - dt.timedelta(days=2),
        max_length=12,
        max_date=today - dt.timedelta(days=40),
        freezes_held=2,
        frozen_days=[(today - dt.timedelta(days=5)).isoformat()],
    )
    LanguageStreak.objects.create(user=learner, language_id="fr", length=0, last_date=None, max_length=0)
    rows = streaks_of_user(user=learner, now=timezone.now())
    assert [row.code for row in rows] == ["de", "fr"]
    assert rows[0].frozen_days and rows[0].max_streak_date
    same(language_streaks_out(rows), LanguageStreakSerializer(rows, many=True).data)


@pytest.mark.parametrize("email", ["hub@example.com", None])
def test_me(learner, email):
    learner.email = email
    features = {"gamification": True}
    same(me_out(learner, features), MeSerializer(learner, context={"features": features}).data)
