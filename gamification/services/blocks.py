"""Blocking another learner, and lifting the block.

A block ends the pair's friendship (as unfriending does: the row is kept with ``ended_at``, both
FRIENDS gauges drop, badges stay) and deletes their pending requests either way, in the
transaction that writes the block. From then on ``selectors.relationships`` hides each of the
two from the other everywhere.

Concurrency (MariaDB row locks, READ COMMITTED; SQLite serialises writers):

- the block row is written first, so that a concurrent friend request (which writes its
  request, then reads the block with a locking read) either waits for this block and is rolled
  back, or committed its request before the delete below, which then removes it (the delete
  waits on an uncommitted request's row lock);
- a concurrent accept of the pair's pending request locks that request row first: either the
  delete below waits for the accept to commit and the friendship it created is then ended
  (``friendship_end_if_active`` locks and re-reads it), or the delete wins and the accept finds
  the request gone (404). Never a friendship beside a block;
- two users blocking each other at once: the pair's unique constraint lets one block in; the
  other is told what it would be told afterwards (404, the other's block is invisible to them).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from gamification.constants import BLOCKS_MAX, USERNAME_MAX_LENGTH
from gamification.exceptions import ConflictError, NotFoundError
from gamification.models import Block, FriendRequest, User
from gamification.selectors.relationships import block_between, user_pair
from gamification.services.db import atomic_with_retry, is_unique_violation
from gamification.services.friends import friendship_end_if_active

UNKNOWN_USER = "No user with this username."


def _username_key(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    username = raw.strip()
    if not username or len(username) > USERNAME_MAX_LENGTH:
        return None
    return username.lower()


def block_create(*, blocker: User, username: str) -> Block:
    """``blocker`` blocks the user named ``username`` (ignoring case).

    Blank → ValidationError; yourself → ValidationError (400); unknown, or a user who already
    blocks ``blocker`` → NotFoundError (404, the same answer: a blocked user is never told);
    already blocked by ``blocker`` → ConflictError (409); ``BLOCKS_MAX`` blocks already →
    ConflictError. In one transaction: the block, the pair's pending requests deleted, their
    friendship ended.
    """
    key = _username_key(username)
    if key is None:
        if isinstance(username, str) and username.strip():
            raise NotFoundError(UNKNOWN_USER)
        raise ValidationError({"username": ["Enter the username of the person to block."]})
    if key == blocker.username.lower():
        raise ValidationError({"username": ["You cannot block yourself."]})
    target = User.objects.filter(username_key=key).first()
    if target is None:
        raise NotFoundError(UNKNOWN_USER)
    low, high = user_pair(blocker.pk, target.pk)

    def refuse_existing() -> None:
        existing = block_between(user_id=blocker.pk, other_id=target.pk)
        if existing is None:
            return
        if existing.blocker_id == blocker.pk:
            raise ConflictError("You already block this user.")
        raise NotFoundError(UNKNOWN_USER)

    def run() -> Block:
        refuse_existing()
        if Block.objects.filter(blocker_id=blocker.pk).count() >= BLOCKS_MAX:
            raise ConflictError(f"You can block at most {BLOCKS_MAX} users.")
        try:
            with transaction.atomic():
                block = Block.objects.create(blocker=blocker, blocked=target, user_low_id=low, user_high_id=high)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            # The other user's block (or a double submit of ours) committed first.
            refuse_existing()
            raise ConflictError("You already block this user.") from None
        FriendRequest.objects.filter(user_low_id=low, user_high_id=high).delete()
        friendship_end_if_active(user_id=blocker.pk, friend_id=target.pk, ended_at=block.created_at)
        return block

    return atomic_with_retry(run)


def block_delete(*, blocker: User, username: str) -> None:
    """Lift ``blocker``'s block of the user named ``username`` (ignoring case); no such block of
    theirs → NotFoundError. The former friendship is not restored."""
    key = _username_key(username)
    deleted = 0
    if key is not None:
        deleted, _ = Block.objects.filter(blocker_id=blocker.pk, blocked__username_key=key).delete()
    if not deleted:
        raise NotFoundError("You do not block a user with this username.")
