"""Input of ``POST /api/events/`` (SPEC §3): one event, or ``{"events": [...]}`` (1..500).

Validation is strict where a lenient parser would store nonsense: ``correct`` must be a JSON
boolean, ``duration_seconds`` a JSON integer (not ``true``, not ``12.0``), ``occurred_at`` must
carry a UTC offset. Unknown fields are ignored, and so are fields of other event types.

The serializers need a context built by ``event_input_context`` (known languages, the users a
service account names, whether the reporter may report for others), so that a 500-event batch
costs the same few queries as one event.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from gamification.models import EventType, PracticeKind, User
from gamification.selectors.languages import known_languages
from gamification.serializers.fields import StrictBooleanField, StrictCharField, StrictIntegerField

PERMISSION_REPORT_FOR_OTHERS = "gamification.report_events_for_others"
MAX_EVENTS_PER_BATCH = 500
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_EVENT_AGE = dt.timedelta(days=30)
MAX_DURATION_SECONDS = 86_400
WORD_MAX_LENGTH = 100
ITEM_ID_MAX_LENGTH = 100
IDEMPOTENCY_KEY_MAX_LENGTH = 100
LANGUAGE_CODE_MAX_LENGTH = 8

# The fields each type requires beyond the common ones; other fields are ignored.
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    EventType.WORD_TRANSLATED: ("word",),
    EventType.EXERCISE_ANSWERED: ("correct",),
    EventType.AUDIO_LESSON_COMPLETED: ("lesson_id",),
    EventType.WORD_LEARNED: ("word",),
    EventType.ARTICLE_READ: ("article_id",),
    EventType.PRACTICE: ("kind", "duration_seconds"),
}
COMMON_FIELDS: tuple[str, ...] = ("type", "occurred_at", "language", "idempotency_key", "user", "external_user_id")
REPORT_FOR_OTHERS_DENIED = "You may report events only for yourself."


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset (``Z`` or ``+02:00``); a naive time is ambiguous and refused."""

    default_error_messages = {"naive": "Include a UTC offset, e.g. 2025-01-31T14:05:00+01:00 or ...Z."}

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        elif isinstance(value, dt.datetime) and timezone.is_naive(value):
            self.fail("naive")
        return super().to_internal_value(value)


@extend_schema_field(
    {"oneOf": [{"type": "string", "minLength": 1, "maxLength": ITEM_ID_MAX_LENGTH}, {"type": "integer"}]}
)
class ItemIdField(serializers.CharField):
    """A lesson or article id: a string, or an integer taken as its decimal string."""

    default_error_messages = {"not_an_id": "Enter the id as a string or an integer."}

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("not_an_id")
        return super().to_internal_value(str(data))


class EventListSerializer(serializers.ListSerializer):
    """Errors in DRF's list shape, ``[{}, {"duration_seconds": ["..."]}]``, one entry per event, as
    SPEC §3 fixes it (DRF 3.18 defaults to a dict keyed by index)."""

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            detail = error.detail
            if isinstance(detail, dict) and detail and all(isinstance(index, int) for index in detail):
                raise serializers.ValidationError([detail.get(index, {}) for index in range(len(data))]) from None
            raise


