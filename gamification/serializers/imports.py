"""Input of the historical import (``import_users``, ``import_events``): one line each.

The rules are the API's (``serializers.platform``, ``serializers.events``) with the differences a
backfill needs: every event names its learner (``external_user_id`` or ``user``), ``occurred_at``
is required and may be of any age (not in the future).
"""

from typing import Any

from rest_framework import serializers

from gamification.constants import EXTERNAL_ID_MAX_LENGTH
from gamification.models import User
from gamification.serializers.events import MAX_CLOCK_SKEW, EventInputSerializer, PlainEventCheck, plain_string
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


# The fast path of the import (``serializers.events.PlainEventCheck``) ------------------------------
class _FastPath(PlainEventCheck):
    """``EventImportSerializer``: ``occurred_at`` required, of any age (not in the future); the
    learner named by exactly one of ``user`` and ``external_user_id``, among the chunk's users."""

    def time(self, data: dict) -> Any:
        return self.parse_time(data.get("occurred_at"))

    def learner(self, data: dict, validated: dict[str, Any]) -> bool:
        user_name, external_id = data.get("user"), data.get("external_user_id")
        if (user_name is None) == (external_id is None):  # neither, or both
            return False
        if user_name is not None:
            name = plain_string(user_name, max_length=None, trim=True)
            user = self.users_by_key.get(name.lower()) if name is not None else None
        else:
            name = plain_string(external_id, max_length=None, trim=False)
            user = self.users_by_external_id.get(name) if name is not None else None
        if user is None:
            return False
        validated["user"] = user
        return True
