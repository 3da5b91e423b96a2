"""Blocks racing friend requests, with real threads and row locks (MariaDB only; SQLite
serialises writers). Whatever the interleaving, the database never holds a friendship or a
pending request beside a block of the same pair."""

import pytest

from gamification.models import Block, FriendRequest, Friendship, UserMetric
from gamification.services.blocks import block_create
from gamification.services.friends import friend_request_accept, friend_request_send
from tests.factories import UserFactory, make_friend_request
from tests.services.test_friends_concurrency import kinds, run_together

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


def pair_state(a, b) -> tuple[int, int, int]:
    low, high = sorted([a.pk, b.pk])
    return (
        Block.objects.filter(user_low_id=low, user_high_id=high).count(),
        Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True).count(),
        FriendRequest.objects.filter(user_low_id=low, user_high_id=high).count(),
    )


def friends_value(user) -> int:
    row = UserMetric.objects.filter(user=user, activity_type__code="FRIENDS").first()
    return row.value if row else 0


@pytest.mark.parametrize("blocker_is", ["receiver", "sender"])
def test_a_block_and_an_accept_at_once_never_leave_a_friendship_beside_the_block(blocker_is):
    outcomes = set()
    for _ in range(ROUNDS):
        sender, receiver = UserFactory(), UserFactory()
        request = make_friend_request(sender, receiver)
        blocker, blocked = (receiver, sender) if blocker_is == "receiver" else (sender, receiver)

        results = run_together(
            lambda r=request, u=receiver: friend_request_accept(request_id=r.pk, acting_user=u),
            lambda b=blocker, t=blocked: block_create(blocker=b, username=t.username),
        )

        assert not [r for r in results if isinstance(r, Exception) and type(r).__name__ != "NotFoundError"], results
        assert pair_state(sender, receiver) == (1, 0, 0), results
        assert friends_value(sender) == friends_value(receiver) == 0
        outcomes.add(tuple(kinds(results)))
    # Both orders are legal: the accept first (then ended by the block) or the block first (404).
    assert outcomes <= {("AcceptedFriendship", "Block"), ("Block", "NotFoundError")}


def test_a_block_and_a_friend_request_at_once_never_leave_a_request_beside_the_block():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()

        results = run_together(
            lambda a=a, b=b: friend_request_send(sender=b, receiver_username=a.username),
            lambda a=a, b=b: block_create(blocker=a, username=b.username),
        )

        assert kinds(results) in (["Block", "FriendRequest"], ["Block", "NotFoundError"]), results
        assert pair_state(a, b) == (1, 0, 0), results


def test_two_users_blocking_each_other_at_once_make_one_block():
    for _ in range(ROUNDS):
        a, b = UserFactory(), UserFactory()

        results = run_together(
            lambda a=a, b=b: block_create(blocker=a, username=b.username),
            lambda a=a, b=b: block_create(blocker=b, username=a.username),
        )

        assert kinds(results) == ["Block", "NotFoundError"], results
        assert pair_state(a, b) == (1, 0, 0)