class EventInputSerializer(serializers.Serializer):
    """One event. Only the fields of its ``type`` are read (see ``TYPE_FIELDS``)."""

    # Choice errors list the allowed values instead of echoing the input: an echoed lone surrogate
    # ("\ud800") could not be encoded in the JSON response.
    type = serializers.ChoiceField(
        choices=EventType.choices, error_messages={"invalid_choice": f"Use one of: {', '.join(EventType.values)}."}
    )
    occurred_at = OffsetDateTimeField(
        required=False, help_text="ISO 8601 with a UTC offset; default now; at most 30 days old."
    )
    language = StrictCharField(
        max_length=LANGUAGE_CODE_MAX_LENGTH, help_text="ISO 639-1 code of a language the service knows."
    )
    idempotency_key = StrictCharField(
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        required=False,
        allow_null=True,
        trim_whitespace=False,
        help_text="Optional; an event repeating a key the user already sent is a duplicate and changes nothing.",
    )
    user = StrictCharField(
        required=False,
        allow_null=True,
        help_text="Username of the learner the event happened to; only for accounts allowed to report for others.",
    )
    external_user_id = StrictCharField(
        required=False,
        allow_null=True,
        trim_whitespace=False,
        help_text=(
            "The platform's id of the learner, instead of user (which can change; this cannot); only for "
            "accounts allowed to report for others."
        ),
    )
    word = StrictCharField(max_length=WORD_MAX_LENGTH, required=False, help_text="word_translated, word_learned")
    correct = StrictBooleanField(required=False, help_text="exercise_answered")
    lesson_id = ItemIdField(max_length=ITEM_ID_MAX_LENGTH, required=False, help_text="audio_lesson_completed")
    article_id = ItemIdField(max_length=ITEM_ID_MAX_LENGTH, required=False, help_text="article_read")
    kind = serializers.ChoiceField(
        choices=PracticeKind.choices,
        required=False,
        help_text="practice",
        error_messages={"invalid_choice": f"Use one of: {', '.join(PracticeKind.values)}."},
    )
    duration_seconds = StrictIntegerField(
        min_value=1, max_value=MAX_DURATION_SECONDS, required=False, help_text="practice"
    )

    class Meta:
        list_serializer_class = EventListSerializer

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send each event as a JSON object."]}, code="invalid"
            )
        event_type = data.get("type")
        own_fields = TYPE_FIELDS.get(event_type, ()) if isinstance(event_type, str) else ()
        # Only the event's own fields are validated (a stray ``word`` on a practice event is
        # ignored, not refused), so this walks the relevant fields instead of all of them.
        errors: dict[str, Any] = {}
        validated: dict[str, Any] = {}
        for name in (*COMMON_FIELDS, *own_fields):
            field = self.fields[name]
            try:
                value = field.run_validation(field.get_value(data))
                method = getattr(self, f"validate_{name}", None)
                if method is not None:
                    value = method(value)
            except serializers.SkipField:
                if name in own_fields:
                    errors[name] = [field.error_messages["required"]]
            except serializers.ValidationError as error:
                errors[name] = error.detail
            else:
                validated[name] = value
        external_user = validated.pop("external_user_id", None)
        if external_user is not None:
            if validated.get("user") is not None:
                errors["external_user_id"] = ["Name the learner by user or by external_user_id, not both."]
            validated["user"] = external_user
        if errors:
            raise serializers.ValidationError(errors)
        validated.setdefault("occurred_at", self._now())
        return validated

    def _now(self) -> dt.datetime:
        return self.context.get("now") or timezone.now()

    def validate_occurred_at(self, value: dt.datetime) -> dt.datetime:
        now = self._now()
        if value > now + MAX_CLOCK_SKEW:
            raise serializers.ValidationError("This time is in the future.", code="future")
        if value < now - MAX_EVENT_AGE:
            raise serializers.ValidationError("Events older than 30 days are not accepted.", code="too_old")
        return value

    def validate_language(self, value: str) -> str:
        code = value.strip().lower()
        if code not in self.context["language_codes"]:
            raise serializers.ValidationError(f'Unknown language "{value}".', code="unknown_language")
        return code

    def validate_word(self, value: str) -> str:
        return value.strip()

    def validate_user(self, value: str | None) -> User | None:
        """The named learner. A reporter naming anyone but themself needs the permission to
        report for others: without it the whole request is refused with 403."""
        if value is None:
            return None
        reporter: User = self.context["reporter"]
        key = value.strip().lower()
        if key == reporter.username.lower():
            return reporter
        if not self.context["may_report_for_others"]:
            raise PermissionDenied(REPORT_FOR_OTHERS_DENIED)
        user = self.context["users_by_key"].get(key)
        if user is None:
            raise serializers.ValidationError(f'Unknown user "{value}".', code="unknown_user")
        return user

    def validate_external_user_id(self, value: str | None) -> User | None:
        """The learner named by the platform's id (exact). Only accounts that may report for
        others may name one, their own included: anyone else gets 403 for the whole request."""
        if value is None:
            return None
        if not self.context["may_report_for_others"]:
            raise PermissionDenied(REPORT_FOR_OTHERS_DENIED)
        user = self.context["users_by_external_id"].get(value)
        if user is None:
            raise serializers.ValidationError(f'Unknown external user id "{value[:64]}".', code="unknown_user")
        return user


