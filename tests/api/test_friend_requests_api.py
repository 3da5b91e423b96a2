"""Friend requests over HTTP (SPEC §5, §6.1)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from gamification.models import FriendRequest, Friendship, UserBadge, UserMetric
from gamification.views.throttles import FriendRequestThrottle
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db

SUMMARY_KEYS = {"username", "name", "avatar"}
AVATAR_KEYS = {"image", "character_color", "background_color"}


@pytest.fixture
def alice():
    return UserFactory(username="alice", name="Alice A.")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


def summary(user) -> dict:
    return {
        "username": user.username,
        "name": user.name,
        "avatar": {
            "image": user.avatar_image,
            "character_color": user.avatar_character_color,
            "background_color": user.avatar_background_color,
        },
    }


class TestSend:
    def test_201_with_the_request_and_it_is_stored(self, alice, bob):
        response = client_for(bob).post("/api/friend-requests/", {"receiver": "ALICE"}, format="json")

        assert response.status_code == 201
        stored = FriendRequest.objects.get()
        body = response.json()
        assert set(body) == {"id", "sender", "receiver", "created_at"}
        assert body["id"] == stored.pk
        assert body["sender"] == summary(bob)
        assert body["receiver"] == summary(alice)
        assert dt.datetime.fromisoformat(body["created_at"]) == stored.created_at
        assert (stored.sender_id, stored.receiver_id) == (bob.pk, alice.pk)

    def test_yourself_is_400_on_receiver(self, alice):
        response = client_for(alice).post("/api/friend-requests/", {"receiver": "alice"}, format="json")

        assert response.status_code == 400
        assert "receiver" in response.json()
        assert not FriendRequest.objects.exists()

    def test_unknown_username_is_404(self, bob):
        response = client_for(bob).post("/api/friend-requests/", {"receiver": "nobody_here"}, format="json")

        assert response.status_code == 404
        assert response.json() == {"detail": "No user with this username."}

    @pytest.mark.parametrize(
        "body",
        [{}, {"receiver": ""}, {"receiver": "   "}, {"receiver": None}, {"receiver": ["alice"]}, {"receiver": {}}],
    )
    def test_missing_or_malformed_receiver_is_400(self, alice, bob, body):
        response = client_for(bob).post("/api/friend-requests/", body, format="json")

        assert response.status_code == 400
        assert "receiver" in response.json()
        assert not FriendRequest.objects.exists()

    @pytest.mark.parametrize("body", ['["alice"]', '"alice"', "42", "null", "{not json"])
    def test_a_body_that_is_not_an_object_is_400(self, alice, bob, body):
        response = client_for(bob).post("/api/friend-requests/", body, content_type="application/json")

        assert response.status_code == 400
        assert not FriendRequest.objects.exists()

    def test_a_numeric_receiver_is_looked_up_as_a_username(self, bob):
        UserFactory(username="1234")

        response = client_for(bob).post("/api/friend-requests/", {"receiver": 1234}, format="json")

        assert response.status_code == 201
        assert response.json()["receiver"]["username"] == "1234"

    def test_pending_in_either_direction_is_409(self, alice, bob):
        make_friend_request(alice, bob)

        same = client_for(alice).post("/api/friend-requests/", {"receiver": "bob"}, format="json")
        other = client_for(bob).post("/api/friend-requests/", {"receiver": "alice"}, format="json")

        assert (same.status_code, other.status_code) == (409, 409)
        assert "detail" in same.json() and "detail" in other.json()
        assert FriendRequest.objects.count() == 1

    def test_already_friends_is_409(self, alice, bob):
        make_friends(alice, bob)

        response = client_for(bob).post("/api/friend-requests/", {"receiver": "alice"}, format="json")

        assert response.status_code == 409
        assert not FriendRequest.objects.exists()

    def test_anonymous_is_401(self, alice):
        response = APIClient().post("/api/friend-requests/", {"receiver": "alice"}, format="json")

        assert response.status_code == 401
        assert not FriendRequest.objects.exists()

    def test_sending_is_rate_limited_but_reading_is_not(self, settings, monkeypatch, bob):
        settings.THROTTLING_ENABLED = True
        monkeypatch.setattr(FriendRequestThrottle, "rate", "3/min", raising=False)
        client = client_for(bob)
        for i in range(4):
            UserFactory(username=f"target{i}")

        statuses = [
            client.post("/api/friend-requests/", {"receiver": f"target{i}"}, format="json").status_code
            for i in range(4)
        ]
        reads = {client.get("/api/friend-requests/?direction=sent").status_code for _ in range(5)}

        assert statuses == [201, 201, 201, 429]
        assert FriendRequest.objects.count() == 3
        assert reads == {200}


class TestList:
    def test_received_by_default_newest_first(self, alice, bob):
        carol = UserFactory(username="carol")
        now = timezone.now()
        older = make_friend_request(bob, alice, created_at=now - dt.timedelta(hours=2))
        newer = make_friend_request(carol, alice, created_at=now - dt.timedelta(hours=1))
        make_friend_request(alice, UserFactory())  # sent, not received

        response = client_for(alice).get("/api/friend-requests/")

        assert response.status_code == 200
        body = response.json()
        assert [item["id"] for item in body] == [newer.pk, older.pk]
        assert body[0]["sender"] == summary(carol)
        assert body[0]["receiver"] == summary(alice)

    def test_sent_direction(self, alice, bob):
        sent = make_friend_request(alice, bob)
        make_friend_request(UserFactory(), alice)

        response = client_for(alice).get("/api/friend-requests/?direction=sent")

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [sent.pk]
        assert response.json()[0]["receiver"] == summary(bob)

    def test_a_blank_direction_means_the_default(self, alice, bob):
        received = make_friend_request(bob, alice)

        response = client_for(alice).get("/api/friend-requests/?direction=")

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [received.pk]

    @pytest.mark.parametrize("direction", ["both", "RECEIVED", "sent;--", "x" * 5000])
    def test_another_direction_is_400(self, alice, direction):
        response = client_for(alice).get("/api/friend-requests/", {"direction": direction})

        assert response.status_code == 400
        assert "direction" in response.json()

    def test_other_peoples_requests_are_not_listed(self, alice, bob):
        make_friend_request(bob, UserFactory())

        assert client_for(alice).get("/api/friend-requests/").json() == []
        assert client_for(alice).get("/api/friend-requests/?direction=sent").json() == []

    def test_query_count_is_the_same_for_1_and_40_requests(self, alice, django_assert_num_queries):
        make_friend_request(UserFactory(), alice)
        client = client_for(alice)
        with django_assert_num_queries(2):  # token + the requests with both users
            assert len(client.get("/api/friend-requests/").json()) == 1

        for _ in range(39):
            make_friend_request(UserFactory(), alice)
        with django_assert_num_queries(2):
            assert len(client.get("/api/friend-requests/").json()) == 40


class TestCount:
    def test_counts_received_pending_requests_only(self, alice, bob, django_assert_num_queries):
        make_friend_request(bob, alice)
        make_friend_request(UserFactory(), alice)
        make_friend_request(alice, UserFactory())
        client = client_for(alice)

        with django_assert_num_queries(2):
            response = client.get("/api/friend-requests/count/")

        assert response.status_code == 200
        assert response.json() == {"received": 2}

    def test_zero(self, alice):
        assert client_for(alice).get("/api/friend-requests/count/").json() == {"received": 0}


class TestAccept:
    def test_201_with_the_friend_and_the_friendship_exists(self, alice, bob):
        request = make_friend_request(bob, alice)

        response = client_for(alice).post(f"/api/friend-requests/{request.pk}/accept/")

        assert response.status_code == 201
        friendship = Friendship.objects.get()
        assert response.json() == {
            "friend": summary(bob),
            "friends_since": response.json()["friends_since"],
            "friend_streak": 0,
        }
        assert dt.datetime.fromisoformat(response.json()["friends_since"]) == friendship.created_at
        assert friendship.active is True
        assert not FriendRequest.objects.exists()

    def test_accept_updates_friends_metric_and_awards_influencer(self, alice, bob):
        request = make_friend_request(bob, alice)

        client_for(alice).post(f"/api/friend-requests/{request.pk}/accept/")

        for user in (alice, bob):
            assert UserMetric.objects.get(user=user, activity_type__code="FRIENDS").value == 1
            assert UserBadge.objects.filter(user=user, badge__activity_type__code="FRIENDS", badge__level=1).exists()

    @pytest.mark.parametrize("who", ["sender", "stranger"])
    def test_anyone_but_the_receiver_gets_404(self, alice, bob, who):
        request = make_friend_request(bob, alice)
        acting = bob if who == "sender" else UserFactory()

        response = client_for(acting).post(f"/api/friend-requests/{request.pk}/accept/")

        assert response.status_code == 404
        assert "detail" in response.json()
        assert FriendRequest.objects.filter(pk=request.pk).exists()
        assert not Friendship.objects.exists()

    def test_accepting_twice_is_404(self, alice, bob):
        request = make_friend_request(bob, alice)
        client = client_for(alice)
        client.post(f"/api/friend-requests/{request.pk}/accept/")

        assert client.post(f"/api/friend-requests/{request.pk}/accept/").status_code == 404
        assert Friendship.objects.count() == 1


class TestRejectAndCancel:
    def test_reject_by_the_receiver_is_204_and_deletes(self, alice, bob):
        request = make_friend_request(bob, alice)

        response = client_for(alice).post(f"/api/friend-requests/{request.pk}/reject/")

        assert response.status_code == 204
        assert not FriendRequest.objects.exists()
        assert not Friendship.objects.exists()

    def test_reject_by_the_sender_is_404(self, alice, bob):
        request = make_friend_request(bob, alice)

        assert client_for(bob).post(f"/api/friend-requests/{request.pk}/reject/").status_code == 404
        assert FriendRequest.objects.exists()

    def test_cancel_by_the_sender_is_204_and_deletes(self, alice, bob):
        request = make_friend_request(bob, alice)

        response = client_for(bob).delete(f"/api/friend-requests/{request.pk}/")

        assert response.status_code == 204
        assert not FriendRequest.objects.exists()

    def test_cancel_by_the_receiver_is_404(self, alice, bob):
        request = make_friend_request(bob, alice)

        assert client_for(alice).delete(f"/api/friend-requests/{request.pk}/").status_code == 404
        assert FriendRequest.objects.exists()

    @pytest.mark.parametrize(
        "suffix", ["abc", "-1", "0", "1.5", "99999999999999999999999999", "9" * 18, "%27%3B%20DROP"]
    )
    @pytest.mark.parametrize("method,action", [("post", "accept/"), ("post", "reject/"), ("delete", "")])
    def test_bad_or_unknown_ids_are_404(self, alice, bob, suffix, method, action):
        make_friend_request(bob, alice)
        client = client_for(alice)

        response = getattr(client, method)(f"/api/friend-requests/{suffix}/{action}")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert FriendRequest.objects.count() == 1

    def test_methods_not_offered_are_405(self, alice, bob):
        request = make_friend_request(bob, alice)
        client = client_for(alice)

        assert client.get(f"/api/friend-requests/{request.pk}/accept/").status_code == 405
        assert client.put(f"/api/friend-requests/{request.pk}/", {}, format="json").status_code == 405


def test_a_full_round_trip_by_http_alone(alice, bob):
    """Send, see it on both sides, accept, and both see each other as friends."""
    alice_client, bob_client = client_for(alice), client_for(bob)

    request_id = bob_client.post("/api/friend-requests/", {"receiver": "alice"}, format="json").json()["id"]
    assert alice_client.get("/api/friend-requests/count/").json() == {"received": 1}
    assert [r["id"] for r in bob_client.get("/api/friend-requests/?direction=sent").json()] == [request_id]
    assert alice_client.post(f"/api/friend-requests/{request_id}/accept/").status_code == 201

    assert [f["username"] for f in alice_client.get("/api/friends/").json()] == ["bob"]
    assert [f["username"] for f in bob_client.get("/api/friends/").json()] == ["alice"]
    assert alice_client.get("/api/friend-requests/count/").json() == {"received": 0}
