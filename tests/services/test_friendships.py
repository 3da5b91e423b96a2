"""Friendships (SPEC §6.1): unfriending keeps history, the FRIENDS gauge follows every change and
the Influencer badges are never taken away."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from gamification.exceptions import NotFoundError
from gamification.models import Friendship, UserBadge, UserMetric
from gamification.services.friends import (
    friend_request_accept,
    friend_request_send,
    friends_metric_refresh,
    friendship_end,
)
from gamification.services.users import user_delete
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db


def friends_metric(user) -> int | None:
    return UserMetric.objects.filter(user=user, activity_type__code="FRIENDS").values_list("value", flat=True).first()


def influencer_levels(user) -> list[int]:
    return sorted(
        UserBadge.objects.filter(user=user, badge__activity_type__code="FRIENDS").values_list("badge__level", flat=True)
    )


def befriend(a, b) -> Friendship:
    request = friend_request_send(sender=a, receiver_username=b.username)
    return friend_request_accept(request_id=request.pk, acting_user=b).friendship


def test_accept_sets_both_friends_metrics_and_awards_influencer_level_1():
    alice, bob = UserFactory(), UserFactory()

    befriend(alice, bob)

    assert friends_metric(alice) == 1 and friends_metric(bob) == 1
    assert influencer_levels(alice) == [1] and influencer_levels(bob) == [1]


def test_third_friend_awards_influencer_level_2():
    hub = UserFactory()
    for _ in range(3):
        befriend(UserFactory(), hub)

    assert friends_metric(hub) == 3
    assert influencer_levels(hub) == [1, 2]


def test_accept_starts_the_friendship_now():
    alice, bob = UserFactory(), UserFactory()
    request = make_friend_request(alice, bob)
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)

    with time_machine.travel(moment, tick=False):
        friendship = friend_request_accept(request_id=request.pk, acting_user=bob).friendship

    friendship.refresh_from_db()
    assert friendship.created_at == moment


def test_unfriend_keeps_the_row_ended_and_inactive():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    friendship = befriend(alice, bob)

    ended = friendship_end(user=alice, friend_username="BOB")

    friendship.refresh_from_db()
    assert friendship.pk == ended.pk
    assert friendship.active is None
    assert friendship.ended_at is not None and friendship.ended_at <= timezone.now()


def test_unfriend_lowers_both_metrics_but_badges_stay():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    befriend(alice, bob)

    friendship_end(user=bob, friend_username="alice")

    assert friends_metric(alice) == 0 and friends_metric(bob) == 0
    assert influencer_levels(alice) == [1] and influencer_levels(bob) == [1]


@pytest.mark.parametrize("name", ["stranger", "nobody", "x" * 200])
def test_unfriend_when_not_friends_is_not_found(name):
    alice = UserFactory(username="alice")
    UserFactory(username="stranger")

    with pytest.raises(NotFoundError):
        friendship_end(user=alice, friend_username=name)


def test_unfriend_yourself_is_not_found():
    alice = UserFactory(username="alice")

    with pytest.raises(NotFoundError):
        friendship_end(user=alice, friend_username="alice")


def test_unfriend_twice_is_not_found_the_second_time():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    befriend(alice, bob)
    friendship_end(user=alice, friend_username="bob")

    with pytest.raises(NotFoundError):
        friendship_end(user=bob, friend_username="alice")


def test_friends_again_later_is_a_new_row_and_the_old_one_keeps_its_history():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first = befriend(alice, bob)
    Friendship.objects.filter(pk=first.pk).update(
        streak_length=12, streak_first_day=0, streak_last_day=11, streak_low_through_day=11, streak_high_through_day=11
    )
    friendship_end(user=alice, friend_username="bob")

    second = befriend(bob, alice)

    assert second.pk != first.pk
    assert Friendship.objects.count() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.active is None and first.streak_length == 12
    assert second.active is True and second.streak_length == 0
    assert friends_metric(alice) == 1 and friends_metric(bob) == 1


def test_deleting_an_account_lowers_former_friends_metric_and_keeps_their_badges():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    befriend(alice, bob)
    befriend(carol, bob)
    assert friends_metric(bob) == 2

    user_delete(user=alice)

    assert friends_metric(bob) == 1
    assert influencer_levels(bob) == [1]


def test_metric_refresh_counts_only_active_friendships():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    make_friends(alice, bob)
    ended = make_friends(alice, carol)
    Friendship.objects.filter(pk=ended.pk).update(active=None, ended_at=timezone.now())

    friends_metric_refresh(user_ids=[alice.pk, carol.pk])

    assert friends_metric(alice) == 1
    assert friends_metric(carol) == 0
