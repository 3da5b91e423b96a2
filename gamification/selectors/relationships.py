"""Who is whose friend, and who may see what of whom: friendships, blocks and privacy settings.

The one owner of these answers: services (sending and accepting requests, blocking, the FRIENDS
gauge), selectors (friend lists, profiles, search, both leaderboards) and views (``/api/`` and
the Zeeguu-compatible ones) all ask here, so that a rule added here holds everywhere at once.

A friendship is one row per pair, ``user_low`` < ``user_high``; it is current while ``active``
is true (an ended one keeps ``ended_at`` for past leaderboards). A block is one row per pair too
(``models.safety.Block``): while it exists, in either direction, the two users do not exist for
each other (every look-up here answers as for an unknown user). Privacy settings
(``models.safety.PrivacySettings``, no row = the defaults) narrow what friends see (progress),
what search finds (discoverable) and who appears on boards (on_leaderboards).

Every rule is an EXISTS on a unique index (the pair's, or the settings' primary key), or a LEFT
JOIN of the same row, so it adds a constant number of queries to any endpoint whatever the
number of blocks, friends or members. The block rule, which a search asks of every username it
reads, names the viewer as a constant on each side of the pair (``is_blocked_with``): asked
through ``LEAST``/``GREATEST`` of the pair, MariaDB read every block of the platform to answer
it.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Count, Exists, FilteredRelation, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest, Least

from gamification.models import Block, Friendship, PrivacySettings, ProgressVisibility, User


def user_pair(a_id: int, b_id: int) -> tuple[int, int]:
    """The pair as friendship and request rows store it: lower id first."""
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def _either_side(user_id: int) -> Q:
    return Q(user_low_id=user_id) | Q(user_high_id=user_id)


def flag(condition: Q) -> Case:
    """``condition`` as a 0/1 integer column: read back without a converter in Python (the
    hot reads' prepared queries return hundreds of such flags)."""
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def friendships_active_of(*, user_id: int) -> QuerySet[Friendship]:
    """The user's current friendships."""
    return Friendship.objects.filter(_either_side(user_id), active=True)


# The two sides of a friendship row, and the side across from each.
SIDES = ("user_low", "user_high")
OTHER_SIDE = {"user_low": "user_high", "user_high": "user_low"}


def friendships_active_on_side(*, user_id: int, side: str) -> QuerySet[Friendship]:
    """The user's current friendships in which they are ``side`` (``user_low`` or
    ``user_high``): one range of that side's index. Hot reads take both sides as a ``UNION
    ALL`` of two of these, which joins only the other user's row of each (an ``OR`` over both
    sides makes MariaDB merge two indexes and join both users)."""
    return Friendship.objects.filter(**{f"{side}_id": user_id}, active=True)


def friendship_active_of_pair(*, low_id: int, high_id: int) -> QuerySet[Friendship]:
    """The current friendship of the pair ``user_pair`` orders as ``(low_id, high_id)``, through
    its unique index."""
    return Friendship.objects.filter(user_low_id=low_id, user_high_id=high_id, active=True)


def friendships_current_now_or_at_on_side(*, user_id: int, at: dt.datetime, side: str) -> QuerySet[Friendship]:
    """The user's friendships in which they are ``side`` (``user_low`` or ``user_high``) that
    are current now, or were current at the instant ``at`` (started at or before it, not ended
    by then): one side of a leaderboard's scope at a period's end, read from one range of that
    side's index (a ``UNION ALL`` of both sides is the whole scope). Never a pair that is
    blocked now (either way): blocked users leave each other's boards, past periods included."""
    return (
        Friendship.objects.filter(**{f"{side}_id": user_id})
        .filter(Q(active=True) | Q(created_at__lte=at, ended_at__gt=at))
        .exclude(pair_is_blocked(low=OuterRef("user_low_id"), high=OuterRef("user_high_id")))
    )


def friendship_and_request_joins(*, viewer_id: int) -> dict[str, FilteredRelation]:
    """For a query of users: LEFT JOINs of ``viewer_id``'s current friendship and pending
    request with each user, by alias (``friendship_low``: the friendship in which the user is
    ``user_low``; ``friendship_high``, ``request_low``, ``request_high`` likewise). A pair lies
    on one side only, so of each kind at most one join finds a row; each is one look-up of a
    pair index per user."""
    joins = {}
    for side in SIDES:
        viewer_side = f"{OTHER_SIDE[side]}_id"
        short = side.removeprefix("user_")
        joins[f"friendship_{short}"] = FilteredRelation(
            f"friendships_as_{short}",
            condition=Q(
                **{f"friendships_as_{short}__{viewer_side}": viewer_id, f"friendships_as_{short}__active": True}
            ),
        )
        joins[f"request_{short}"] = FilteredRelation(
            f"friend_requests_as_{short}", condition=Q(**{f"friend_requests_as_{short}__{viewer_side}": viewer_id})
        )
    return joins


def friendship_active_between(*, user_id: int, other_id: int) -> Friendship | None:
    """The current friendship of two users, through the pair's unique index."""
    low, high = user_pair(user_id, other_id)
    return friendship_active_of_pair(low_id=low, high_id=high).first()


def are_friends(*, user_id: int, other_id: int) -> bool:
    low, high = user_pair(user_id, other_id)
    return friendship_active_of_pair(low_id=low, high_id=high).exists()


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


# Blocks -----------------------------------------------------------------------------------------


def pair_is_blocked(*, low, high) -> Exists:
    """A query expression: whether the pair (``low`` < ``high``: ids, OuterRefs or expressions)
    is blocked, either way, through the pair's unique index."""
    return Exists(Block.objects.filter(user_low_id=low, user_high_id=high))


def is_blocked_with(*, user_id: int, other) -> Q:
    """A condition: whether a block exists between ``user_id`` and the user ``other`` refers to
    (an OuterRef or expression), either way: one EXISTS per side of the pair, each on that
    side's pair index with ``user_id`` as the constant. MariaDB turns such an EXISTS into an
    ``IN`` of the blocks it names and may read that set once per query: here the blocks of
    ``user_id`` on one side, where one EXISTS on the pair as ``(LEAST, GREATEST)`` named every
    block of the platform (a search read all 3,000 of them: 1.45 against 0.65 ms of MariaDB's
    CPU)."""
    return Q(Exists(Block.objects.filter(user_low_id=other, user_high_id=user_id))) | Q(
        Exists(Block.objects.filter(user_low_id=user_id, user_high_id=other))
    )


def are_blocked(*, user_id: int, other_id: int) -> bool:
    """Whether either of the two users blocks the other."""
    low, high = user_pair(user_id, other_id)
    return Block.objects.filter(user_low_id=low, user_high_id=high).exists()


def block_between(*, user_id: int, other_id: int) -> Block | None:
    """The block of the pair, whoever made it, through the pair's unique index."""
    low, high = user_pair(user_id, other_id)
    return Block.objects.filter(user_low_id=low, user_high_id=high).first()


def blocks_made_by(*, user_id: int) -> QuerySet[Block]:
    """The blocks ``user_id`` made, newest first, with the blocked users loaded."""
    return Block.objects.filter(blocker_id=user_id).select_related("blocked").order_by("-created_at", "-id")


def users_visible_to(*, viewer_id: int) -> QuerySet[User]:
    """Every user ``viewer_id`` may know exists: all but those in a block with them, either way.
    Any look-up of another user by name starts here, so that a blocked user's answer is the
    answer for a username that does not exist."""
    return User.objects.exclude(is_blocked_with(user_id=viewer_id, other=OuterRef("pk")))


# Privacy settings -------------------------------------------------------------------------------


def privacy_settings_of(*, user_id: int) -> PrivacySettings:
    """The user's privacy settings: their row, or an unsaved one holding the defaults."""
    return PrivacySettings.objects.filter(user_id=user_id).first() or PrivacySettings(user_id=user_id)


# The settings rows that narrow what others see: each rule is written once, and asked either as
# an EXISTS on the row (``progress_is_private``) or through a LEFT JOIN of it from a relation
# path (``progress_is_private_joined``: a hundred rows of one query would each run an EXISTS,
# 0.1 ms of MariaDB's CPU for 100; no row is the defaults either way).
_PROGRESS_PRIVATE = {"progress_visible_to": ProgressVisibility.NOBODY}
_OFF_LEADERBOARDS = {"on_leaderboards": False}


def _joined(user: str, condition: dict) -> Q:
    return Q(**{f"{user}__privacy_settings__{field}": value for field, value in condition.items()})


def progress_is_private(*, user) -> Exists:
    """A query expression: whether the user ``user`` refers to shows their progress (friends
    list, badges, streaks) to nobody but themself."""
    return Exists(PrivacySettings.objects.filter(user_id=user, **_PROGRESS_PRIVATE))


def progress_is_private_joined(*, user: str) -> Q:
    """``progress_is_private`` for the user the relation path ``user`` names (``user_high``),
    through a LEFT JOIN of their settings row."""
    return _joined(user, _PROGRESS_PRIVATE)


def is_off_leaderboards(*, user) -> Exists:
    """A query expression: whether the user ``user`` refers to left other learners' boards."""
    return Exists(PrivacySettings.objects.filter(user_id=user, **_OFF_LEADERBOARDS))


def is_off_leaderboards_joined(*, user: str) -> Q:
    """``is_off_leaderboards`` for the user the relation path ``user`` names, through a LEFT
    JOIN of their settings row."""
    return _joined(user, _OFF_LEADERBOARDS)


def is_undiscoverable_joined() -> Q:
    """For a query of users: whether search finds each user by their exact username only,
    through a LEFT JOIN of their settings row. (As an EXISTS, MariaDB read every undiscoverable
    user's row once per search while there were a few thousand: a search's cost grew with them.)"""
    return Q(privacy_settings__discoverable=False)


def can_view_private(*, viewer_id: int, target_id: int) -> bool:
    """Friends lists, badges and streaks: the user themself, and their current friends unless
    the user shows their progress to nobody. (A blocked pair is never friends.)"""
    if viewer_id == target_id:
        return True
    low, high = user_pair(viewer_id, target_id)
    return (
        Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True)
        .exclude(progress_is_private(user=Value(target_id)))
        .exists()
    )
