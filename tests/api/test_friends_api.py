"""My friends over HTTP: the list and unfriending (SPEC §5, §6.1)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from gamification.models import Friendship, LanguageStreak, User, UserBadge, UserMetric
from gamification.selectors import streaks as streak_selectors
from gamification.services.friends import friend_request_accept, friend_request_send
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db

FRIEND_KEYS = {"username", "name", "avatar", "friends_since", "friend_streak", "languages"}


@pytest.fixture
def me():
    return UserFactory(username="me_user")


def bulk_friends(user: User, n: int, *, prefix: str = "pal") -> list[User]:
    """``n`` users befriended with ``user`` in a few statements."""
    User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{i}@example.com",
                username=f"{prefix}{i:04d}",
                avatar_image="fox",
                avatar_character_color="#F6D110",
                avatar_background_color="#FFF9C7",
            )
            for i in range(n)
        ]
    )
    friends = list(User.objects.filter(username__startswith=prefix))
    now = timezone.now()
    Friendship.objects.bulk_create(
        [Friendship(user_low_id=min(user.pk, f.pk), user_high_id=max(user.pk, f.pk), created_at=now) for f in friends]
    )
    return friends


class TestList:
    def test_shape_and_values(self, me):
        friend = UserFactory(username="otter", name="Otto")
        since = timezone.now() - dt.timedelta(days=3)
        make_friends(me, friend, since=since)

        response = client_for(me).get("/api/friends/")

        assert response.status_code == 200
        (item,) = response.json()
        assert set(item) == FRIEND_KEYS
        assert item["username"] == "otter" and item["name"] == "Otto"
        assert item["avatar"] == {
            "image": friend.avatar_image,
            "character_color": friend.avatar_character_color,
            "background_color": friend.avatar_background_color,
        }
        assert dt.datetime.fromisoformat(item["friends_since"]) == since
        assert item["friend_streak"] == 0
        assert isinstance(item["languages"], list)

    def test_friend_streak_and_languages_come_from_the_streak_selectors(self, me, monkeypatch):
        friend = UserFactory(username="otter")
        friendship = make_friends(me, friend)
        languages = [{"code": "de", "name": "German", "daily_streak": 4, "max_streak": 9}]
        calls = {}

        class FakeFriendStreaks:
            def __call__(self, **columns):
                calls["created_at"] = columns["created_at"]
                return 6

        def fake_languages(streaks, *, timezones, rest_dates):
            calls["user_ids"] = [row[0] for row in streaks]
            calls["timezones"] = timezones
            return {friend.pk: languages}

        LanguageStreak.objects.create(
            user=friend, language_id="de", length=1, max_length=1, last_date=dt.date(2026, 1, 1)
        )
        monkeypatch.setattr("gamification.selectors.friends.FriendStreaksNow", FakeFriendStreaks)
        monkeypatch.setattr("gamification.selectors.friends.languages_from_rows", fake_languages)

        (item,) = client_for(me).get("/api/friends/").json()

        assert item["friend_streak"] == 6
        assert item["languages"] == languages
        assert calls == {
            "created_at": friendship.created_at,
            "user_ids": [friend.pk],
            "timezones": {friend.pk: friend.timezone},
        }

    def test_only_current_friends_ordered_by_username_ignoring_case(self, me):
        for name in ["zebra_friend", "Beaver", "alpha"]:
            make_friends(me, UserFactory(username=name))
        former = make_friends(me, UserFactory(username="aaa_former"))
        Friendship.objects.filter(pk=former.pk).update(active=None, ended_at=timezone.now())
        make_friends(UserFactory(username="other1"), UserFactory(username="other2"))

        body = client_for(me).get("/api/friends/").json()

        assert [item["username"] for item in body] == ["alpha", "Beaver", "zebra_friend"]

    def test_works_from_both_sides_of_the_pair(self):
        low, high = UserFactory(), UserFactory()
        make_friends(low, high)

        assert [f["username"] for f in client_for(low).get("/api/friends/").json()] == [high.username]
        assert [f["username"] for f in client_for(high).get("/api/friends/").json()] == [low.username]

    def test_no_friends_is_an_empty_list(self, me):
        assert client_for(me).get("/api/friends/").json() == []

    def test_anonymous_is_401(self):
        assert APIClient().get("/api/friends/").status_code == 401

    def test_query_count_is_identical_with_1_50_and_500_friends(self, me, django_assert_num_queries):
        client = client_for(me)
        bulk_friends(me, 1, prefix="a")
        with CaptureQueriesContext(connection) as baseline:
            assert len(client.get("/api/friends/").json()) == 1
        # Token + friendships with both users, plus whatever the streak selectors need (a fixed
        # number: they take every friendship at once).
        assert len(baseline) <= 6

        bulk_friends(me, 49, prefix="b")
        with django_assert_num_queries(len(baseline)):
            assert len(client.get("/api/friends/").json()) == 50

        bulk_friends(me, 450, prefix="c")
        with django_assert_num_queries(len(baseline)):
            assert len(client.get("/api/friends/").json()) == 500

    def test_the_list_is_capped_at_the_friends_limit(self, me, monkeypatch):
        monkeypatch.setattr("gamification.selectors.friends.FRIENDS_MAX", 3)
        bulk_friends(me, 5)

        body = client_for(me).get("/api/friends/").json()

        assert [item["username"] for item in body] == ["pal0000", "pal0001", "pal0002"]


class TestUnfriend:
    def test_204_ends_the_friendship_and_keeps_the_row(self, me):
        friend = UserFactory(username="otter")
        friendship = make_friends(me, friend)

        response = client_for(me).delete("/api/friends/OTTER/")

        assert response.status_code == 204
        friendship.refresh_from_db()
        assert friendship.active is None and friendship.ended_at is not None
        assert client_for(me).get("/api/friends/").json() == []
        assert client_for(friend).get("/api/friends/").json() == []

    def test_metrics_drop_and_badges_stay(self, me):
        friend = UserFactory(username="otter")
        request = friend_request_send(sender=me, receiver_username="otter")
        friend_request_accept(request_id=request.pk, acting_user=friend)

        client_for(friend).delete(f"/api/friends/{me.username}/")

        for user in (me, friend):
            assert UserMetric.objects.get(user=user, activity_type__code="FRIENDS").value == 0
            assert UserBadge.objects.filter(user=user, badge__activity_type__code="FRIENDS").count() == 1

    @pytest.mark.parametrize("username", ["stranger", "nobody", "me_user", "x" * 300, "%25", "a.b"])
    def test_not_friends_is_404(self, me, username):
        UserFactory(username="stranger")

        response = client_for(me).delete(f"/api/friends/{username}/")

        assert response.status_code == 404
        assert "detail" in response.json()

    def test_unfriending_twice_is_404(self, me):
        make_friends(me, UserFactory(username="otter"))
        client = client_for(me)

        assert client.delete("/api/friends/otter/").status_code == 204
        assert client.delete("/api/friends/otter/").status_code == 404

    def test_anonymous_is_401(self, me):
        friendship = make_friends(me, UserFactory(username="otter"))

        assert APIClient().delete("/api/friends/otter/").status_code == 401
        friendship.refresh_from_db()
        assert friendship.active is True

    def test_friends_again_later_is_a_new_row(self, me):
        friend = UserFactory(username="otter")
        old = make_friends(me, friend)
        client_for(me).delete("/api/friends/otter/")

        request_id = client_for(friend).post("/api/friend-requests/", {"receiver": me.username}, format="json").json()
        accepted = client_for(me).post(f"/api/friend-requests/{request_id['id']}/accept/")

        assert accepted.status_code == 201
        assert accepted.json()["friend_streak"] == 0
        assert Friendship.objects.filter(user_low_id=old.user_low_id, user_high_id=old.user_high_id).count() == 2
        assert Friendship.objects.filter(active=True).exclude(pk=old.pk).count() == 1


def test_streak_selector_stubs_keep_their_signatures():
    """The friends API calls these with keyword arguments; their owner may change the bodies."""
    assert streak_selectors.friend_streaks(friendships=[]) == {}
    assert streak_selectors.languages_for_users(user_ids=[]) == {}
