"""Friend requests and friendships (SPEC §6).

Concurrency, on SQLite (writers serialised by IMMEDIATE transactions) and MariaDB (row locks,
READ COMMITTED):

- one pending request per unordered pair: the ``friendrequest_one_per_pair`` unique constraint
  decides two concurrent sends (A→B and B→A); the loser's IntegrityError becomes a 409;
- accept, reject and cancel all start by locking (or deleting) the request row: two accepts, or an
  accept and a cancel, queue on that row and the second finds it gone (404);
- a send that overtakes a concurrent accept waits on the accepted request's unique key, and then
  re-checks the friendship the accept committed (409), so a request and an active friendship
  never coexist;
- the FRIENDS gauge is counted only after the users' FRIENDS metric rows are locked (in user id
  order), so two friendships created at once for one user are both counted;
- blocks (``services.blocks``): a send first writes its request, then reads the pair's block
  with a locking read; a block first writes its row, then deletes the pair's requests. Whichever
  writes second sees (or waits for) the other's row, so a request never outlives a block.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from gamification.constants import FRIENDS_MAX, USERNAME_MAX_LENGTH
from gamification.exceptions import ConflictError, NotFoundError
from gamification.models import ActivityType, Block, FriendRequest, Friendship, User
from gamification.rules import FRIENDS
from gamification.selectors.relationships import (
    friend_ids_of,
    friends_count_many,
    friendship_active_between,
    user_pair,
    users_visible_to,
)
from gamification.services.db import atomic_with_retry, is_unique_violation, metrics_lock_or_create
from gamification.services.metrics import gauge_set_by_code
from gamification.services.webhooks import webhook_friend_request_accepted, webhook_friend_request_created


def _lock_friends_metrics(*, user_ids: list[int]) -> ActivityType | None:
    """Lock the FRIENDS metric rows of ``user_ids`` in id order (creating missing ones), so that
    whoever counts friendships next sees every committed change. The caller owns the transaction."""
    activity_type = ActivityType.objects.filter(code=FRIENDS).first()
    if activity_type is None:
        return None
    metrics_lock_or_create(pairs=[(user_id, activity_type.pk) for user_id in user_ids])
    return activity_type


def friends_metric_refresh(*, user_ids: list[int]) -> None:
    """Make the FRIENDS gauge of each user equal their number of active friendships.

    Locks the users' FRIENDS metric rows before counting: call it inside the transaction that
    changed the friendships (it opens one of its own otherwise). Badges are never taken away.
    """
    if not user_ids:
        return

    def run() -> None:
        if _lock_friends_metrics(user_ids=user_ids) is None:
            return
        gauge_set_by_code(code=FRIENDS, values=friends_count_many(user_ids=sorted(set(user_ids))))

    atomic_with_retry(run)


def friends_recount_after_user_delete(*, user: User) -> None:
    """Delete ``user`` (cascading their friendships) and lower their former friends' FRIENDS
    metric. The caller owns the transaction."""
    former_friend_ids = friend_ids_of(user_id=user.pk)
    user.delete()
    friends_metric_refresh(user_ids=former_friend_ids)


# Friend requests --------------------------------------------------------------------------------


def _user_by_username(raw: object, *, viewer: User | None = None) -> User | None:
    """The user whose username equals ``raw`` ignoring case and surrounding whitespace; with
    ``viewer``, only one that ``viewer`` may know exists (not in a block with them)."""
    if not isinstance(raw, str):
        return None
    username = raw.strip()
    if not username or len(username) > USERNAME_MAX_LENGTH:
        return None
    users = users_visible_to(viewer_id=viewer.pk) if viewer is not None else User.objects.all()
    return users.filter(username_key=username.lower()).first()


def _pair_blocked_locking(low: int, high: int) -> bool:
    """Whether the pair is blocked, read with a lock: it waits for a block being written by a
    concurrent transaction and then sees it (MariaDB; SQLite serialises writers anyway)."""
    return bool(
        list(Block.objects.select_for_update().filter(user_low_id=low, user_high_id=high).values_list("pk")[:1])
    )


def _active_friendship(a_id: int, b_id: int) -> Friendship | None:
    return friendship_active_between(user_id=a_id, other_id=b_id)


def _at_friends_limit(user_ids: list[int]) -> bool:
    return any(n >= FRIENDS_MAX for n in friends_count_many(user_ids=user_ids).values())


def friend_request_send(*, sender: User, receiver_username: str) -> FriendRequest:
    """Send a friend request from ``sender`` to the user named ``receiver_username`` (ignoring case).

    Yourself → ValidationError (400); unknown username, or a block between the two either way →
    NotFoundError (404, the same answer); already friends, a pending request in either
    direction, or either user at ``FRIENDS_MAX`` friends → ConflictError (409). Two concurrent
    sends between one pair: the pair's unique constraint lets one through and the other gets the
    409. A send racing a block of the pair: see the module docstring.
    """
    if not isinstance(receiver_username, str) or not receiver_username.strip():
        raise ValidationError({"receiver": ["Enter the username of the person to befriend."]})
    receiver = _user_by_username(receiver_username, viewer=sender)
    if receiver is None:
        raise NotFoundError("No user with this username.")
    if receiver.pk == sender.pk:
        raise ValidationError({"receiver": ["You cannot send a friend request to yourself."]})
    low, high = user_pair(sender.pk, receiver.pk)

    def run() -> FriendRequest:
        if _active_friendship(sender.pk, receiver.pk) is not None:
            raise ConflictError("You are already friends.")
        pending = FriendRequest.objects.filter(user_low_id=low, user_high_id=high).first()
        if pending is not None:
            if pending.sender_id == sender.pk:
                raise ConflictError("You already sent this user a friend request.")
            raise ConflictError("This user already sent you a friend request: accept it instead.")
        if _at_friends_limit([sender.pk, receiver.pk]):
            raise ConflictError(f"A user can have at most {FRIENDS_MAX} friends.")
        try:
            with transaction.atomic():
                request = FriendRequest.objects.create(
                    sender=sender, receiver=receiver, user_low_id=low, user_high_id=high
                )
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            raise ConflictError("A friend request between you two is already pending.") from None
        # A concurrent accept of this pair's previous request may have committed between the
        # check above and the insert (the insert waited for it): never leave a request beside
        # an active friendship.
        if _active_friendship(sender.pk, receiver.pk) is not None:
            raise ConflictError("You are already friends.")
        # A block of the pair written since the look-up above: the request is rolled back.
        if _pair_blocked_locking(low, high):
            raise NotFoundError("No user with this username.")
        webhook_friend_request_created(request=request, sender=sender, receiver=receiver)
        return request

    return atomic_with_retry(run)


@dataclass(frozen=True)
class AcceptedFriendship:
    friendship: Friendship
    friend: User


def friend_request_accept(*, request_id: int, acting_user: User) -> AcceptedFriendship:
    """Accept a pending request: only its receiver may (anyone else, or a request that no longer
    exists → NotFoundError). In one transaction: lock the request row, delete it, create the
    friendship (starting now, friend streak 0) and refresh both users' FRIENDS metric (badges
    may be awarded). Of two concurrent accepts, or an accept racing a cancel or reject, exactly
    one wins; the other finds the request gone (404).

    Refused with ConflictError (request left pending) when either user already has
    ``FRIENDS_MAX`` friends.
    """

    def run() -> AcceptedFriendship:
        request = (
            FriendRequest.objects.select_for_update()
            .select_related("sender")
            .filter(pk=request_id, receiver_id=acting_user.pk)
            .first()
        )
        if request is None:
            raise NotFoundError("No pending friend request with this id.")
        sender = request.sender
        _lock_friends_metrics(user_ids=[sender.pk, acting_user.pk])
        friendship = _active_friendship(sender.pk, acting_user.pk)
        request.delete()
        if friendship is None:
            if _at_friends_limit([sender.pk, acting_user.pk]):
                raise ConflictError(f"A user can have at most {FRIENDS_MAX} friends.")
            low, high = user_pair(sender.pk, acting_user.pk)
            friendship = Friendship.objects.create(user_low_id=low, user_high_id=high, created_at=timezone.now())
        # The streak selectors read both users' timezones from the friendship.
        friendship.user_low, friendship.user_high = sorted((sender, acting_user), key=lambda user: user.pk)
        friends_metric_refresh(user_ids=[sender.pk, acting_user.pk])
        webhook_friend_request_accepted(
            request=request, sender=sender, receiver=acting_user, accepted_at=friendship.created_at
        )
        return AcceptedFriendship(friendship=friendship, friend=sender)

    return atomic_with_retry(run)


def friend_request_reject(*, request_id: int, acting_user: User) -> None:
    """Reject (delete) a pending request: only its receiver may, else NotFoundError."""

    def run() -> None:
        deleted, _ = FriendRequest.objects.filter(pk=request_id, receiver_id=acting_user.pk).delete()
        if not deleted:
            raise NotFoundError("No pending friend request with this id.")

    atomic_with_retry(run)


def friend_request_cancel(*, request_id: int, acting_user: User) -> None:
    """Cancel (delete) a pending request: only its sender may, else NotFoundError."""

    def run() -> None:
        deleted, _ = FriendRequest.objects.filter(pk=request_id, sender_id=acting_user.pk).delete()
        if not deleted:
            raise NotFoundError("No pending friend request with this id.")

    atomic_with_retry(run)


# Friendships ------------------------------------------------------------------------------------


def friendship_end_if_active(*, user_id: int, friend_id: int, ended_at: datetime | None = None) -> Friendship | None:
    """End the active friendship of two users, if they have one (else None): the row stays with
    ``ended_at`` set (past leaderboards read it) and ``active`` cleared; both FRIENDS metrics
    drop; badges stay. Locks both FRIENDS metric rows, then the friendship; the caller owns the
    transaction (one of its own is opened otherwise)."""

    def run() -> Friendship | None:
        low, high = user_pair(user_id, friend_id)
        _lock_friends_metrics(user_ids=[low, high])
        friendship = (
            Friendship.objects.select_for_update().filter(user_low_id=low, user_high_id=high, active=True).first()
        )
        if friendship is None or friendship.active is not True:
            return None
        friendship.ended_at = ended_at or timezone.now()
        friendship.active = None
        friendship.save(update_fields=["ended_at", "active"])
        friends_metric_refresh(user_ids=[low, high])
        return friendship

    return atomic_with_retry(run)


def friendship_end_pair(*, user_id: int, friend_id: int, ended_at: datetime | None = None) -> Friendship:
    """End the active friendship of two users (``friendship_end_if_active``). No active
    friendship → NotFoundError. Two concurrent ends: the second finds none."""

    def run() -> Friendship:
        friendship = friendship_end_if_active(user_id=user_id, friend_id=friend_id, ended_at=ended_at)
        if friendship is None:
            raise NotFoundError("You are not friends with this user.")
        return friendship

    return atomic_with_retry(run)


def friendship_end(*, user: User, friend_username: str) -> Friendship:
    """Unfriend the user named ``friend_username`` (ignoring case). Not friends, or no such
    user → NotFoundError."""
    friend = _user_by_username(friend_username)
    if friend is None or friend.pk == user.pk:
        raise NotFoundError("You are not friends with this user.")
    return friendship_end_pair(user_id=user.pk, friend_id=friend.pk)
