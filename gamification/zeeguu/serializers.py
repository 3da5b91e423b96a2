"""Upstream's shapes (docs/zeeguu.md) for what the selectors and services give,
and the upstream inputs read into what they take. Shape only: no rule is decided here.

Conventions of every answer: avatars are ``{"image_name", "character_color", "background_color"}``
(``avatar`` in lists, ``user_avatar`` in user details); timestamps are ISO 8601 in UTC with their
offset (``...Z``); never an email but the caller's own.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS, TIMEZONE_MAX_LENGTH
from gamification.models import User
from gamification.selectors.badges import ActivityTypeProgress
from gamification.selectors.users import Relationship
from gamification.serializers.fields import StrictCharField
from gamification.serializers.users import AvatarChoiceField, DisplayNameField, UsernameField
from gamification.timeutils import zone
from gamification.validators import timezone_validate
from gamification.zeeguu.errors import CompatError

_datetime_field = serializers.DateTimeField()


def iso(value: dt.datetime | None) -> str | None:
    """An instant as the API writes it everywhere: ISO 8601 in UTC, with its offset."""
    return _datetime_field.to_representation(value) if value is not None else None


# Users ------------------------------------------------------------------------------------------
class AvatarSerializer(serializers.Serializer):
    """The avatar of a ``User`` or a leaderboard ``Member`` (same attribute names)."""

    image_name = serializers.CharField(source="avatar_image")
    character_color = serializers.CharField(source="avatar_character_color")
    background_color = serializers.CharField(source="avatar_background_color")


class UserRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    username = serializers.CharField()


class UserWithAvatarSerializer(UserRefSerializer):
    avatar = AvatarSerializer(source="*")


def friendship_obj(*, created_at: dt.datetime | None, friend_streak: int) -> dict[str, Any]:
    """A current friendship (upstream's FriendshipObj). This service keeps friend streaks as days
    of the friendship, not as an update time: ``friend_streak_last_updated`` is null."""
    return {"created_at": iso(created_at), "friend_streak": friend_streak, "friend_streak_last_updated": None}


def user_ref(user: User) -> dict[str, str]:
    return {"name": user.name, "username": user.username}


def languages_with_streaks(rows: list[dict]) -> list[dict] | None:
    """A friend's languages (``selectors.streaks.languages_for_users`` rows) as upstream lists
    them: by best run, longest first; null when there are none."""
    ordered = sorted(rows, key=lambda row: (-row["max_streak"], row["code"]))
    return [
        {
            "code": row["code"],
            "language": row["name"],
            "daily_streak": row["daily_streak"],
            "max_streak": row["max_streak"],
        }
        for row in ordered
    ] or None


def languages_plain(rows: list[dict]) -> list[dict] | None:
    """Codes and names only (no streak numbers), in the same order; null when there are none."""
    return [{"code": row["code"], "language": row["language"]} for row in languages_with_streaks(rows) or []] or None


class FriendSerializer(UserWithAvatarSerializer):
    """One of my friends (``selectors.friends.friend_list``): ``/my_friends``."""

    friendship = serializers.SerializerMethodField()
    languages = serializers.SerializerMethodField()

    def get_friendship(self, friend: User) -> dict:
        return friendship_obj(created_at=friend.friends_since, friend_streak=friend.friend_streak)

    def get_languages(self, friend: User) -> list[dict] | None:
        return languages_with_streaks(friend.languages)


class FriendOfSerializer(UserWithAvatarSerializer):
    """A friend of someone I may look at: ``/friends_of/<username>``. The context holds each
    user's languages by id (``selectors.streaks.languages_for_users``)."""

    languages = serializers.SerializerMethodField()

    def get_languages(self, friend: User) -> list[dict] | None:
        return languages_plain(self.context["languages"].get(friend.pk, []))


class FriendRequestSerializer(serializers.Serializer):
    """A pending request (upstream's FriendRequestObj)."""

    sender = UserRefSerializer()
    receiver = UserRefSerializer()
    created_at = serializers.DateTimeField()


class _SenderWithAvatarSerializer(UserWithAvatarSerializer):
    pass


class ReceivedFriendRequestSerializer(FriendRequestSerializer):
    """A request I received: its sender also with their avatar."""

    sender = _SenderWithAvatarSerializer()


def _friend_request_obj(*, viewer: User, other: User, relationship: Relationship) -> dict[str, Any]:
    sender, receiver = (viewer, other) if relationship.status == "request_sent" else (other, viewer)
    return {
        "sender": user_ref(sender),
        "receiver": user_ref(receiver),
        "created_at": iso(relationship.request_created_at),
    }


class SearchResultSerializer(UserWithAvatarSerializer):
    """A user found by ``/search_users`` (a ``selectors.users.SearchResult``, with its
    ``relationship``; the context holds the ``viewer``)."""

    friendship = serializers.SerializerMethodField()
    friend_request = serializers.SerializerMethodField()

    def get_friendship(self, user: User) -> dict | None:
        relationship: Relationship = user.relationship
        if relationship.status != "friends":
            return None
        return friendship_obj(created_at=relationship.friends_since, friend_streak=relationship.friend_streak or 0)

    def get_friend_request(self, user: User) -> dict | None:
        relationship: Relationship = user.relationship
        if relationship.status not in ("request_sent", "request_received"):
            return None
        return _friend_request_obj(viewer=self.context["viewer"], other=user, relationship=relationship)


class FriendDetailsSerializer(serializers.Serializer):
    """Anyone's profile as ``/get_friend_details/<username>`` shows it, with ``friendship``
    only when there is one (a current friendship, or a pending request either way)."""

    name = serializers.CharField()
    username = serializers.CharField()
    created_at = serializers.DateTimeField()
    user_avatar = AvatarSerializer(source="*")

    def to_representation(self, user: User) -> dict:
        data = super().to_representation(user)
        relationship: Relationship = user.relationship
        if relationship.status == "friends":
            data["friendship"] = {
                "friend_streak": relationship.friend_streak or 0,
                "friend_streak_last_updated": None,
                "is_accepted": True,
                "created_at": iso(relationship.friends_since),
            }
        elif relationship.status in ("request_sent", "request_received"):
            request = _friend_request_obj(viewer=self.context["viewer"], other=user, relationship=relationship)
            data["friendship"] = {
                "sender_username": request["sender"]["username"],
                "receiver_username": request["receiver"]["username"],
                "friend_streak": 0,
                "friend_streak_last_updated": None,
                "is_accepted": False,
                "created_at": request["created_at"],
            }
        return data


class UserDetailsSerializer(serializers.Serializer):
    """The caller's own details (``/get_user_details``). The keys upstream fills from what only
    the platform holds (languages, bookmarks, daily audio, e-mail verification) carry neutral
    values: this service does not know them. ``features`` lists the flags on for the caller."""

    email = serializers.EmailField(allow_null=True)
    name = serializers.CharField()
    username = serializers.CharField()
    created_at = serializers.DateTimeField()
    user_avatar = AvatarSerializer(source="*")

    def to_representation(self, user: User) -> dict:
        data = super().to_representation(user)
        roles = self.context["roles"]
        data.update(
            {
                "learned_language": None,
                "native_language": None,
                "is_teacher": "teacher" in roles,
                "is_student": "student" in roles,
                "is_anonymous": False,
                "email_verified": False,
                "requires_email_verification": False,
                "bookmark_count": 0,
                "daily_audio_status": None,
                "features": [flag for flag, on in self.context["features"].items() if on],
            }
        )
        return data


class StudentInfoSerializer(serializers.Serializer):
    """``//student_info``: the caller and the classrooms they are a student of (upstream's
    cohorts; the ids are those of ``/cohort_leaderboard/<id>``). Languages are known here by code,
    not by upstream's integer id: ``language_id`` is null and ``language_code`` says it."""

    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    cohorts = serializers.SerializerMethodField()

    def get_cohorts(self, user: User) -> list[dict]:
        return [
            {"id": item.id, "name": item.name, "language_id": None, "language_code": item.language}
            for item in self.context["classrooms"]
        ]


# Badges -----------------------------------------------------------------------------------------
def _badges(progress: ActivityTypeProgress) -> list[dict]:
    """The levels of one type in ascending level (the frontend relies on it), each with the
    frontend's icon file for the type (null when it ships none)."""
    icon_name = progress.activity_type.frontend_icon_name or None
    return [
        {
            "level": item.level,
            "name": item.name,
            "unachieved_description": item.unachieved_description,
            "achieved_description": item.achieved_description,
            # Older mobile clients read this key.
            "description": item.achieved_description,
            "threshold": item.threshold,
            "icon_name": icon_name,
            "achieved": item.achieved,
            "achieved_at": iso(item.achieved_at),
            "is_shown": item.seen,
        }
        for item in sorted(progress.badges, key=lambda item: item.level)
    ]


class BadgeCategorySerializer(serializers.Serializer):
    """One activity type of ``//my_badges`` (``selectors.badges.badge_progress_for_user``)."""

    name = serializers.CharField()
    badges = serializers.SerializerMethodField()
    current_value = serializers.IntegerField()

    def get_badges(self, progress: ActivityTypeProgress) -> list[dict]:
        return _badges(progress)


class FriendBadgeCategorySerializer(serializers.Serializer):
    """One activity type of ``//friend_badges/<username>``: achieved levels only, no value."""

    name = serializers.CharField()
    badges = serializers.SerializerMethodField()

    def get_badges(self, progress: ActivityTypeProgress) -> list[dict]:
        return _badges(progress)


# Streaks ----------------------------------------------------------------------------------------
def streak_history(rows: list, *, with_numbers: bool) -> list[dict]:
    """``selectors.streaks.streaks_of_user`` rows by best run, longest first: the full rows, or
    (for someone whose streaks the caller may not see) codes and names only."""
    ordered = sorted(rows, key=lambda row: (-row.max_streak, row.code))
    if not with_numbers:
        return [{"code": row.code, "language": row.name} for row in ordered]
    return [
        {
            "code": row.code,
            "language": row.name,
            "daily_streak": row.daily_streak,
            "max_streak": row.max_streak,
            "max_streak_date": row.max_streak_date.isoformat() if row.max_streak_date else None,
        }
        for row in ordered
    ]


def language_streaks(rows: list) -> list[dict]:
    """``/all_language_streaks``: current streaks, longest first (the selector's order)."""
    return [
        {
            "code": row.code,
            "language": row.name,
            "daily_streak": row.daily_streak,
            "practiced_today": row.practiced_today,
        }
        for row in rows
    ]


# Leaderboards -----------------------------------------------------------------------------------
# Upstream's metric keys → this service's metric, and the factor to upstream's unit (times are in
# milliseconds there, in seconds here).
LEADERBOARD_METRICS: dict[str, tuple[str, int]] = {
    "reading_time": ("reading_time", 1000),
    "read_articles": ("read_articles", 1),
    "exercises_done": ("correct_exercises", 1),
    "listening_time": ("listening_time", 1000),
    "exercise_time": ("exercise_time", 1000),
}
ASCII_INTEGER = re.compile(r"[+-]?[0-9]{1,18}\Z")
MAX_DATE_TEXT = 64
# Spans reaching beyond these are unbounded on that side (no activity lies out there, and the
# databases' date types end before Python's).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class LeaderboardQuery:
    metric: str  # this service's
    scale: int
    start: dt.datetime | None  # inclusive
    end: dt.datetime | None  # exclusive
    limit: int | None


def _instant(raw: str, *, tz_name: str, name: str, inclusive_end: bool) -> dt.datetime | None:
    """An ISO 8601 date or date-time; one without an offset is a wall-clock time in ``tz_name``
    (upstream drops offsets and reads wall clocks as UTC). For ``to_date`` the instant is
    inclusive, to the second it names (a bare date: to the end of that day); the exclusive end
    after it is returned."""
    text = raw.strip()
    try:
        if len(text) > MAX_DATE_TEXT:
            raise ValueError
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            value = dt.datetime.fromisoformat(text)
            step = dt.timedelta(seconds=1) if value.microsecond == 0 else dt.timedelta(microseconds=1)
        else:
            value = dt.datetime.combine(day, dt.time.min)
            step = dt.timedelta(days=1)
    except ValueError:
        raise CompatError(400, f"{name} must be a valid ISO datetime") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz_name))
    try:
        if inclusive_end:
            value = value + step
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None


