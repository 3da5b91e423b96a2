"""Friend request services (SPEC §6.1): send, accept, reject, cancel."""

import pytest
from django.core.exceptions import ValidationError

from gamification.exceptions import ConflictError, NotFoundError
from gamification.models import FriendRequest, Friendship
from gamification.services import friends as friends_service
from gamification.services.friends import (
    friend_request_accept,
    friend_request_cancel,
    friend_request_reject,
    friend_request_send,
)
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


class TestSend:
    def test_send_creates_one_pending_request_with_the_pair_in_id_order(self, alice, bob):
        request = friend_request_send(sender=bob, receiver_username="alice")

        stored = FriendRequest.objects.get()
        assert stored.pk == request.pk
        assert (stored.sender_id, stored.receiver_id) == (bob.pk, alice.pk)
        assert (stored.user_low_id, stored.user_high_id) == (min(alice.pk, bob.pk), max(alice.pk, bob.pk))

    def test_receiver_is_matched_ignoring_case_and_surrounding_spaces(self, alice, bob):
        request = friend_request_send(sender=bob, receiver_username="  ALICE ")

        assert request.receiver_id == alice.pk

    def test_to_yourself_is_a_validation_error_on_receiver(self, alice):
        with pytest.raises(ValidationError) as error:
            friend_request_send(sender=alice, receiver_username="Alice")

        assert "receiver" in error.value.message_dict
        assert not FriendRequest.objects.exists()

    def test_blank_receiver_is_a_validation_error(self, alice):
        with pytest.raises(ValidationError):
            friend_request_send(sender=alice, receiver_username="   ")

    @pytest.mark.parametrize("name", ["nobody", "x" * 51, "al%", "al_ce"])
    def test_unknown_username_is_not_found(self, alice, bob, name):
        with pytest.raises(NotFoundError):
            friend_request_send(sender=bob, receiver_username=name)
        assert not FriendRequest.objects.exists()

    def test_second_request_same_direction_is_a_conflict(self, alice, bob):
        friend_request_send(sender=bob, receiver_username="alice")

        with pytest.raises(ConflictError):
            friend_request_send(sender=bob, receiver_username="alice")
        assert FriendRequest.objects.count() == 1

    def test_request_in_the_other_direction_is_a_conflict(self, alice, bob):
        friend_request_send(sender=bob, receiver_username="alice")

        with pytest.raises(ConflictError, match="accept it"):
            friend_request_send(sender=alice, receiver_username="bob")
        assert FriendRequest.objects.count() == 1

    def test_already_friends_is_a_conflict(self, alice, bob):
        make_friends(alice, bob)

        with pytest.raises(ConflictError, match="already friends"):
            friend_request_send(sender=bob, receiver_username="alice")
        assert not FriendRequest.objects.exists()

    def test_former_friends_may_send_again(self, alice, bob):
        friendship = make_friends(alice, bob)
        friends_service.friendship_end_pair(user_id=alice.pk, friend_id=bob.pk)

        request = friend_request_send(sender=bob, receiver_username="alice")

        assert request.pk is not None
        friendship.refresh_from_db()
        assert friendship.ended_at is not None

    def test_integrity_error_from_a_concurrent_send_becomes_a_conflict(self, alice, bob, monkeypatch):
        # Simulate the other direction's insert landing between our check and our insert.
        real_create = FriendRequest.objects.create

        def racing_create(**kwargs):
            real_create(
                sender=alice,
                receiver=bob,
                user_low_id=kwargs["user_low_id"],
                user_high_id=kwargs["user_high_id"],
            )
            return real_create(**kwargs)

        monkeypatch.setattr(FriendRequest.objects, "create", racing_create)

        with pytest.raises(ConflictError):
            friend_request_send(sender=bob, receiver_username="alice")

    def test_request_is_refused_when_a_user_is_at_the_friends_limit(self, alice, bob, monkeypatch):
        monkeypatch.setattr(friends_service, "FRIENDS_MAX", 1)
        make_friends(alice, UserFactory())

        with pytest.raises(ConflictError, match="at most 1 friends"):
            friend_request_send(sender=bob, receiver_username="alice")


