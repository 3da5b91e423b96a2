"""Reading friendships and friend requests (SPEC §5, §6)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import router
from django.db.models import Case, F, OuterRef, Q, QuerySet, When

from gamification.constants import FRIENDS_MAX
from gamification.models import FriendRequest, Friendship, LanguageStreak, RestDay, User
from gamification.prepared import PreparedQuery
from gamification.selectors.relationships import (
    OTHER_SIDE,
    SIDES,
    flag,
    friendships_active_of,
    friendships_active_on_side,
    is_blocked_with,
    progress_is_private,
    progress_is_private_joined,
    user_pair,
)
from gamification.selectors.streaks import LANGUAGES_COLUMNS, FriendStreaksNow, languages_from_rows
from gamification.selectors.users import binary_collation

# Pending requests listed per direction, newest first. The count endpoint gives the exact total.
FRIEND_REQUESTS_LIST_MAX = 500


# What the friends list reads of both users of a friendship: the public summary, and the
# timezones the friend streak is computed in.
FRIEND_LIST_USER_FIELDS = (
    "username",
    "name",
    "avatar_image",
    "avatar_character_color",
    "avatar_background_color",
    "timezone",
)


# The summary fields of the friend in a friends list row (``FRIEND_LIST_USER_FIELDS`` without
# the timezone, which both users' columns give).
FRIEND_LIST_SUMMARY_FIELDS = FRIEND_LIST_USER_FIELDS[:-1]


def active_friendships_with_users(
    *, user_id: int, limit: int | None = None, hidden_from: int | None = None, summary_only: bool = False
) -> QuerySet[Friendship]:
    """The user's active friendships with both users loaded, ordered by the friend's username
    ignoring case, at most ``limit`` (default ``FRIENDS_MAX``: no user has more friends). With
    ``hidden_from`` (a viewer who is not ``user_id`` and in no block with them), never a
    friendship whose other side is in a block with that viewer. With ``summary_only`` the users
    carry only ``FRIEND_LIST_USER_FIELDS`` (and their id): a hundred friendships build two
    hundred users, and whole rows cost twice the CPU."""
    friend_key = Case(
        When(user_low_id=user_id, then=F("user_high__username_key")),
        default=F("user_low__username_key"),
    )
    # Code point order of the lower-cased names on every backend (as in user search).
    friend_key = binary_collation(friend_key)
    friendships = friendships_active_of(user_id=user_id)
    if hidden_from is not None:
        friendships = friendships.exclude(is_blocked_with(user_id=hidden_from, other=OuterRef("user_low_id"))).exclude(
            is_blocked_with(user_id=hidden_from, other=OuterRef("user_high_id"))
        )
    friendships = friendships.select_related("user_low", "user_high")
    if summary_only:
        friendships = friendships.only(
            *(field.attname for field in Friendship._meta.concrete_fields),
            *(f"{side}__{name}" for side in ("user_low", "user_high") for name in FRIEND_LIST_USER_FIELDS),
        )
    return friendships.annotate(
        friend_key=friend_key,
        low_progress_private=progress_is_private(user=OuterRef("user_low_id")),
        high_progress_private=progress_is_private(user=OuterRef("user_high_id")),
    ).order_by("friend_key", "id")[: limit or FRIENDS_MAX]


def _other(friendship: Friendship, user_id: int) -> User:
    return friendship.user_high if friendship.user_low_id == user_id else friendship.user_low


def friends_of(*, user_id: int, viewer_id: int | None = None, summary_only: bool = False) -> list[User]:
    """The user's current friends, by username ignoring case, in one query. Each friend carries
    ``friendship``, ``friends_since`` and ``progress_private`` (they show their friends list,
    badges and streaks to nobody). With ``viewer_id`` (someone else looking at the list),
    never a friend in a block with the viewer: they do not exist for each other. With
    ``summary_only``, only ``FRIEND_LIST_USER_FIELDS`` are loaded (reading another field would
    cost a query per friend)."""
    # The user themself is in no block with the viewer (else the list is a 404).
    hidden_from = viewer_id if viewer_id != user_id else None
    friendships = active_friendships_with_users(user_id=user_id, hidden_from=hidden_from, summary_only=summary_only)
    friends = []
    for friendship in friendships:
        friend = _other(friendship, user_id)
        friend.friendship = friendship
        friend.friends_since = friendship.created_at
        friend.progress_private = (
            friendship.high_progress_private if friendship.user_low_id == user_id else friendship.low_progress_private
        )
        friends.append(friend)
    return friends


@dataclass(slots=True)
class FriendListEntry:
    """One friend of ``friend_list``: what ``serializers.friends.FriendSerializer`` (and the
    Zeeguu-compatible one) read, as plain values."""

    pk: int
    username: str
    name: str
    avatar_image: str
    avatar_character_color: str
    avatar_background_color: str
    friends_since: datetime
    friend_streak: int
    languages: list[dict]


def _friend_list_side(user_id, *, side: str):
    """The rows of ``_friend_list_rows`` for the friendships where ``user_id`` is on ``side``:
    one range of that side's index, joined only to the friend's row."""
    friend_side = OTHER_SIDE[side]
    return (
        friendships_active_on_side(user_id=user_id, side=side)
        .order_by()
        .annotate(
            friend_id=F(f"{friend_side}_id"),
            **{f"friend_{field}": F(f"{friend_side}__{field}") for field in FRIEND_LIST_SUMMARY_FIELDS},
            friend_private=flag(progress_is_private_joined(user=friend_side)),
            friend_key=F(f"{friend_side}__username_key"),
            friend_timezone=F(f"{friend_side}__timezone"),
            my_through=F(f"streak_{side.removeprefix('user_')}_through_day"),
            friend_through=F(f"streak_{friend_side.removeprefix('user_')}_through_day"),
        )
        .values_list(
            "friend_id",
            *(f"friend_{field}" for field in FRIEND_LIST_SUMMARY_FIELDS),
            "friend_private",
            "created_at",
            "streak_length",
            "my_through",
            "friend_through",
            "friend_timezone",
            "friend_key",
            "id",
        )
    )


def _friend_list_rows(user_id):
    """One row per current friendship of ``user_id`` (unordered): the friend's id and summary,
    whether they show their progress to nobody, the friendship's start and streak columns (ours
    first), the friend's timezone, username key and the friendship's id. A ``UNION ALL`` of the
    two sides: each reads one range of its index and joins only the friend's row (a single
    ``OR`` over both sides merged two indexes and joined both users: 0.64 against 0.41 ms of
    MariaDB's CPU for 100 friends)."""
    low_side, high_side = (_friend_list_side(user_id, side=side) for side in SIDES)
    return low_side.union(high_side, all=True)