# Plain checks -----------------------------------------------------------------------------------
# DRF's field machinery costs ~85 us an event, more than storing it. ``PlainEventCheck`` accepts
# the events that are plainly valid with plain checks of the same rules and returns what the
# serializer's ``to_internal_value`` returns for them; for anything it is not sure of (every
# invalid event among them) it returns None and the caller runs the serializer, so the errors,
# and their wording, have one source. The live API (``LiveEventCheck``, used by
# ``events_input_validate``) and the import (``serializers.imports``) differ only in how the time
# and the learner are read; tests/commands/test_import_fast.py and
# tests/api/test_events_fast.py hold each of them to its serializer.
_PRACTICE_KINDS = frozenset(PracticeKind.values)


def plain_string(value: Any, *, max_length: int | None, trim: bool) -> str | None:
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
    return plain_string(value, max_length=ITEM_ID_MAX_LENGTH, trim=True)


class PlainEventCheck:
    """The shared part: type, language, idempotency key and the type's own fields. Subclasses
    read ``occurred_at`` and the learner (``time`` and ``learner``), each returning None when
    unsure; ``time`` returns ``MISSING`` to leave the key out."""

    MISSING = object()

    def __init__(self, serializer: EventInputSerializer) -> None:
        # The declared field, not ``serializer.fields`` (which deep-copies every field of the
        # serializer: a third of a queued batch's validation); binding does not change its zone.
        field = type(serializer)._declared_fields.get("occurred_at")
        if field is None:
            field = serializer.fields["occurred_at"]
        # What the field's ``enforce_timezone`` converts an aware time to.
        self.zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
        self.now = serializer._now()
        self.latest = self.now + MAX_CLOCK_SKEW
        self.language_codes = serializer.context["language_codes"]
        self.users_by_key = serializer.context["users_by_key"]
        self.users_by_external_id = serializer.context["users_by_external_id"]

    def parse_time(self, value: Any) -> dt.datetime | None:
        """An aware ISO 8601 string in the field's zone, not in the future; else None."""
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

    def time(self, data: dict) -> Any:
        raise NotImplementedError

    def learner(self, data: dict, validated: dict[str, Any]) -> bool:
        """Put the learner into ``validated`` as the serializer would; False when unsure."""
        raise NotImplementedError

    def __call__(self, data: Any) -> dict[str, Any] | None:
        if type(data) is not dict:
            return None
        event_type = data.get("type")
        if type(event_type) is not str or event_type not in TYPE_FIELDS:
            return None
        occurred_at = self.time(data)
        if occurred_at is None:
            return None
        language = plain_string(data.get("language"), max_length=LANGUAGE_CODE_MAX_LENGTH, trim=True)
        if language is None or (language := language.lower()) not in self.language_codes:
            return None
        validated: dict[str, Any] = {"type": event_type}
        if occurred_at is not self.MISSING:
            validated["occurred_at"] = occurred_at
        validated["language"] = language
        if "idempotency_key" in data:
            key = data["idempotency_key"]
            if key is not None:
                key = plain_string(key, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, trim=False)
                if key is None:
                    return None
            validated["idempotency_key"] = key
        if not self.learner(data, validated):
            return None
        for name in TYPE_FIELDS[event_type]:
            if name not in data:
                return None
            value = data[name]
            if name == "word":
                value = plain_string(value, max_length=WORD_MAX_LENGTH, trim=True)
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
        if occurred_at is self.MISSING:
            validated["occurred_at"] = self.now
        return validated