class TestAccept:
    def test_accept_deletes_the_request_and_creates_an_active_friendship(self, alice, bob):
        request = make_friend_request(bob, alice)

        accepted = friend_request_accept(request_id=request.pk, acting_user=alice)

        assert not FriendRequest.objects.exists()
        friendship = Friendship.objects.get()
        assert friendship.pk == accepted.friendship.pk
        assert friendship.active is True and friendship.ended_at is None
        assert (friendship.user_low_id, friendship.user_high_id) == tuple(sorted((alice.pk, bob.pk)))
        assert friendship.streak_length == 0
        assert accepted.friend == bob

    def test_accept_by_the_sender_is_not_found(self, alice, bob):
        request = make_friend_request(bob, alice)

        with pytest.raises(NotFoundError):
            friend_request_accept(request_id=request.pk, acting_user=bob)
        assert FriendRequest.objects.filter(pk=request.pk).exists()
        assert not Friendship.objects.exists()

    def test_accept_by_a_stranger_is_not_found(self, alice, bob):
        request = make_friend_request(bob, alice)

        with pytest.raises(NotFoundError):
            friend_request_accept(request_id=request.pk, acting_user=UserFactory())
        assert not Friendship.objects.exists()

    def test_accept_of_an_unknown_request_is_not_found(self, alice):
        with pytest.raises(NotFoundError):
            friend_request_accept(request_id=987654, acting_user=alice)

    def test_accept_twice_is_not_found_the_second_time(self, alice, bob):
        request = make_friend_request(bob, alice)
        friend_request_accept(request_id=request.pk, acting_user=alice)

        with pytest.raises(NotFoundError):
            friend_request_accept(request_id=request.pk, acting_user=alice)
        assert Friendship.objects.count() == 1

    def test_accept_is_refused_at_the_friends_limit_and_the_request_stays(self, alice, bob, monkeypatch):
        monkeypatch.setattr(friends_service, "FRIENDS_MAX", 1)
        request = make_friend_request(bob, alice)
        make_friends(alice, UserFactory())

        with pytest.raises(ConflictError):
            friend_request_accept(request_id=request.pk, acting_user=alice)
        assert FriendRequest.objects.filter(pk=request.pk).exists()
        assert Friendship.objects.filter(active=True).count() == 1


class TestRejectAndCancel:
    def test_reject_by_the_receiver_deletes_the_request(self, alice, bob):
        request = make_friend_request(bob, alice)

        friend_request_reject(request_id=request.pk, acting_user=alice)

        assert not FriendRequest.objects.exists()
        assert not Friendship.objects.exists()

    def test_reject_by_the_sender_is_not_found(self, alice, bob):
        request = make_friend_request(bob, alice)

        with pytest.raises(NotFoundError):
            friend_request_reject(request_id=request.pk, acting_user=bob)
        assert FriendRequest.objects.exists()

    def test_cancel_by_the_sender_deletes_the_request(self, alice, bob):
        request = make_friend_request(bob, alice)

        friend_request_cancel(request_id=request.pk, acting_user=bob)

        assert not FriendRequest.objects.exists()

    @pytest.mark.parametrize("who", ["receiver", "stranger"])
    def test_cancel_by_anyone_but_the_sender_is_not_found(self, alice, bob, who):
        request = make_friend_request(bob, alice)
        acting = alice if who == "receiver" else UserFactory()

        with pytest.raises(NotFoundError):
            friend_request_cancel(request_id=request.pk, acting_user=acting)
        assert FriendRequest.objects.exists()

    def test_after_a_reject_the_sender_may_ask_again(self, alice, bob):
        request = make_friend_request(bob, alice)
        friend_request_reject(request_id=request.pk, acting_user=alice)

        again = friend_request_send(sender=bob, receiver_username="alice")

        assert again.pk != request.pk
        assert FriendRequest.objects.count() == 1
