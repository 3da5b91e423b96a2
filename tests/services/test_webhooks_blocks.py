"""Webhooks respect blocks: no ``friend_request.*`` event is ever written between two users in
a block (no request can exist between them), through ``/api/`` or the Zeeguu-compatible paths."""

import pytest

from gamification.exceptions import NotFoundError
from gamification.models import FriendRequest, User, WebhookDelivery
from gamification.services import friends as friends_service
from gamification.services.blocks import block_create
from gamification.services.friends import friend_request_accept, friend_request_send
from gamification.services.webhooks import webhook_endpoint_put
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.zeeguu.conftest import frontend_for

pytestmark = pytest.mark.django_db

FRIEND_EVENTS = ["friend_request.created", "friend_request.accepted"]


@pytest.fixture(autouse=True)
def subscriber():
    return webhook_endpoint_put(url="https://hooks.example.org/a", secret="s" * 20, event_types=FRIEND_EVENTS)[0]


def friend_events() -> list[str]:
    return list(WebhookDelivery.objects.filter(event_type__in=FRIEND_EVENTS).values_list("event_type", flat=True))


def test_no_friend_request_event_between_blocked_users_either_way():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    block_create(blocker=alice, username="bob")

    for sender, receiver in ((alice, bob), (bob, alice)):
        api = client_for(sender).post("/api/friend-requests/", {"receiver": receiver.username}, format="json")
        compat = frontend_for(sender).post_json("/send_friend_request", {"receiver_username": receiver.username})
        assert api.status_code == 404
        assert compat.status_code == 400  # upstream's "Receiver user not found"

    assert friend_events() == []
    assert not FriendRequest.objects.exists()


def test_a_request_pending_at_the_block_can_no_longer_be_accepted_and_sends_no_event():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    request = friend_request_send(sender=alice, receiver_username="bob")
    assert friend_events() == ["friend_request.created"]  # sent before any block
    block_create(blocker=bob, username="alice")

    with pytest.raises(NotFoundError):
        friend_request_accept(request_id=request.pk, acting_user=bob)

    assert friend_events() == ["friend_request.created"]


def test_a_send_overtaken_by_a_block_is_rolled_back_with_its_event(monkeypatch):
    """The block commits between the send's look-up of the receiver and its insert (what a
    concurrent block looks like to the send): the locking re-check rolls the request back before
    its event is written."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    original = friends_service._user_by_username

    def look_up_then_block(raw, *, viewer=None):
        found = original(raw, viewer=viewer)
        block_create(blocker=bob, username="alice")
        return found

    monkeypatch.setattr(friends_service, "_user_by_username", look_up_then_block)
    with pytest.raises(NotFoundError):
        friend_request_send(sender=alice, receiver_username="bob")

    assert friend_events() == []
    assert not FriendRequest.objects.exists()
    assert User.objects.filter(blocks_made__blocked=alice).get() == bob
