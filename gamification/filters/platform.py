"""django-filter FilterSet of the platform's reconciliation list (`GET /api/platform/users/`)."""

import re
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from gamification.constants import EXTERNAL_ID_MAX_LENGTH
from gamification.models import User
from gamification.validators import external_id_validate

MAX_EXTERNAL_IDS = 100
# "+01:00" in a query string that was not percent-encoded arrives as " 01:00".
_UNENCODED_PLUS = re.compile(r"(T[0-9:.]+) ([0-9]{2}(:?[0-9]{2})?)$")


class ExternalIdsField(forms.Field):
    """Repeated ``?external_id=`` values: 1 to 100 valid external ids (exact, not split on
    commas, which an external id may hold)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else list(value or [])
        if len(values) > MAX_EXTERNAL_IDS:
            raise ValidationError(f"Ask for at most {MAX_EXTERNAL_IDS} external ids at a time.", code="max_length")
        for item in values:
            try:
                external_id_validate(item)
            except ValidationError as error:
                raise ValidationError(
                    f"{item[:EXTERNAL_ID_MAX_LENGTH]!r}: {error.messages[0]}", code="invalid"
                ) from None
        return list(dict.fromkeys(values))


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": EXTERNAL_ID_MAX_LENGTH})
class ExternalIdsFilter(django_filters.MultipleChoiceFilter):
    """``external_id IN (...)``; repeated in the query string (``?external_id=a&external_id=b``)."""

    field_class = ExternalIdsField

    def filter(self, qs, value: list[str]):
        return qs.filter(external_id__in=value) if value else qs


class OffsetDateTimeField(IsoDateTimeField):
    """ISO 8601 with a UTC offset (``Z`` or ``+01:00``); a naive time is refused."""

    def to_python(self, value: Any):
        if isinstance(value, str):
            value = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                raise ValidationError("Include a UTC offset, e.g. 2025-01-31T14:05:00Z.", code="naive")
        return super().to_python(value)


class OffsetDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = OffsetDateTimeField


class PlatformUserFilter(django_filters.FilterSet):
    """``GET /api/platform/users/``: by the platform's ids, or the profiles changed since a time."""

    external_id = ExternalIdsFilter(help_text=f"Repeat for several (at most {MAX_EXTERNAL_IDS}); compared exactly.")
    updated_since = OffsetDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Profiles changed at or after this time (ISO 8601 with an offset).",
    )

    class Meta:
        model = User
        fields: list[str] = []
