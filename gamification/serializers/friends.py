"""Shapes of the friends, friend requests and users API (SPEC §5). Never an email."""

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from gamification.selectors.users import SEARCH_TERM_MAX_LENGTH
from gamification.serializers.fields import datetime_out, datetime_writer
from gamification.serializers.users import UserSummarySerializer, user_summary_out

RELATIONSHIP_STATUSES = ("self", "friends", "request_sent", "request_received", "none")


class RelationshipSerializer(serializers.Serializer):
    """How the caller relates to a user; fields that do not apply are null."""

    status = serializers.ChoiceField(choices=RELATIONSHIP_STATUSES)
    friend_streak = serializers.IntegerField(allow_null=True)
    friends_since = serializers.DateTimeField(allow_null=True)
    request_id = serializers.IntegerField(allow_null=True)


class UserSearchResultSerializer(UserSummarySerializer):
    relationship = RelationshipSerializer()


class UserProfileSerializer(UserSummarySerializer):
    created_at = serializers.DateTimeField()
    relationship = RelationshipSerializer()


class FriendLanguageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    daily_streak = serializers.IntegerField()
    max_streak = serializers.IntegerField()


class FriendSerializer(UserSummarySerializer):
    """One of my friends: a ``User`` from ``gamification.selectors.friends.friend_list``."""

    friends_since = serializers.DateTimeField()
    friend_streak = serializers.IntegerField()
    languages = FriendLanguageSerializer(many=True)


class FriendRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender = UserSummarySerializer()
    receiver = UserSummarySerializer()
    created_at = serializers.DateTimeField()


class FriendRequestCreateSerializer(serializers.Serializer):
    receiver = serializers.CharField(help_text="Username of the person to befriend (matched ignoring case).")


class FriendRequestAcceptedSerializer(serializers.Serializer):
    friend = UserSummarySerializer()
    friends_since = serializers.DateTimeField()
    friend_streak = serializers.IntegerField()


class FriendRequestCountSerializer(serializers.Serializer):
    received = serializers.IntegerField()


class UserSearchQuerySerializer(serializers.Serializer):
    """A term of at most 100 characters (a display name may be that long), stripped; missing or
    blank is the empty term, which finds nobody. NUL is refused (SQLite would cut a LIKE pattern
    at it and match everyone)."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=SEARCH_TERM_MAX_LENGTH,
        error_messages={"max_length": f"A search term has at most {SEARCH_TERM_MAX_LENGTH} characters."},
        help_text="Part of a username, or a whole display name; missing or blank gives [].",
    )


def search_term_of(value: str | None) -> str | None:
    """``UserSearchQuerySerializer``'s term for the query parameter ``value`` (None: missing),
    worked out without the serializer when it is one it accepts (stripped as DRF strips, at most
    ``SEARCH_TERM_MAX_LENGTH`` characters, no NUL); None when it is not, for the serializer to
    say why. A search's own work is a few tenths of a millisecond, and building the serializer
    cost a fifth of it."""
    if value is None:
        return ""
    term = value.strip()
    if len(term) > SEARCH_TERM_MAX_LENGTH or "\x00" in term:
        return None
    return term


# Hand-built output of the hot lists (see serializers.fields): the same dicts as the serializers
# above, without DRF's per-field calls.


def relationship_out(relationship, when: Callable[[Any], str | None] = datetime_out) -> dict:
    """``RelationshipSerializer(relationship).data`` as a plain dict (datetimes written by
    ``when``)."""
    return {
        "status": relationship.status,
        "friend_streak": relationship.friend_streak,
        "friends_since": when(relationship.friends_since),
        "request_id": relationship.request_id,
    }


def user_search_out(users) -> list[dict]:
    """``UserSearchResultSerializer(users, many=True).data`` as plain dicts."""
    when = datetime_writer()
    return [{**user_summary_out(user), "relationship": relationship_out(user.relationship, when)} for user in users]


def user_profile_out(user) -> dict:
    """``UserProfileSerializer(user).data`` as a plain dict."""
    return {
        **user_summary_out(user),
        "created_at": datetime_out(user.created_at),
        "relationship": relationship_out(user.relationship),
    }


def friend_list_out(friends) -> list[dict]:
    """``FriendSerializer(friends, many=True).data`` as plain dicts."""
    when = datetime_writer()
    return [
        {
            **user_summary_out(friend),
            "friends_since": when(friend.friends_since),
            "friend_streak": friend.friend_streak,
            "languages": [
                {
                    "code": language["code"],
                    "name": language["name"],
                    "daily_streak": language["daily_streak"],
                    "max_streak": language["max_streak"],
                }
                for language in friend.languages
            ],
        }
        for friend in friends
    ]
