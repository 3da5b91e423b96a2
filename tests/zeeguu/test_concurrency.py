"""Races through the Zeeguu-compatible paths, with real threads and row locks (MariaDB only)."""

import pytest
from django.test import Client

from gamification.models import FriendRequest, Friendship, User
from tests.factories import UserFactory, make_friend_request
from tests.threads import run_in_threads
from tests.zeeguu.conftest import frontend_for
from tests.zeeguu.test_introspection import SESSION, PlatformStub

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def test_first_calls_at_once_with_a_new_platform_session_provision_one_user(settings):
    stub = PlatformStub().start()
    settings.ZEEGUU_SESSION_INTROSPECTION_URL = stub.url
    stub.sessions[SESSION] = {"user_id": "zeeguu-77", "name": "Racer"}
    statuses: list[int] = []
    try:
        errors = run_in_threads(
            6, lambda _: statuses.append(Client().get(f"/zeeguu/get_user_details?session={SESSION}").status_code)
        )
    finally:
        stub.stop()
    assert errors == []
    assert statuses == [200] * 6
    assert User.objects.filter(external_id="zeeguu-77").count() == 1


def test_two_accepts_of_one_request_at_once_make_one_friendship_and_both_answer_200_or_404():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    make_friend_request(alice, bob)
    clients = [frontend_for(bob), frontend_for(bob)]
    statuses: list[int] = []

    errors = run_in_threads(
        2,
        lambda i: statuses.append(
            clients[i].post_json("/accept_friend_request", {"sender_username": "alice"}).status_code
        ),
    )

    assert errors == []
    assert sorted(statuses) == [200, 404]
    assert Friendship.objects.filter(active=True).count() == 1
    assert not FriendRequest.objects.exists()


def test_requests_both_ways_at_once_leave_one():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    calls = [
        (frontend_for(alice), {"receiver_username": "bob"}),
        (frontend_for(bob), {"receiver_username": "alice"}),
    ]
    statuses: list[int] = []

    errors = run_in_threads(
        2, lambda i: statuses.append(calls[i][0].post_json("/send_friend_request", calls[i][1]).status_code)
    )

    assert errors == []
    assert sorted(statuses) == [200, 400]
    assert FriendRequest.objects.count() == 1
