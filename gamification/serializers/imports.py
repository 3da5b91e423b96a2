"""Input of the historical import (``import_users``, ``import_events``): one line each.

The rules are the API's (``serializers.platform``, ``serializers.events``) with the differences a
backfill needs: every event names its learner (``external_user_id`` or ``user``), ``occurred_at``
is required and may be of any age (not in the future).
"""

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from gamification.constants import EXTERNAL_ID_MAX_LENGTH
from gamification.models import PracticeKind, User
from gamification.serializers.events import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    ITEM_ID_MAX_LENGTH,
    LANGUAGE_CODE_MAX_LENGTH,
    MAX_CLOCK_SKEW,
    MAX_DURATION_SECONDS,
    TYPE_FIELDS,
    WORD_MAX_LENGTH,
    EventInputSerializer,
)
from gamification.serializers.platform import PlatformUserInputSerializer
from gamification.serializers.users import DisplayNameField

USER_COLUMNS = ("external_id", "name", "email", "username", "timezone")
NAME_THE_LEARNER = "Name the learner with external_user_id (or user)."


class UserImportSerializer(PlatformUserInputSerializer):
    """One user: ``external_id`` and the profile fields of ``PUT /api/platform/users/``."""

    external_id = serializers.CharField(max_length=EXTERNAL_ID_MAX_LENGTH, trim_whitespace=False)
    name = DisplayNameField(required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send each user as a JSON object."]})
        unknown = sorted(str(key) for key in data if key not in USER_COLUMNS)
        if unknown:
            raise serializers.ValidationError(
                {key: [f"Unknown field; use {', '.join(USER_COLUMNS)}."] for key in unknown[:10]}
            )
        return super().to_internal_value(data)


class EventImportSerializer(EventInputSerializer):
    """One historical event. Needs the context of ``events_import_context``: the known language
    codes and the users the chunk names, by username key and by external id."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        if isinstance(data, dict):
            if data.get("occurred_at") is None:
                errors["occurred_at"] = ["An imported event needs its occurred_at."]
            if data.get("user") is None and data.get("external_user_id") is None:
                errors["external_user_id"] = [NAME_THE_LEARNER]
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**errors, **error.detail}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return validated

    def fast_internal_value(self, data: Any) -> dict[str, Any]:
        """``to_internal_value(data)``, with plain checks for a line that is plainly valid (the
        same rules, the same result) and the fields' own validation for any other."""
        fast = self.__dict__.get("_fast_path")
        if fast is None:
            fast = self.__dict__["_fast_path"] = _FastPath(self)
        validated = fast(data)
        return validated if validated is not None else self.to_internal_value(data)

    def validate_occurred_at(self, value):
        if value > self._now() + MAX_CLOCK_SKEW:
            raise serializers.ValidationError("This time is in the future.", code="future")
        return value

    def validate_user(self, value: str | None) -> User | None:
        if value is None:
            return None
        user = self.context["users_by_key"].get(value.strip().lower())
        if user is None:
            raise serializers.ValidationError(f'Unknown user "{value[:50]}".', code="unknown_user")
        return user

    def validate_external_user_id(self, value: str | None) -> User | None:
        if value is None:
            return None
        user = self.context["users_by_external_id"].get(value)
        if user is None:
            raise serializers.ValidationError(f'Unknown external user id "{value[:64]}".', code="unknown_user")
        return user


# The fast path of the import -------------------------------------------------------------------
# At a million lines DRF's field machinery costs more than storing the events (~85 us a line).
# ``EventImportSerializer.fast_internal_value`` accepts the lines that are plainly valid with
# plain checks of the same rules and returns what ``to_internal_value`` returns for them; any
# line it is not sure of (every invalid one among them) goes to ``to_internal_value``, so the
# errors, and their wording, have one source. tests/commands/test_import_fast.py holds the two
# together.
_PRACTICE_KINDS = frozenset(PracticeKind.values)


def _plain_string(value: Any, *, max_length: int | None, trim: bool) -> str | None:
    """What a ``StrictCharField`` (no blank) makes of ``value``, or None when it might refuse it:
    a string, not blank, at most ``max_length`` long once trimmed, without NUL or surrogates."""
    if type(value) is not str:
        return None
    text = value.strip() if trim else value
    if not text or "\x00" in text:
        return None
    if max_length is not None and len(text) > max_length:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    return text


def _item_id(value: Any) -> str | None:
    if type(value) is int:
        if not -(10**30) < value < 10**30:
            return None
        value = str(value)
    return _plain_string(value, max_length=ITEM_ID_MAX_LENGTH, trim=True)


class _FastPath:
    def __init__(self, serializer: "EventImportSerializer") -> None:
        field = serializer.fields["occurred_at"]
        # What the field's ``enforce_timezone`` converts an aware time to.
        self.zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
        self.latest = serializer._now() + MAX_CLOCK_SKEW
        self.language_codes = serializer.context["language_codes"]
        self.users_by_key = serializer.context["users_by_key"]
        self.users_by_external_id = serializer.context["users_by_external_id"]

    def occurred_at(self, value: Any) -> dt.datetime | None:
        if type(value) is not str:
            return None
        try:
            parsed = parse_datetime(value)
            if parsed is None or parsed.tzinfo is None or self.zone is None:
                return None
            parsed = parsed.astimezone(self.zone)
        except (ValueError, OverflowError):
            return None
        return parsed if parsed <= self.latest else None

    def __call__(self, data: Any) -> dict[str, Any] | None:
        if type(data) is not dict:
            return None
        event_type = data.get("type")
        if type(event_type) is not str or event_type not in TYPE_FIELDS:
            return None
        occurred_at = self.occurred_at(data.get("occurred_at"))
        if occurred_at is None:
            return None
        language = _plain_string(data.get("language"), max_length=LANGUAGE_CODE_MAX_LENGTH, trim=True)
        if language is None or (language := language.lower()) not in self.language_codes:
            return None
        validated: dict[str, Any] = {"type": event_type, "occurred_at": occurred_at, "language": language}
        if "idempotency_key" in data:
            key = data["idempotency_key"]
            if key is not None:
                key = _plain_string(key, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, trim=False)
                if key is None:
                    return None
            validated["idempotency_key"] = key
        user_name, external_id = data.get("user"), data.get("external_user_id")
        if (user_name is None) == (external_id is None):  # neither, or both
            return None
        if user_name is not None:
            name = _plain_string(user_name, max_length=None, trim=True)
            user = self.users_by_key.get(name.lower()) if name is not None else None
        else:
            name = _plain_string(external_id, max_length=None, trim=False)
            user = self.users_by_external_id.get(name) if name is not None else None
        if user is None:
            return None
        validated["user"] = user
        for name in TYPE_FIELDS[event_type]:
            if name not in data:
                return None
            value = data[name]
            if name == "word":
                value = _plain_string(value, max_length=WORD_MAX_LENGTH, trim=True)
            elif name == "correct":
                value = value if type(value) is bool else None
            elif name in ("lesson_id", "article_id"):
                value = _item_id(value)
            elif name == "kind":
                value = value if type(value) is str and value in _PRACTICE_KINDS else None
            elif name == "duration_seconds":
                value = value if type(value) is int and 1 <= value <= MAX_DURATION_SECONDS else None
            else:
                return None
            if value is None:
                return None
            validated[name] = value
        return validated
