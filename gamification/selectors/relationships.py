"""Who is whose friend, and who may see what of whom (SPEC §6.2, §8).

The one owner of these answers: services (sending and accepting requests, the FRIENDS gauge),
selectors (friend lists, profiles, search, both leaderboards) and views all ask here, so that a
rule added here (a block, a privacy setting) holds everywhere at once.

A friendship is one row per pair, ``user_low`` < ``user_high``; it is current while ``active``
is true (an ended one keeps ``ended_at`` for past leaderboards).
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Greatest, Least

from gamification.models import Friendship


def user_pair(a_id: int, b_id: int) -> tuple[int, int]:
    """The pair as friendship and request rows store it: lower id first."""
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def _either_side(user_id: int) -> Q:
    return Q(user_low_id=user_id) | Q(user_high_id=user_id)


def friendships_active_of(*, user_id: int) -> QuerySet[Friendship]:
    """The user's current friendships."""
    return Friendship.objects.filter(_either_side(user_id), active=True)


def friendships_active_between(*, user_id: int, other_ids: Iterable[int]) -> QuerySet[Friendship]:
    """The user's current friendships with any of ``other_ids``."""
    others = list(other_ids)
    return Friendship.objects.filter(
        Q(user_low_id=user_id, user_high_id__in=others) | Q(user_high_id=user_id, user_low_id__in=others),
        active=True,
    )


def friendships_current_now_or_at(*, user_id: int, at: dt.datetime) -> QuerySet[Friendship]:
    """The user's friendships current now, and those that were current at the instant ``at``
    (started at or before it, not ended by then): a leaderboard's scope at a period's end."""
    return Friendship.objects.filter(_either_side(user_id)).filter(
        Q(active=True) | Q(created_at__lte=at, ended_at__gt=at)
    )


def friendship_active_between(*, user_id: int, other_id: int) -> Friendship | None:
    """The current friendship of two users, through the pair's unique index."""
    low, high = user_pair(user_id, other_id)
    return Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True).first()


def are_friends(*, user_id: int, other_id: int) -> bool:
    low, high = user_pair(user_id, other_id)
    return Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True).exists()


def is_friend_of(*, user_id: int, other: OuterRef) -> Exists:
    """A query expression: whether the user ``other`` refers to is ``user_id``'s friend now,
    through the pair's unique index (one EXISTS per row, whatever the number of friends)."""
    return Exists(
        Friendship.objects.filter(
            active=True, user_low_id=Least(Value(user_id), other), user_high_id=Greatest(Value(user_id), other)
        )
    )


def friend_ids_of(*, user_id: int) -> list[int]:
    """The ids of the user's current friends."""
    rows = friendships_active_of(user_id=user_id).values_list("user_low_id", "user_high_id")
    return [high if low == user_id else low for low, high in rows]


def friends_count_many(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Number of current friendships of each user, in two grouped queries."""
    ids = list(user_ids)
    counts = dict.fromkeys(ids, 0)
    active = Friendship.objects.filter(active=True)
    for side in ("user_low_id", "user_high_id"):
        grouped = active.filter(**{f"{side}__in": ids}).values_list(side).annotate(n=Count("id")).values_list(side, "n")
        for user_id, n in grouped:
            counts[user_id] += n
    return counts


def can_view_private(*, viewer_id: int, target_id: int) -> bool:
    """Friends lists, badges and streaks: the user themself and their current friends only."""
    return viewer_id == target_id or are_friends(user_id=viewer_id, other_id=target_id)
