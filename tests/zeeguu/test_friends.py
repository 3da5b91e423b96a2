"""Friends through the Zeeguu-compatible paths (docs/zeeguu.md; behaviours of upstream's own
friend tests)."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import FriendRequest, Friendship, LanguageStreak
from gamification.throttles import FriendRequestThrottle
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends
from tests.zeeguu.conftest import frontend_for, message_of

pytestmark = pytest.mark.django_db

AVATAR_KEYS = {"image_name", "character_color", "background_color"}


@pytest.fixture
def alice():
    return UserFactory(username="alice", name="Alice A.", email="alice@example.com")


@pytest.fixture
def bob():
    return UserFactory(username="bob", name="Bob B.", email="bob@example.com")


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["username"] for item in response.json()]


def are_friends(a, b) -> bool:
    low, high = sorted([a.pk, b.pk])
    return Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True).exists()


class TestRequestLifecycle:
    def test_send_then_accept_by_sender_username_makes_friends(self, alice, bob):
        sent = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})
        assert sent.status_code == 200
        assert not are_friends(alice, bob)

        accepted = frontend_for(bob).post_json("/accept_friend_request", {"sender_username": "alice"})

        assert accepted.status_code == 200
        body = accepted.json()
        assert set(body) == {"created_at", "friend_streak", "friend_streak_last_updated"}
        assert body["friend_streak"] == 0
        assert dt.datetime.fromisoformat(body["created_at"]).utcoffset() == dt.timedelta(0)
        assert are_friends(alice, bob)
        assert not FriendRequest.objects.exists()
        assert usernames(frontend_for(alice).get("/my_friends")) == ["bob"]
        assert usernames(frontend_for(bob).get("/my_friends")) == ["alice"]

    def test_send_answers_the_request_with_caller_as_sender(self, alice, bob):
        response = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        assert response.status_code == 200
        body = response.json()
        assert body["sender"] == {"name": "Alice A.", "username": "alice"}
        assert body["receiver"] == {"name": "Bob B.", "username": "bob"}
        assert dt.datetime.fromisoformat(body["created_at"]).tzinfo is not None
        assert FriendRequest.objects.filter(sender=alice, receiver=bob).exists()

    def test_reject_after_a_send_succeeds_and_removes_the_request(self, alice, bob):
        frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        response = frontend_for(bob).post_json("/reject_friend_request", {"sender_username": "alice"})

        assert response.status_code == 200
        assert response.json() == {"success": True}
        assert not FriendRequest.objects.exists()
        assert not are_friends(alice, bob)

    def test_cancel_after_a_send_succeeds_and_removes_the_request(self, alice, bob):
        frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        response = frontend_for(alice).post_json("/delete_friend_request", {"receiver_username": "bob"})

        assert response.status_code == 200
        assert response.json() == {"success": True}
        assert not FriendRequest.objects.exists()

    def test_send_accept_unfriend_succeeds_and_keeps_the_history(self, alice, bob):
        frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})
        frontend_for(bob).post_json("/accept_friend_request", {"sender_username": "alice"})

        response = frontend_for(alice).post_json("/unfriend", {"receiver_username": "bob"})

        assert response.status_code == 200
        assert response.json() == {"success": True}
        assert not are_friends(alice, bob)
        assert Friendship.objects.filter(ended_at__isnull=False).count() == 1

    def test_usernames_in_bodies_match_ignoring_case(self, alice, bob):
        assert frontend_for(alice).post_json("/send_friend_request", {"receiver_username": " BOB "}).status_code == 200
        assert frontend_for(bob).post_json("/accept_friend_request", {"sender_username": "Alice"}).status_code == 200
        assert are_friends(alice, bob)


class TestRefusals:
    @pytest.mark.parametrize(
        "path, body, message",
        [
            ("/send_friend_request", {}, "Missing receiver username"),
            ("/send_friend_request", {"receiver_username": ""}, "Missing receiver username"),
            ("/send_friend_request", {"receiver_username": 42}, "Missing receiver username"),
            ("/send_friend_request", ["bob"], "Missing receiver username"),
            ("/send_friend_request", {"receiver_username": "nobody_here"}, "Receiver user not found"),
            ("/send_friend_request", {"receiver_username": "alice"}, "cannot send friend request to yourself"),
            ("/accept_friend_request", {}, "Missing sender username"),
            ("/accept_friend_request", {"sender_username": "nobody_here"}, "Sender user not found"),
            ("/accept_friend_request", {"sender_username": "ALICE"}, "cannot send friend request to yourself"),
            ("/reject_friend_request", {}, "Missing sender username"),
            ("/reject_friend_request", {"sender_username": "nobody_here"}, "Sender user not found"),
            ("/reject_friend_request", {"sender_username": "alice"}, "cannot send friend request to yourself"),
            ("/unfriend", {}, "Missing receiver username"),
            ("/unfriend", {"receiver_username": "nobody_here"}, "Receiver user not found"),
            ("/unfriend", {"receiver_username": "alice"}, "cannot send friend request to yourself"),
        ],
    )
    def test_bad_targets_are_400_with_upstreams_message(self, alice, path, body, message):
        response = frontend_for(alice).post_json(path, body)
        assert message_of(response, 400) == message
        assert not FriendRequest.objects.exists()

    @pytest.mark.parametrize("body", [{"receiver_username": "missing_user"}, {}])
    def test_cancel_naming_an_unknown_user_is_404_user_not_found(self, alice, body):
        response = frontend_for(alice).post_json("/delete_friend_request", body)
        assert message_of(response, 404) == "User not found"

    def test_accept_without_a_request_is_404(self, alice, bob):
        make_friend_request(alice, bob)  # the other direction: not bob's to accept from alice
        response = frontend_for(alice).post_json("/accept_friend_request", {"sender_username": "bob"})
        assert message_of(response, 404) == "No friend request found to accept"
        assert not are_friends(alice, bob)

    def test_missing_targets_give_success_false_for_reject_cancel_and_unfriend(self, alice, bob):
        client = frontend_for(alice)
        for path, key in (
            ("/reject_friend_request", "sender_username"),
            ("/delete_friend_request", "receiver_username"),
            ("/unfriend", "receiver_username"),
        ):
            response = client.post_json(path, {key: "bob"})
            assert response.status_code == 200, path
            assert response.json() == {"success": False}, path

    def test_cancel_only_cancels_my_own_request(self, alice, bob):
        make_friend_request(bob, alice)
        response = frontend_for(alice).post_json("/delete_friend_request", {"receiver_username": "bob"})
        assert response.json() == {"success": False}
        assert FriendRequest.objects.count() == 1

    @pytest.mark.parametrize("direction", ["mine", "theirs"])
    def test_a_pending_request_either_way_refuses_another(self, alice, bob, direction):
        sender, receiver = (alice, bob) if direction == "mine" else (bob, alice)
        make_friend_request(sender, receiver)

        response = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        assert message_of(response, 400) == "A friend request already exists between these users."
        assert FriendRequest.objects.count() == 1

    def test_a_request_to_an_existing_friend_is_a_400(self, alice, bob):
        # Upstream lets it through; this service's rule holds (SPEC §12).
        make_friends(alice, bob)

        response = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        assert message_of(response, 400) == "You are already friends with this user."
        assert not FriendRequest.objects.exists()

    def test_a_body_that_is_not_json_is_a_415_message(self, alice):
        response = frontend_for(alice).post_form("/send_friend_request", {"receiver_username": "bob"})
        assert "Unsupported media type" in message_of(response, 415)

    def test_friend_actions_need_a_session(self, anonymous_frontend, bob):
        response = anonymous_frontend.post_json("/send_friend_request", {"receiver_username": "bob"})
        message_of(response, 401)
        assert not FriendRequest.objects.exists()

    def test_sending_shares_the_api_rate_limit(self, settings, monkeypatch, alice):
        settings.THROTTLING_ENABLED = True
        monkeypatch.setattr(FriendRequestThrottle, "rate", "2/min", raising=False)
        for i in range(3):
            UserFactory(username=f"target{i}")

        first = client_for(alice).post("/api/friend-requests/", {"receiver": "target0"}, format="json")
        second = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "target1"})
        third = frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "target2"})

        assert (first.status_code, second.status_code) == (201, 200)
        assert message_of(third, 429) == "Too many requests; try again later."
        assert "Retry-After" in third
        assert FriendRequest.objects.count() == 2


class TestLists:
    def test_every_list_endpoint_answers_a_list(self, alice):
        client = frontend_for(alice)
        for path in (
            "/get_sent_friend_requests",
            "/get_received_friend_requests",
            "/search_users?query=test",
            "/my_friends",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert isinstance(response.json(), list), path

    def test_my_friends_shape_with_languages_by_best_run(self, alice, bob):
        make_friends(alice, bob)
        today = timezone.now().date()
        LanguageStreak.objects.create(user=bob, language_id="de", length=2, last_date=today, max_length=3)
        LanguageStreak.objects.create(user=bob, language_id="fr", length=1, last_date=today, max_length=8)

        (friend,) = frontend_for(alice).get("/my_friends").json()

        assert set(friend) == {"name", "username", "avatar", "friendship", "languages"}
        assert friend["avatar"] == {
            "image_name": bob.avatar_image,
            "character_color": bob.avatar_character_color,
            "background_color": bob.avatar_background_color,
        }
        assert set(friend["friendship"]) == {"created_at", "friend_streak", "friend_streak_last_updated"}
        assert friend["languages"] == [
            {"code": "fr", "language": "French", "daily_streak": 1, "max_streak": 8},
            {"code": "de", "language": "German", "daily_streak": 2, "max_streak": 3},
        ]

    def test_a_friend_without_languages_has_null_languages(self, alice, bob):
        make_friends(alice, bob)
        (friend,) = frontend_for(alice).get("/my_friends").json()
        assert friend["languages"] is None

    def test_friend_streak_is_the_current_one_of_the_selectors(self, alice, bob, monkeypatch):
        from gamification.selectors import friends as friend_selectors

        make_friends(alice, bob)
        monkeypatch.setattr(friend_selectors.FriendStreaksNow, "__call__", lambda self, **columns: 5)

        (friend,) = frontend_for(alice).get("/my_friends").json()

        assert friend["friendship"]["friend_streak"] == 5

    def test_my_friends_costs_the_same_queries_at_1_and_20_friends(self, alice, django_assert_num_queries):
        make_friends(alice, UserFactory())
        client = frontend_for(alice)
        client.get("/my_friends")  # the token's first use may renew it
        with django_assert_num_queries(3):  # session token, friendships with the friends, languages
            assert len(client.get("/my_friends").json()) == 1
        for _ in range(19):
            make_friends(alice, UserFactory())
        with django_assert_num_queries(3):
            assert len(client.get("/my_friends").json()) == 20

    def test_received_requests_newest_first_with_the_senders_avatar(self, alice, bob):
        carol = UserFactory(username="carol")
        now = timezone.now()
        make_friend_request(bob, alice, created_at=now - dt.timedelta(hours=2))
        make_friend_request(carol, alice, created_at=now - dt.timedelta(hours=1))
        make_friend_request(alice, UserFactory(username="dave"))  # sent, not received

        response = frontend_for(alice).get("/get_received_friend_requests")

        assert response.status_code == 200
        first, second = response.json()
        assert (first["sender"]["username"], second["sender"]["username"]) == ("carol", "bob")
        assert set(first["sender"]) == {"name", "username", "avatar"}
        assert set(first["sender"]["avatar"]) == AVATAR_KEYS
        assert first["receiver"] == {"name": "Alice A.", "username": "alice"}
        assert dt.datetime.fromisoformat(first["created_at"]) > dt.datetime.fromisoformat(second["created_at"])

    def test_received_requests_cost_the_same_queries_at_1_and_20(self, alice, django_assert_num_queries):
        make_friend_request(UserFactory(), alice)
        client = frontend_for(alice)
        client.get("/validate")
        with django_assert_num_queries(2):
            assert len(client.get("/get_received_friend_requests").json()) == 1
        for _ in range(19):
            make_friend_request(UserFactory(), alice)
        with django_assert_num_queries(2):
            assert len(client.get("/get_received_friend_requests").json()) == 20

    def test_the_received_count_is_a_bare_integer(self, alice, bob):
        make_friend_request(bob, alice)
        make_friend_request(UserFactory(), alice)
        make_friend_request(alice, UserFactory())

        response = frontend_for(alice).get("/get_number_of_received_friend_requests")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.content == b"2"


class TestFriendsOf:
    def test_a_friends_list_includes_the_caller_and_their_other_friends(self, alice, bob):
        carol = UserFactory(username="carol")
        make_friends(alice, bob)
        make_friends(bob, carol)

        response = frontend_for(alice).get("/friends_of/bob")

        assert sorted(usernames(response)) == ["alice", "carol"]
        for item in response.json():
            assert set(item) == {"name", "username", "avatar", "languages"}

    def test_languages_are_codes_and_names_only(self, alice, bob):
        make_friends(alice, bob)
        LanguageStreak.objects.create(
            user=alice, language_id="de", length=4, last_date=timezone.now().date(), max_length=4
        )
        (item,) = frontend_for(bob).get("/friends_of/bob").json()
        assert item["languages"] == [{"code": "de", "language": "German"}]

    def test_my_own_friends_list(self, alice, bob):
        make_friends(alice, bob)
        assert usernames(frontend_for(alice).get("/friends_of/ALICE")) == ["bob"]

    def test_a_strangers_list_is_403_with_upstreams_message(self, alice, bob):
        response = frontend_for(alice).get("/friends_of/bob")
        assert message_of(response, 403) == "You can only view friends of yourself or your friends."

    def test_an_unknown_user_has_an_empty_list(self, alice):
        response = frontend_for(alice).get("/friends_of/nobody_here")
        assert response.status_code == 200
        assert response.json() == []


class TestFriendDetails:
    def test_a_friends_details(self, alice, bob):
        since = timezone.now() - dt.timedelta(days=3)
        make_friends(alice, bob, since=since)

        response = frontend_for(alice).get("/get_friend_details/bob")

        assert response.status_code == 200
        body = response.json()
        assert (body["name"], body["username"]) == ("Bob B.", "bob")
        assert dt.datetime.fromisoformat(body["created_at"]) == bob.created_at
        assert set(body["user_avatar"]) == AVATAR_KEYS
        assert "email" not in body and "bob@example.com" not in response.content.decode()
        assert body["friendship"]["is_accepted"] is True
        assert isinstance(body["friendship"]["friend_streak"], int)
        assert dt.datetime.fromisoformat(body["friendship"]["created_at"]) == since

    @pytest.mark.parametrize("i_sent_it", [True, False])
    def test_a_pending_request_either_way_is_not_accepted(self, alice, bob, i_sent_it):
        sender, receiver = (alice, bob) if i_sent_it else (bob, alice)
        make_friend_request(sender, receiver)

        friendship = frontend_for(alice).get("/get_friend_details/bob").json()["friendship"]

        assert friendship["is_accepted"] is False
        assert friendship["sender_username"] == sender.username
        assert friendship["receiver_username"] == receiver.username
        assert friendship["friend_streak"] == 0

    def test_no_relationship_leaves_friendship_out(self, alice, bob):
        body = frontend_for(alice).get("/get_friend_details/BOB").json()
        assert "friendship" not in body
        assert body["username"] == "bob"

    def test_an_unknown_user_is_upstreams_401(self, alice):
        response = frontend_for(alice).get("/get_friend_details/nobody_here")
        assert message_of(response, 401) == "Not friends with this user or user not found."


class TestSameDataAsTheApi:
    def test_a_request_sent_here_is_listed_by_the_api_both_ways(self, alice, bob):
        frontend_for(alice).post_json("/send_friend_request", {"receiver_username": "bob"})

        sent = client_for(alice).get("/api/friend-requests/?direction=sent").json()
        received = client_for(bob).get("/api/friend-requests/").json()

        assert [item["receiver"]["username"] for item in sent] == ["bob"]
        assert [item["sender"]["username"] for item in received] == ["alice"]
        assert client_for(bob).get("/api/friend-requests/count/").json() == {"received": 1}

    def test_a_request_sent_through_the_api_is_received_here_and_accepted_there(self, alice, bob):
        created = client_for(alice).post("/api/friend-requests/", {"receiver": "bob"}, format="json")
        assert created.status_code == 201

        assert [r["sender"]["username"] for r in frontend_for(bob).get("/get_received_friend_requests").json()] == [
            "alice"
        ]
        assert [r["receiver"]["username"] for r in frontend_for(alice).get("/get_sent_friend_requests").json()] == [
            "bob"
        ]
        assert frontend_for(bob).get("/get_number_of_received_friend_requests").json() == 1

        accepted = client_for(bob).post(f"/api/friend-requests/{created.json()['id']}/accept/")
        assert accepted.status_code == 201
        assert usernames(frontend_for(alice).get("/my_friends")) == ["bob"]

    def test_an_accept_here_is_a_friendship_there_and_an_unfriend_there_ends_it_here(self, alice, bob):
        make_friend_request(alice, bob)
        frontend_for(bob).post_json("/accept_friend_request", {"sender_username": "alice"})

        assert [f["username"] for f in client_for(alice).get("/api/friends/").json()] == ["bob"]
        assert client_for(alice).delete("/api/friends/bob/").status_code == 204
        assert frontend_for(bob).get("/my_friends").json() == []
        assert frontend_for(bob).post_json("/unfriend", {"receiver_username": "alice"}).json() == {"success": False}

    def test_the_friends_gauge_follows_actions_made_here(self, alice, bob):
        from gamification.models import UserMetric

        make_friend_request(alice, bob)
        frontend_for(bob).post_json("/accept_friend_request", {"sender_username": "alice"})
        values = dict(UserMetric.objects.filter(activity_type__code="FRIENDS").values_list("user__username", "value"))
        assert values == {"alice": 1, "bob": 1}

        frontend_for(alice).post_json("/unfriend", {"receiver_username": "bob"})
        values = dict(UserMetric.objects.filter(activity_type__code="FRIENDS").values_list("user__username", "value"))
        assert values == {"alice": 0, "bob": 0}
        # Influencer level 1 stays (badges are never taken away).
        types = {item["code"]: item for item in client_for(bob).get("/api/badges/").json()}
        assert types["FRIENDS"]["badges"][0]["achieved"] is True