class LeaderboardQuerySerializer(serializers.Serializer):
    """``?metric=&from_date=&to_date=&limit=``, checked in upstream's order, each failure a 400
    with upstream's message. The context holds the caller's ``timezone``."""

    def to_internal_value(self, data) -> LeaderboardQuery:
        limit_text = data.get("limit")
        limit = None
        if limit_text is not None:
            if not ASCII_INTEGER.match(limit_text.strip()):
                raise CompatError(400, "limit must be an integer")
            limit = int(limit_text)
            if limit <= 0:
                raise CompatError(400, "limit must be greater than 0")
        tz_name = self.context["timezone"]
        from_text, to_text = data.get("from_date") or "", data.get("to_date") or ""
        start = _instant(from_text, tz_name=tz_name, name="from_date", inclusive_end=False) if from_text else None
        to_named = _instant(to_text, tz_name=tz_name, name="to_date", inclusive_end=False) if to_text else None
        end = _instant(to_text, tz_name=tz_name, name="to_date", inclusive_end=True) if to_text else None
        if start is not None and to_named is not None and start > to_named:
            raise CompatError(400, "from_date must be before or equal to to_date")
        metric = data.get("metric")
        if metric not in LEADERBOARD_METRICS:
            raise CompatError(400, "Invalid leaderboard metric")
        ours, scale = LEADERBOARD_METRICS[metric]
        if start is not None and start < EARLIEST:
            start = None
        if end is not None and end > LATEST:
            end = None
        return LeaderboardQuery(metric=ours, scale=scale, start=start, end=end, limit=limit)


