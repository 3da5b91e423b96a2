"""Blocking (``/api/blocks/``): create, list, lift; the friendship and the pending requests end
with the block, in one transaction; the blocked user is never told."""

import pytest
from django.db import IntegrityError

from gamification.exceptions import NotFoundError
from gamification.models import Block, FriendRequest, Friendship, UserBadge, UserMetric
from gamification.services import blocks as blocks_service
from gamification.services.friends import friend_request_accept, friend_request_send
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request

pytestmark = pytest.mark.django_db


def friends_metric(user) -> int:
    row = UserMetric.objects.filter(user=user, activity_type__code="FRIENDS").first()
    return row.value if row else 0


def befriend(a, b):
    request = friend_request_send(sender=a, receiver_username=b.username)
    return friend_request_accept(request_id=request.pk, acting_user=b).friendship


def test_block_answers_201_with_the_user_summary_and_no_email():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob", email="bob@example.com")

    response = client_for(alice).post("/api/blocks/", {"username": "BOB"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"user", "created_at"}
    assert body["user"]["username"] == "bob"
    assert set(body["user"]) == {"username", "name", "avatar"}
    assert "bob@example.com" not in response.content.decode()
    block = Block.objects.get()
    assert (block.blocker_id, block.blocked_id) == (alice.pk, bob.pk)


def test_blocking_ends_the_friendship_like_unfriending_and_keeps_badges():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    friendship = befriend(alice, bob)
    assert friends_metric(alice) == friends_metric(bob) == 1
    assert UserBadge.objects.filter(user=bob, badge__activity_type__code="FRIENDS").exists()

    response = client_for(alice).post("/api/blocks/", {"username": "bob"}, format="json")

    assert response.status_code == 201
    friendship.refresh_from_db()
    assert friendship.active is None and friendship.ended_at is not None  # history kept
    assert friends_metric(alice) == friends_metric(bob) == 0
    assert UserBadge.objects.filter(user=bob, badge__activity_type__code="FRIENDS").exists()  # badges stay


@pytest.mark.parametrize("direction", ["sent", "received"])
def test_blocking_removes_pending_requests_either_way(direction):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    if direction == "sent":
        make_friend_request(alice, bob)
    else:
        make_friend_request(bob, alice)

    assert client_for(alice).post("/api/blocks/", {"username": "bob"}, format="json").status_code == 201

    assert not FriendRequest.objects.exists()
    assert client_for(bob).get("/api/friend-requests/count/").json() == {"received": 0}


def test_block_is_one_transaction(monkeypatch):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    befriend(alice, bob)
    make_friend_request(UserFactory(), alice)

    def broken(**kwargs):
        raise IntegrityError("simulated failure after the block row")

    monkeypatch.setattr(blocks_service, "friendship_end_if_active", broken)
    with pytest.raises(IntegrityError):
        blocks_service.block_create(blocker=alice, username="bob")

    assert not Block.objects.exists()
    assert Friendship.objects.filter(active=True).count() == 1


def test_block_yourself_is_400():
    alice = UserFactory(username="alice")

    response = client_for(alice).post("/api/blocks/", {"username": " ALICE "}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()
    assert not Block.objects.exists()


@pytest.mark.parametrize("body", [{}, {"username": ""}, {"username": 5}, {"username": None}, []])
def test_block_with_bad_input_is_400(body):
    response = client_for(UserFactory()).post("/api/blocks/", body, format="json")

    assert response.status_code == 400
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize("username", ["nobody", "x" * 60])
def test_block_unknown_is_404(username):
    response = client_for(UserFactory()).post("/api/blocks/", {"username": username}, format="json")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


def test_block_twice_is_409():
    alice, _ = UserFactory(username="alice"), UserFactory(username="bob")
    client = client_for(alice)
    client.post("/api/blocks/", {"username": "bob"}, format="json")

    response = client.post("/api/blocks/", {"username": "Bob"}, format="json")

    assert response.status_code == 409
    assert Block.objects.count() == 1


def test_blocking_someone_who_blocks_me_is_the_answer_for_an_unknown_user():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    client_for(alice).post("/api/blocks/", {"username": "bob"}, format="json")

    response = client_for(bob).post("/api/blocks/", {"username": "alice"}, format="json")
    unknown = client_for(bob).post("/api/blocks/", {"username": "nobody"}, format="json")

    assert response.status_code == unknown.status_code == 404
    assert response.json() == unknown.json()
    assert Block.objects.count() == 1


def test_list_is_mine_newest_first_and_never_those_blocking_me():
    alice = UserFactory(username="alice")
    bob, carol, dave = UserFactory(username="bob"), UserFactory(username="carol"), UserFactory(username="dave")
    client = client_for(alice)
    client.post("/api/blocks/", {"username": "bob"}, format="json")
    client.post("/api/blocks/", {"username": "carol"}, format="json")
    client_for(dave).post("/api/blocks/", {"username": "alice"}, format="json")

    response = client.get("/api/blocks/")

    assert response.status_code == 200
    assert [row["user"]["username"] for row in response.json()] == [carol.username, bob.username]
    assert client_for(bob).get("/api/blocks/").json() == []


def test_unblock_is_204_and_only_my_blocks():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    client_for(alice).post("/api/blocks/", {"username": "bob"}, format="json")

    assert client_for(bob).delete("/api/blocks/alice/").status_code == 404  # not bob's block
    assert client_for(alice).delete("/api/blocks/BOB/").status_code == 204
    assert not Block.objects.exists()
    assert client_for(alice).delete("/api/blocks/bob/").status_code == 404
    assert client_for(alice).delete("/api/blocks/nobody/").status_code == 404
    # Unblocking does not restore anything, and the two may meet again.
    assert client_for(alice).get(f"/api/users/{bob.username}/").status_code == 200


def test_blocks_need_a_login(api_client):
    assert api_client.get("/api/blocks/").status_code == 401
    assert api_client.post("/api/blocks/", {"username": "x"}, format="json").status_code == 401
    assert api_client.delete("/api/blocks/x/").status_code == 401


def test_two_users_blocking_each_other_leave_one_block():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    blocks_service.block_create(blocker=alice, username="bob")

    with pytest.raises(NotFoundError):
        blocks_service.block_create(blocker=bob, username="alice")

    with pytest.raises(IntegrityError):
        Block.objects.create(
            blocker=bob, blocked=alice, user_low_id=min(alice.pk, bob.pk), user_high_id=max(alice.pk, bob.pk)
        )


def test_the_blocks_list_has_a_fixed_number_of_queries(django_assert_num_queries):
    alice = UserFactory(username="alice")
    for _ in range(3):
        blocks_service.block_create(blocker=alice, username=UserFactory().username)
    client = client_for(alice)
    client.get("/api/blocks/")  # warm the token
    with django_assert_num_queries(2) as few:
        client.get("/api/blocks/")
    for _ in range(30):
        blocks_service.block_create(blocker=alice, username=UserFactory().username)

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/api/blocks/")

    assert len(response.json()) == 33


def test_options_describes_the_endpoint_as_json():
    response = client_for(UserFactory()).options("/api/blocks/")

    assert response.status_code == 200
    assert "username" in response.json()["actions"]["POST"]


def test_a_whitespace_username_is_400():
    response = client_for(UserFactory()).post("/api/blocks/", {"username": "\u00a0 "}, format="json")

    assert response.status_code == 400
