"""Races on the social graph, with real threads and row locks (MariaDB only; SQLite serialises
writers, so these races cannot happen there)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from gamification.exceptions import ConflictError
from gamification.models import FriendRequest, Friendship, UserMetric
from gamification.services import friends as friends_service
from gamification.services.friends import (
    friend_request_accept,
    friend_request_send,
    friends_metric_refresh,
    friendship_end,
)
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

ROUNDS = 8


def run_together(*calls: Callable[[], object]) -> list[object]:
    """Start every call at the same moment in its own thread; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def kinds(results: list[object]) -> list[str]:
    return sorted(type(result).__name__ for result in results)


def test_sends_in_both_directions_at_once_make_one_request_and_one_409():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()

        results = run_together(
            lambda a=a, b=b: friend_request_send(sender=a, receiver_username=b.username),
            lambda a=a, b=b: friend_request_send(sender=b, receiver_username=a.username),
        )

        assert kinds(results) == ["ConflictError", "FriendRequest"], results
        assert FriendRequest.objects.filter(user_low_id=min(a.pk, b.pk), user_high_id=max(a.pk, b.pk)).count() == 1


def test_two_accepts_at_once_make_one_friendship_and_one_404():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()
        request = make_friend_request(a, b)

        results = run_together(
            lambda b=b, r=request: friend_request_accept(request_id=r.pk, acting_user=b),
            lambda b=b, r=request: friend_request_accept(request_id=r.pk, acting_user=b),
        )

        assert kinds(results) == ["AcceptedFriendship", "NotFoundError"], results
        assert Friendship.objects.filter(user_low_id=min(a.pk, b.pk), user_high_id=max(a.pk, b.pk)).count() == 1
        assert not FriendRequest.objects.filter(pk=request.pk).exists()
        assert UserMetric.objects.get(user=b, activity_type__code="FRIENDS").value == 1


def test_accept_racing_cancel_over_http_leaves_a_friendship_xor_nothing_never_a_500():
    outcomes = set()
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()
        request = make_friend_request(a, b)
        sender_client, receiver_client = client_for(a), client_for(b)

        accept, cancel = run_together(
            lambda c=receiver_client, r=request: c.post(f"/api/friend-requests/{r.pk}/accept/").status_code,
            lambda c=sender_client, r=request: c.delete(f"/api/friend-requests/{r.pk}/").status_code,
        )

        assert (accept, cancel) in {(201, 404), (404, 204)}
        friendships = Friendship.objects.filter(user_low_id=min(a.pk, b.pk), user_high_id=max(a.pk, b.pk)).count()
        assert not FriendRequest.objects.filter(pk=request.pk).exists()
        assert friendships == (1 if accept == 201 else 0)
        outcomes.add((accept, cancel))
    print("accept/cancel outcomes seen:", sorted(outcomes))


def test_accepts_for_one_user_at_once_count_every_friend():
    """Two friendships of one user created at the same moment: the FRIENDS gauge sees both."""
    for round_ in range(ROUNDS):
        hub, a, b = UserFactory(), UserFactory(), UserFactory()
        existing = round_ % 2  # every other round, the hub's metric row exists already
        if existing:
            make_friends(hub, UserFactory())
            friends_metric_refresh(user_ids=[hub.pk])
        first, second = make_friend_request(a, hub), make_friend_request(b, hub)

        results = run_together(
            lambda h=hub, r=first: friend_request_accept(request_id=r.pk, acting_user=h),
            lambda h=hub, r=second: friend_request_accept(request_id=r.pk, acting_user=h),
        )

        assert kinds(results) == ["AcceptedFriendship", "AcceptedFriendship"], results
        assert UserMetric.objects.get(user=hub, activity_type__code="FRIENDS").value == 2 + existing


def test_a_send_racing_the_accept_of_the_pairs_request_never_leaves_both():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()
        request = make_friend_request(a, b)

        accept, send = run_together(
            lambda b=b, r=request: friend_request_accept(request_id=r.pk, acting_user=b),
            lambda a=a, b=b: friend_request_send(sender=b, receiver_username=a.username),
        )

        assert type(accept).__name__ == "AcceptedFriendship"
        assert isinstance(send, ConflictError), send
        assert Friendship.objects.filter(user_low_id=min(a.pk, b.pk), active=True).count() == 1
        assert not FriendRequest.objects.filter(user_low_id=min(a.pk, b.pk), user_high_id=max(a.pk, b.pk)).exists()


def test_a_send_that_checked_before_an_accept_committed_still_gets_409(monkeypatch):
    """The narrowest window, forced: the send finds no friendship, then the accept commits (the
    request is gone), then the send inserts its request. It must notice the new friendship."""
    a, b = UserFactory(), UserFactory()
    request = make_friend_request(a, b)
    accepted = threading.Event()
    real_check = friends_service._active_friendship
    paused = []

    def check_then_wait_for_the_accept(x_id: int, y_id: int):
        result = real_check(x_id, y_id)
        if threading.current_thread().name == "sender" and not paused:
            paused.append(True)
            assert accepted.wait(timeout=30)
        return result

    monkeypatch.setattr(friends_service, "_active_friendship", check_then_wait_for_the_accept)
    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["send"] = friend_request_send(sender=b, receiver_username=a.username)
        except Exception as error:
            outcome["send"] = error
        finally:
            connection.close()

    sender = threading.Thread(target=send, name="sender")
    sender.start()
    while not paused:
        threading.Event().wait(0.01)
    friend_request_accept(request_id=request.pk, acting_user=b)
    accepted.set()
    sender.join(timeout=60)

    assert isinstance(outcome["send"], ConflictError), outcome
    assert Friendship.objects.filter(user_low_id=min(a.pk, b.pk), active=True).count() == 1
    assert not FriendRequest.objects.exists()


def test_two_unfriends_at_once_end_it_once():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()
        friendship = make_friends(a, b)

        results = run_together(
            lambda a=a, b=b: friendship_end(user=a, friend_username=b.username),
            lambda a=a, b=b: friendship_end(user=b, friend_username=a.username),
        )

        assert kinds(results) == ["Friendship", "NotFoundError"], results
        friendship.refresh_from_db()
        assert friendship.active is None
        assert Friendship.objects.filter(user_low_id=friendship.user_low_id).count() == 1
        assert UserMetric.objects.get(user=a, activity_type__code="FRIENDS").value == 0
