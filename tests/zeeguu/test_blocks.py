"""Blocks through the Zeeguu-compatible paths: the same selectors as ``/api/``, so a user in a
block with the caller looks exactly like an unknown one there too."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import FriendRequest
from gamification.services.blocks import block_create
from tests.boards import practice
from tests.factories import UserFactory, make_friend_request, make_friends
from tests.zeeguu.conftest import frontend_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    alice = UserFactory(username="alice", name="Alice")
    bob = UserFactory(username="bob", name="Bob")
    make_friends(alice, bob, since=timezone.now() - dt.timedelta(days=30))
    practice(alice, "reading", 300, timezone.now())
    practice(bob, "reading", 600, timezone.now())
    block_create(blocker=bob, username="alice")
    return alice, bob


def both_ways(pair):
    alice, bob = pair
    return [(alice, bob), (bob, alice)]


def same_answer(viewer, template: str, hidden: str, method: str = "get", body_key: str | None = None):
    client = frontend_for(viewer)
    if method == "get":
        answers = [client.get(template.format(name)) for name in (hidden, "no_such_user")]
    else:
        answers = [client.post_json(template, {body_key: name}) for name in (hidden, "no_such_user")]
    assert answers[0].status_code == answers[1].status_code, [a.content for a in answers]
    assert answers[0].content == answers[1].content
    return answers[0]


def test_search_leaves_them_out(pair):
    for viewer, other in both_ways(pair):
        response = frontend_for(viewer).get(f"/search_users?query={other.username}")
        assert response.status_code == 200
        assert response.json() == []


@pytest.mark.parametrize(
    "template",
    ["/get_friend_details/{}", "/friends_of/{}", "/friend_badges/{}", "/friend_language_streak_history/{}"],
)
def test_profiles_answer_as_for_an_unknown_user(pair, template):
    for viewer, other in both_ways(pair):
        same_answer(viewer, template, other.username)


@pytest.mark.parametrize(
    "path,key",
    [
        ("/send_friend_request", "receiver_username"),
        ("/delete_friend_request", "receiver_username"),
        ("/accept_friend_request", "sender_username"),
        ("/reject_friend_request", "sender_username"),
        ("/unfriend", "receiver_username"),
    ],
)
def test_friend_actions_answer_as_for_an_unknown_user(pair, path, key):
    for viewer, other in both_ways(pair):
        same_answer(viewer, path, other.username, method="post", body_key=key)
    assert not FriendRequest.objects.exists()


def test_my_friends_and_friends_boards_leave_them_out(pair):
    for viewer in pair:
        client = frontend_for(viewer)
        assert client.get("/my_friends").json() == []
        rows = client.get("/friends_leaderboard?metric=reading_time").json()
        assert [row["user"]["username"] for row in rows] == [viewer.username]


def test_a_third_partys_friends_list_leaves_out_whom_the_viewer_is_blocked_with(pair):
    alice, bob = pair
    carol = UserFactory(username="carol")
    make_friends(carol, alice)
    make_friends(carol, bob)

    response = frontend_for(alice).get("/friends_of/carol")

    assert response.status_code == 200
    assert [row["username"] for row in response.json()] == ["alice"]


def test_a_request_sent_before_the_block_is_gone():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    make_friend_request(alice, bob)
    block_create(blocker=bob, username="alice")

    assert frontend_for(bob).get("/get_received_friend_requests").json() == []
    assert frontend_for(alice).get("/get_sent_friend_requests").json() == []
