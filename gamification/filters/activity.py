"""``GET /api/me/activity/?type=&language=&since=&until=``: the caller's activity log."""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from gamification.models import ActivityEvent, EventType, Language


class OffsetDateTimeField(forms.DateTimeField):
    """An ISO 8601 instant that must carry its UTC offset (``Z`` or ``+02:00``)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise ValidationError(
                "Enter an ISO 8601 date and time with its offset, e.g. 2025-05-01T00:00:00+02:00."
            ) from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError("Give the offset (e.g. Z or +02:00): a time without one is ambiguous.")
        return parsed


class OffsetDateTimeFilter(django_filters.Filter):
    field_class = OffsetDateTimeField


class ActivityFilter(django_filters.FilterSet):
    """Filters of my activity log; an unknown type or language, or a time without its offset, is
    a 400 naming the parameter. ``since`` is inclusive, ``until`` exclusive."""

    type = django_filters.ChoiceFilter(choices=EventType.choices, help_text="One event type.")
    language = django_filters.ModelChoiceFilter(
        queryset=Language.objects.all(), help_text="ISO 639-1 code of a language the service knows."
    )
    since = OffsetDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="From this instant on (ISO 8601 with offset)."
    )
    until = OffsetDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Before this instant (ISO 8601 with offset)."
    )

    class Meta:
        model = ActivityEvent
        fields: list[str] = []
