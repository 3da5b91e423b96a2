"""Finding users and how the viewer relates to them (search, profiles).

Every look-up of another user for a viewer goes through ``selectors.relationships``
(``users_visible_to``, ``can_view_private``): a user in a block with the viewer is unknown to
them, and privacy settings decide what search finds and who sees a user's progress."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from django.db import connection, router
from django.db.models import Case, CharField, F, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, Collate, Lower

from gamification.constants import NAME_MAX_LENGTH, USERNAME_MAX_LENGTH
from gamification.exceptions import ForbiddenError, NotFoundError
from gamification.models import FriendRequest, Friendship, User
from gamification.prepared import PreparedQuery
from gamification.selectors.relationships import (
    OTHER_SIDE,
    SIDES,
    friendship_active_of_pair,
    friendship_and_request_joins,
    friendships_active_on_side,
    is_friend_of,
    is_undiscoverable_joined,
    progress_is_private,
    user_pair,
    users_visible_to,
)
from gamification.selectors.streaks import FriendStreaksNow

SEARCH_RESULTS_MAX = 20
# Display names are matched whole, so a term may be as long as a display name.
SEARCH_TERM_MAX_LENGTH = NAME_MAX_LENGTH

RelationshipStatus = Literal["self", "friends", "request_sent", "request_received", "none"]


@dataclass(frozen=True)
class Relationship:
    status: RelationshipStatus
    friend_streak: int | None = None
    friends_since: datetime | None = None
    request_id: int | None = None
    # When the pending request (``request_id``) was sent.
    request_created_at: datetime | None = None


def user_get_private(*, viewer: User, username: str, denied_message: str) -> User:
    """The user whose private data (friends, badges, streaks) ``viewer`` asks for: NotFoundError
    for an unknown username (or a user in a block with the viewer), ForbiddenError unless it is
    the viewer or a current friend who shows their progress to friends. One prepared query."""
    user, viewer_is_friend, progress_private = _user_visible_with_access(viewer=viewer, username=username)
    if user.pk != viewer.pk and (not viewer_is_friend or progress_private):
        raise ForbiddenError(denied_message)
    return user


def user_get_visible(*, viewer: User, username: str) -> User:
    """The user with this username ignoring case whom ``viewer`` may know exists, else
    NotFoundError: a user in a block with the viewer (either way) is answered as unknown. One
    prepared query."""
    return _user_visible_with_access(viewer=viewer, username=username)[0]


_USER_FIELDS = tuple(field.attname for field in User._meta.concrete_fields)
# What a search result shows of a user (``user_summary_out``, and the Zeeguu-compatible one):
# the prefix queries read only these (a whole row is twice the client's CPU).
# Everything ``UserSummary`` shows of a user and their id, nothing more (never the email or the
# password hash): what search results, boards and other lists of users read.
SUMMARY_FIELDS = ("id", "username", "name", "avatar_image", "avatar_character_color", "avatar_background_color")


class SearchResult(NamedTuple):
    """A user search found (what ``UserSearchResultSerializer`` shows, under ``User``'s names),
    read without a model instance: building twenty ``User`` objects cost a tenth of a search's
    CPU."""

    pk: int
    username: str
    name: str
    avatar_image: str
    avatar_character_color: str
    avatar_background_color: str
    relationship: Relationship


def _visible_user_row(viewer_id, key):
    """The user ``viewer_id`` may know exists whose username is ``key`` ignoring case: their
    whole row, whether the viewer is their friend now, and whether they show their progress to
    nobody (``can_view_private``'s two questions, asked in the same query)."""
    return (
        users_visible_to(viewer_id=viewer_id)
        .filter(username_key=key)
        .annotate(
            viewer_is_friend=is_friend_of(user_id=viewer_id, other=OuterRef("pk")),
            progress_private=progress_is_private(user=OuterRef("pk")),
        )
        .order_by()
        .values_list(*_USER_FIELDS, "viewer_is_friend", "progress_private")
    )


_VISIBLE_USER = PreparedQuery(_visible_user_row, viewer_id="int", key="str")


def _user_visible_with_access(*, viewer: User, username: str) -> tuple[User, bool, bool]:
    """``user_get_visible``'s user (NotFoundError as there), whether ``viewer`` is their friend
    now, and whether they show their progress to nobody."""
    rows, alias = [], router.db_for_read(User)
    if isinstance(username, str) and 0 < len(username) <= USERNAME_MAX_LENGTH:
        rows = _VISIBLE_USER.rows(using=alias, viewer_id=viewer.pk, key=username.lower())
    if not rows:
        raise NotFoundError("No user with this username.")
    (*values, viewer_is_friend, progress_private) = rows[0]
    return User.from_db(alias, _USER_FIELDS, values), bool(viewer_is_friend), bool(progress_private)


def user_get_by_username(*, username: str) -> User:
    """The user with this username ignoring case, else NotFoundError. For staff and the
    platform only: a learner's look-up of another learner is ``user_get_visible``."""
    user = None
    if isinstance(username, str) and 0 < len(username) <= USERNAME_MAX_LENGTH:
        user = User.objects.filter(username_key=username.lower()).first()
    if user is None:
        raise NotFoundError("No user with this username.")
    return user


def binary_collation(expression):
    """Compare and sort by code point, the same on every backend: MariaDB's default collations
    also ignore accents and sort punctuation by their own rules."""
    return Collate(expression, "utf8mb4_bin" if connection.vendor == "mysql" else "BINARY")


def _display_name_equals(term: str) -> Q:
    """Display name equal to ``term`` ignoring case. ``LOWER()`` folds every letter on MariaDB but
    only ASCII ones on SQLite, so the usual casings of the term are also compared as given."""
    variants = sorted({term, term.lower(), term.upper(), term.title(), term.capitalize()})
    return Q(name_lower_bin=term.lower()) | Q(name_bin__in=variants)


def user_search(*, viewer: User, term: str) -> list[SearchResult]:
    """SPEC §6.3, each user with how the viewer relates to them: in one query when at least 20
    findable usernames start with the term, else three. ``term`` is stripped
    (``serializers.friends.UserSearchQuerySerializer``).

    Matches usernames containing the term (ignoring case; ``%``, ``_`` and ``\\`` are literal:
    Django escapes them in ``contains``/``startswith``) and display names equal to it ignoring
    case; never the viewer, never a user in a block with the viewer, and a user who is not
    discoverable only by their exact username. Order: exact username, then username prefix, then
    the rest; within each group shorter usernames first, then alphabetically ignoring case. At
    most 20.

    The exact username and the prefixes come first, so when at least 20 users the viewer may
    find have a username starting with the term, they are the whole answer (``_prefix_search``:
    the prefix matches in the search's order from an index, checked one by one until 20 pass),
    where ``LIKE '%term%'`` would scan every user. Fewer: the full search follows.
    """
    if not term:
        return []
    key = term.lower()
    alias = router.db_for_read(User)
    lengths = list(range(len(key), USERNAME_MAX_LENGTH + 1))
    # Usernames are ASCII (validators.username_normalize): no other term starts one.
    if lengths and key.isascii():
        after = key[:-1] + chr(ord(key[-1]) + 1)  # the first string past those starting with key
        rows = _PREFIX_SEARCH.rows(using=alias, viewer_id=viewer.pk, key=key, after=after, lengths=lengths)
        if len(rows) == SEARCH_RESULTS_MAX:
            friend_streak = FriendStreaksNow()
            return [_found(viewer, row, friend_streak) for row in rows]
    condition = _display_name_equals(term)
    if len(key) <= USERNAME_MAX_LENGTH:
        condition |= Q(username_key__contains=key)
    matching = _search_candidates(viewer_id=viewer.pk, key=key).annotate(
        name_lower_bin=binary_collation(Lower("name")), name_bin=binary_collation("name")
    )
    found = matching.filter(condition).values_list(*SUMMARY_FIELDS)[:SEARCH_RESULTS_MAX]
    relationships = _relationships_by_id(viewer=viewer, others=[row[0] for row in found])
    return [SearchResult(*row, relationships[row[0]]) for row in found]


def _found(viewer: User, row: tuple, friend_streak: FriendStreaksNow) -> SearchResult:
    """A row of ``_PREFIX_SEARCH`` as a result."""
    summary = row[: len(SUMMARY_FIELDS)]
    timezone_name, since, length, low_through, high_through, request_id, sender_id, sent_at = row[len(SUMMARY_FIELDS) :]
    if since is not None:
        user_is_low = summary[0] < viewer.pk
        low_tz, high_tz = (timezone_name, viewer.timezone) if user_is_low else (viewer.timezone, timezone_name)
        relationship = _friends(
            friend_streak, since, length, low_through, high_through, low_timezone=low_tz, high_timezone=high_tz
        )
    elif request_id is not None:
        relationship = _requested(viewer, request_id, sender_id, sent_at)
    else:
        relationship = _NONE
    return SearchResult(*summary, relationship)


def _prefix_search(viewer_id, key, after, lengths):
    """The first 20 users ``user_search`` may show whose username starts with ``key``
    (``SUMMARY_FIELDS``), in the search's order. Read in that order from the
    ``user_search_order`` index (length, then the lower-cased username by code point: the exact
    username is the one of ``key``'s length), one range per length in ``lengths`` (``key``'s to
    the longest a username may have), each match checked (blocks, discoverable) until 20 pass:
    the cost follows the matches read, not the number of usernames that share the prefix
    (sorting them all took MariaDB 0.5 µs of CPU per match: 0.8 ms for the 1,540 that start
    with "k" in the HTTP benchmark's 20,000 users). "Starts with ``key``" is the code point range
    from ``key`` to ``after`` (``key`` with its last character's successor): a range of the
    index's second column on every backend, with no pattern to escape (a ``LIKE`` whose pattern
    is escaped in SQL cannot bound the range: MariaDB then read every username of each length).

    Each row also says how the viewer relates to the user (``_RELATIONSHIP_COLUMNS``), through
    LEFT JOINs of the viewer's friendship and request with each result (looked up for the 20
    rows returned only): a second query for them cost MariaDB more than the joins (0.40 against
    0.20 ms of CPU for 20 results)."""
    joins = friendship_and_request_joins(viewer_id=viewer_id)
    return (
        _findable(viewer_id=viewer_id, key=key)
        .filter(username_length__in=lengths, username_order__gte=key, username_order__lt=after)
        .annotate(**joins)
        .annotate(
            **{
                name: Coalesce(F(f"{kind}_low__{column}"), F(f"{kind}_high__{column}"))
                for name, (kind, column) in _RELATIONSHIP_COLUMNS.items()
            }
        )
        .order_by("username_length", "username_order")
        .values_list(*SUMMARY_FIELDS, "timezone", *_RELATIONSHIP_COLUMNS)[:SEARCH_RESULTS_MAX]
    )


# A search row's relationship: the name of each column, and the join and column it comes from.
_RELATIONSHIP_COLUMNS = {
    "rel_friends_since": ("friendship", "created_at"),
    "rel_streak_length": ("friendship", "streak_length"),
    "rel_streak_low_through": ("friendship", "streak_low_through_day"),
    "rel_streak_high_through": ("friendship", "streak_high_through_day"),
    "rel_request_id": ("request", "id"),
    "rel_request_sender_id": ("request", "sender_id"),
    "rel_request_created_at": ("request", "created_at"),
}


_PREFIX_SEARCH = PreparedQuery(
    _prefix_search, force_index="user_search_order", viewer_id="int", key="str", after="str", lengths="ints"
)


def _match_group(key):
    """0 for the exact username, 1 for a username starting with ``key``, 2 for the rest."""
    return Case(
        When(username_key=key, then=Value(0)),
        When(username_key__startswith=Value(key), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _findable(*, viewer_id: int, key: str):
    """The users search may show ``viewer_id`` for the lower-cased term ``key``: visible to
    them, not them, and discoverable unless ``key`` is their username."""
    return (
        users_visible_to(viewer_id=viewer_id)
        .exclude(pk=viewer_id)
        .filter(Q(username_key=key) | ~is_undiscoverable_joined())
    )


def _search_candidates(*, viewer_id: int, key: str):
    """``_findable`` in the search's order (the prefix test escapes ``key`` in SQL)."""
    return (
        _findable(viewer_id=viewer_id, key=key)
        .annotate(match_group=_match_group(key))
        .order_by("match_group", "username_length", "username_order")
    )


def relationships_for(*, viewer: User, users: Iterable[User]) -> dict[int, Relationship]:
    """How ``viewer`` relates to each of ``users``, by user id, in one query whatever the number
    of users (none when ``users`` is only the viewer): the current friendships and the pending
    requests between the viewer and them, as values."""
    ids = [user.pk for user in users]
    result = _relationships_by_id(viewer=viewer, others=[pk for pk in ids if pk != viewer.pk])
    if viewer.pk in ids:
        result[viewer.pk] = Relationship(status="self")
    return result


_NONE = Relationship(status="none")


def _relationships_by_id(*, viewer: User, others: list[int]) -> dict[int, Relationship]:
    """``relationships_for`` of other users than the viewer, by id: one query, none for none."""
    result: dict[int, Relationship] = dict.fromkeys(others, _NONE)
    if not others:
        return result
    friend_streak = FriendStreaksNow()
    requests = []
    for row in _relationship_rows(viewer_id=viewer.pk, other_ids=others):
        row_id, low_or_sender, high_or_receiver, created_at, length, low_through, high_through, low_tz, high_tz = row
        if length is None:  # a request's row: the friendships' streak length is never NULL
            requests.append((row_id, low_or_sender, high_or_receiver, created_at))
            continue
        # A search's rows leave the viewer's own timezone out (a user's timezone is never NULL).
        low_tz = viewer.timezone if low_tz is None else low_tz
        high_tz = viewer.timezone if high_tz is None else high_tz
        other = high_or_receiver if low_or_sender == viewer.pk else low_or_sender
        result[other] = _friends(
            friend_streak, created_at, length, low_through, high_through, low_timezone=low_tz, high_timezone=high_tz
        )
    for request_id, sender_id, receiver_id, created_at in requests:
        other = receiver_id if sender_id == viewer.pk else sender_id
        if result[other].status != "none":
            continue  # friends already (a request never outlives its accept; defensive)
        result[other] = _requested(viewer, request_id, sender_id, created_at)
    return result


def _friends(
    friend_streak: FriendStreaksNow,
    since: datetime,
    length: int,
    low_through: int | None,
    high_through: int | None,
    *,
    low_timezone: str,
    high_timezone: str,
) -> Relationship:
    """The relationship with a friend, from our friendship's start and streak columns."""
    streak = friend_streak(
        length=length,
        created_at=since,
        low_through=low_through,
        high_through=high_through,
        low_timezone=low_timezone,
        high_timezone=high_timezone,
    )
    return Relationship(status="friends", friend_streak=streak, friends_since=since)


def _requested(viewer: User, request_id: int, sender_id: int, created_at: datetime) -> Relationship:
    """The relationship of a pending request between the viewer and another user."""
    status = "request_sent" if sender_id == viewer.pk else "request_received"
    return Relationship(status=status, request_id=request_id, request_created_at=created_at)


_FRIENDSHIP_COLUMNS = (
    "id",
    "user_low_id",
    "user_high_id",
    "created_at",
    "streak_length",
    "streak_low_through_day",
    "streak_high_through_day",
    "user_low__timezone",
    "user_high__timezone",
)


def _request_rows(requests):
    """Requests as rows of ``_relationships_union``: id, sender, receiver, created_at, NULLs."""
    no_number, no_text = Value(None, output_field=IntegerField()), Value(None, output_field=CharField())
    return (
        requests.order_by()
        .annotate(n1=no_number, n2=no_number, n3=no_number, t1=no_text, t2=no_text)
        .values_list("id", "sender_id", "receiver_id", "created_at", "n1", "n2", "n3", "t1", "t2")
    )


def _relationships_union(friendships, *requests):
    """One ``UNION ALL`` query: the friendships (id, low, high, created_at, the streak columns,
    both users' timezones), then the requests (id, sender, receiver, created_at, NULLs)."""
    return friendships.order_by().values_list(*_FRIENDSHIP_COLUMNS).union(*map(_request_rows, requests), all=True)


def _relationship_with_one(low_id, high_id):
    """``_relationship_rows`` for one pair (its ids in order, ``user_pair``), with the same SQL
    for every pair: one look-up of each pair index (an ``OR`` of both orders cost MariaDB twice
    the CPU)."""
    return _relationships_union(
        friendship_active_of_pair(low_id=low_id, high_id=high_id),
        FriendRequest.objects.filter(user_low_id=low_id, user_high_id=high_id),
    )


def _friendships_with_side(viewer_id, other_ids, *, side: str):
    """The viewer's current friendships with ``other_ids`` where the viewer is on ``side``:
    rows of ``_relationships_union`` with the viewer's timezone NULL (the caller knows it), so
    that the query joins only the other user's row."""
    other_side = OTHER_SIDE[side]
    return (
        friendships_active_on_side(user_id=viewer_id, side=side)
        .filter(**{f"{other_side}_id__in": other_ids})
        .order_by()
        .annotate(
            **{f"{side}_tz": Value(None, output_field=CharField()), f"{other_side}_tz": F(f"{other_side}__timezone")}
        )
        .values_list(*_FRIENDSHIP_COLUMNS[:-2], "user_low_tz", "user_high_tz")
    )


def _relationship_with_many(viewer_id, other_ids):
    """``_relationship_rows`` for a list of other users (search results: up to 20): four
    branches, one per side of the pair and direction of the request, each a range of one
    index per id (an ``OR`` of both sides merged two indexes: 0.52 against 0.36 ms of
    MariaDB's CPU for 20 users)."""
    low_side, high_side = (_friendships_with_side(viewer_id, other_ids, side=side) for side in SIDES)
    return low_side.union(
        high_side,
        _request_rows(FriendRequest.objects.filter(sender_id=viewer_id, receiver_id__in=other_ids)),
        _request_rows(FriendRequest.objects.filter(receiver_id=viewer_id, sender_id__in=other_ids)),
        all=True,
    )


# A profile asks for one user: the same query every time, compiled once; a search for a list
# (its ``IN`` lists written out on each call, see ``prepared``).
_RELATIONSHIP_WITH_ONE = PreparedQuery(_relationship_with_one, low_id="int", high_id="int")
_RELATIONSHIP_WITH_MANY = PreparedQuery(_relationship_with_many, viewer_id="int", other_ids="ints")


def _relationship_rows(*, viewer_id: int, other_ids: list[int]) -> list[tuple]:
    """The viewer's current friendships with ``other_ids`` and the pending requests between
    them, in one query (``_relationships_union``)."""
    if len(other_ids) == 1:
        low, high = user_pair(viewer_id, other_ids[0])
        return _RELATIONSHIP_WITH_ONE.rows(using=router.db_for_read(Friendship), low_id=low, high_id=high)
    return _RELATIONSHIP_WITH_MANY.rows(using=router.db_for_read(Friendship), viewer_id=viewer_id, other_ids=other_ids)


def users_with_relationship(*, viewer: User, users: Iterable[User]) -> list[User]:
    """``users`` with ``relationship`` (a ``Relationship``) set on each."""
    users = list(users)
    relationships = relationships_for(viewer=viewer, users=users)
    for user in users:
        user.relationship = relationships[user.pk]
    return users