def _languages_rows(user_ids):
    """The ``LanguageStreak`` rows (``LANGUAGES_COLUMNS``) of ``user_ids``. The ids are a list
    (``ints``), not a subquery of the friendships: a list reads each friend's range of the
    (user, language) index, where MariaDB ran the subquery's OR over both sides first."""
    return LanguageStreak.objects.filter(user_id__in=user_ids).values_list(*LANGUAGES_COLUMNS)


def _rest_days_rows(user_ids, since):
    """The rest-day bookings (user, start, end) of ``user_ids`` that end on or after ``since``."""
    return (
        RestDay.objects.filter(user_id__in=user_ids, end__gte=since).order_by().values_list("user_id", "start", "end")
    )


_FRIEND_LIST = PreparedQuery(_friend_list_rows, user_id="int")
_LANGUAGES = PreparedQuery(_languages_rows, user_ids="ints")
_REST_DAYS = PreparedQuery(_rest_days_rows, user_ids="ints", since="date")


def _rest_dates(*, using: str):
    """``rest_dates_of_users`` read through a prepared query."""

    def rest_dates(*, user_ids, since) -> dict[int, set[date]]:
        dates: dict[int, set[date]] = defaultdict(set)
        ids = sorted(user_ids)
        if not ids:
            return dates
        for friend_id, start, end in _REST_DAYS.rows(using=using, user_ids=ids, since=since):
            first = max(start, since)
            dates[friend_id].update(first + timedelta(days=n) for n in range((end - first).days + 1))
        return dates

    return rest_dates