class LiveEventCheck(PlainEventCheck):
    """``EventInputSerializer`` (the live API): ``occurred_at`` optional (default now) and at
    most 30 days old; the learner is the reporter unless ``user`` or ``external_user_id`` names
    someone, which needs the permission to report for others (without it: the serializer, 403)."""

    def __init__(self, serializer: EventInputSerializer) -> None:
        super().__init__(serializer)
        self.earliest = self.now - MAX_EVENT_AGE
        self.reporter = serializer.context["reporter"]
        self.may_report_for_others = serializer.context["may_report_for_others"]

    def time(self, data: dict) -> Any:
        if "occurred_at" not in data:
            return self.MISSING
        parsed = self.parse_time(data["occurred_at"])
        return parsed if parsed is not None and parsed >= self.earliest else None

    def learner(self, data: dict, validated: dict[str, Any]) -> bool:
        external_id = data.get("external_user_id")
        if "user" in data:
            name = data["user"]
            if name is None:
                validated["user"] = None
            else:
                if external_id is not None:
                    return False
                name = plain_string(name, max_length=None, trim=True)
                if name is None:
                    return False
                key = name.lower()
                if key == self.reporter.username.lower():
                    validated["user"] = self.reporter
                else:
                    user = self.users_by_key.get(key) if self.may_report_for_others else None
                    if user is None:
                        return False
                    validated["user"] = user
                return True
        if external_id is not None:
            name = plain_string(external_id, max_length=None, trim=False)
            user = self.users_by_external_id.get(name) if name is not None and self.may_report_for_others else None
            if user is None:
                return False
            validated["user"] = user
        return True


class EventBatchInputSerializer(serializers.Serializer):
    events = EventInputSerializer(
        many=True, allow_empty=False, min_length=1, max_length=MAX_EVENTS_PER_BATCH, help_text="1 to 500 events."
    )


def _named(data: Any, field: str) -> set[str]:
    """The strings the raw events give in ``field``."""
    raw_events = data.get("events") if "events" in data else [data]
    if not isinstance(raw_events, list):
        return set()
    return {
        event[field]
        for event in raw_events[: MAX_EVENTS_PER_BATCH + 1]
        if isinstance(event, Mapping) and isinstance(event.get(field), str)
    }


def _named_usernames(data: Any) -> set[str]:
    """Lower-cased usernames the raw events name in ``user``."""
    return {name.strip().lower() for name in _named(data, "user")}


def event_input_context(*, reporter: User, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the event serializers look up, fetched once per request: the known language codes,
    and (only when events name someone else) the reporter's permission and the named users, by
    username and by external id (one query each)."""
    others = _named_usernames(data) - {reporter.username.lower()}
    external_ids = _named(data, "external_user_id")
    may_report_for_others = bool(others or external_ids) and reporter.has_perm(PERMISSION_REPORT_FOR_OTHERS)
    users_by_key: dict[str, User] = {}
    users_by_external_id: dict[str, User] = {}
    if others and may_report_for_others:
        users_by_key = {user.username_key: user for user in User.objects.filter(username_key__in=others)}
    if external_ids and may_report_for_others:
        users_by_external_id = {user.external_id: user for user in User.objects.filter(external_id__in=external_ids)}
    return {
        "reporter": reporter,
        "now": timezone.now(),
        "language_codes": known_languages(),
        "may_report_for_others": may_report_for_others,
        "users_by_key": users_by_key,
        "users_by_external_id": users_by_external_id,
    }


def events_input_validate(*, reporter: User, data: Any) -> tuple[list[dict[str, Any]], bool]:
    """Validate a request body; return the events and whether they came as a batch.

    Raises DRF's ValidationError (400, in the single-event or the ``{"events": [...]}`` shape)
    or PermissionDenied (403) when a reporter without the permission names another user.
    """
    if not isinstance(data, Mapping):
        raise serializers.ValidationError({"detail": 'Send a JSON object: one event, or {"events": [...]}.'})
    context = event_input_context(reporter=reporter, data=data)
    if "events" in data:
        raw_events = data["events"]
        if type(raw_events) is list and 0 < len(raw_events) <= MAX_EVENTS_PER_BATCH:
            check = LiveEventCheck(EventInputSerializer(context=context))
            events = [check(event) for event in raw_events]
            if None not in events:
                return events, True
        serializer = EventBatchInputSerializer(data=data, context=context)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["events"], True
    serializer = EventInputSerializer(data=data, context=context)
    event = LiveEventCheck(serializer)(data)
    if event is not None:
        return [event], False
    serializer.is_valid(raise_exception=True)
    return [serializer.validated_data], False


class NewBadgeSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.IntegerField()
    name = serializers.CharField()
    icon_url = serializers.CharField(allow_null=True)
    username = serializers.CharField(required=False, help_text="Only when the request named users.")


class EventsResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored.")
    duplicates = serializers.IntegerField(help_text="Events whose idempotency key was seen before.")
    new_badges = NewBadgeSerializer(many=True)


class EventsQueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Events queued; a worker records them within seconds.")