class LeaderboardRowSerializer(serializers.Serializer):
    """A row of a board (``selectors.leaderboards.BoardRow``), its value in upstream's unit (the
    context's ``scale``)."""

    user = UserWithAvatarSerializer()
    value = serializers.SerializerMethodField()

    def get_value(self, row) -> int:
        return row.value * self.context["scale"]


# Inputs -----------------------------------------------------------------------------------------
class UserSettingsInputSerializer(serializers.Serializer):
    """``/user_settings`` (a form): the keys of this service, each ignored when empty or missing,
    as upstream does. Avatar values are matched ignoring case and kept as the vocabulary spells
    them; everything else the frontend sends along (e-mail, password, languages, the echoed user
    details) is the platform's and ignored."""

    name = DisplayNameField(required=False, allow_blank=True)
    username = UsernameField(required=False)
    avatar_image_name = AvatarChoiceField(values=AVATAR_IMAGES, required=False)
    avatar_character_color = AvatarChoiceField(values=CHARACTER_COLORS, required=False)
    avatar_background_color = AvatarChoiceField(values=BACKGROUND_COLORS, required=False)

    AVATAR_KEYS = {
        "avatar_image_name": "image",
        "avatar_character_color": "character_color",
        "avatar_background_color": "background_color",
    }

    def to_internal_value(self, data) -> dict[str, Any]:
        given = {key: data.get(key) for key in self.fields if isinstance(data.get(key), str) and data.get(key) != ""}
        validated = super().to_internal_value(given)
        changes: dict[str, Any] = {key: validated[key] for key in ("name", "username") if key in validated}
        avatar = {self.AVATAR_KEYS[key]: value for key, value in validated.items() if key in self.AVATAR_KEYS}
        if avatar:
            changes["avatar"] = avatar
        return changes


class TimezoneInputSerializer(serializers.Serializer):
    timezone = StrictCharField(max_length=TIMEZONE_MAX_LENGTH, validators=[timezone_validate])