def _list_order(row: tuple) -> tuple:
    """A friends list row's place: the friend's username key by code point (as
    ``binary_collation`` sorts it), then the friendship's id."""
    return row[-2], row[-1]


def friend_list(*, user: User) -> list[FriendListEntry]:
    """My friends for ``GET /api/friends/``, by username ignoring case (code points of the
    lower-cased names, then friendship id): each with ``friends_since``, ``friend_streak`` and
    ``languages`` (``[{code, name, daily_streak, max_streak}]``). Two prepared queries whatever
    the number of friends (plus one for rest days when some streak has missed a day), values
    only: no model instances. A friend who shows their progress to nobody has ``languages``
    empty (their streaks are theirs alone; our friend streak is ours)."""
    # No user has more than FRIENDS_MAX friends (the services refuse more): the bound only
    # restates it, read at each call like active_friendships_with_users' limit.
    using = router.db_for_read(Friendship)
    rows = sorted(_FRIEND_LIST.rows(using=using, user_id=user.pk), key=_list_order)[:FRIENDS_MAX]
    if not rows:
        return []
    timezones = {row[0]: row[11] for row in rows}
    shown = [row[0] for row in rows if not row[6]]  # friends who show their progress to someone
    languages = (
        languages_from_rows(
            _LANGUAGES.rows(using=using, user_ids=shown), timezones=timezones, rest_dates=_rest_dates(using=using)
        )
        if shown
        else {}
    )
    friend_streak = FriendStreaksNow()
    return [
        FriendListEntry(
            pk=friend_id,
            username=username,
            name=name,
            avatar_image=image,
            avatar_character_color=character_color,
            avatar_background_color=background_color,
            friends_since=created_at,
            friend_streak=friend_streak(
                length=length,
                created_at=created_at,
                low_through=my_through,
                high_through=friend_through,
                low_timezone=user.timezone,
                high_timezone=friend_timezone,
            ),
            languages=languages.get(friend_id, []),
        )
        for (
            friend_id,
            username,
            name,
            image,
            character_color,
            background_color,
            _private,
            created_at,
            length,
            my_through,
            friend_through,
            friend_timezone,
            _key,
            _id,
        ) in rows
    ]


def friend_requests_of(*, user: User) -> QuerySet[FriendRequest]:
    """Pending requests the user sent or received, newest first, with both users loaded. The
    list endpoint narrows them to one direction (``filters.friend_requests.FriendRequestFilter``)
    and shows at most ``FRIEND_REQUESTS_LIST_MAX``."""
    return (
        FriendRequest.objects.filter(Q(receiver_id=user.pk) | Q(sender_id=user.pk))
        .select_related("sender", "receiver")
        .order_by("-created_at", "-id")
    )


def friend_requests_received(*, user: User) -> QuerySet[FriendRequest]:
    """Pending requests the user received, newest first, with both users loaded."""
    return friend_requests_of(user=user).filter(receiver_id=user.pk)


def friend_requests_sent(*, user: User) -> QuerySet[FriendRequest]:
    """Pending requests the user sent, newest first, with both users loaded."""
    return friend_requests_of(user=user).filter(sender_id=user.pk)


def friend_request_between(*, sender_id: int, receiver_id: int) -> FriendRequest | None:
    """The pending request ``sender_id`` sent to ``receiver_id``, if there is one (at most one
    per pair: the pair's unique index finds it)."""
    low, high = user_pair(sender_id, receiver_id)
    return FriendRequest.objects.filter(
        user_low_id=low, user_high_id=high, sender_id=sender_id, receiver_id=receiver_id
    ).first()


def friend_requests_received_count(*, user: User) -> int:
    return FriendRequest.objects.filter(receiver_id=user.pk).count()
