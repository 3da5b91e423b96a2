"""Input fields stricter than DRF's defaults, shared by every input serializer.

DRF's ``IntegerField`` takes ``"٣"`` (any Unicode digit, through ``int()``), ``"-1.0"`` and
``12.0``; its ``BooleanField`` takes ``"yes"``, ``"on"`` and ``1``; its ``CharField`` turns numbers
into strings. Input here is ASCII digits and JSON booleans only.
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone as django_timezone
from rest_framework import serializers

ASCII_INTEGER = re.compile(r"-?[0-9]+\Z")


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true`` or ``false``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """Only a JSON integer: booleans, floats and strings are refused."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """An integer in a query string: ASCII digits with an optional leading minus, nothing else."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and ASCII_INTEGER.match(data.strip()))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Only a JSON string (DRF's CharField turns numbers into strings)."""

    default_error_messages = {"not_a_string": "Enter a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


# Hand-built output --------------------------------------------------------------------------------
# The hot read paths (badge lists, friends, leaderboards, search) build their answers as plain
# dicts instead of running DRF's per-field machinery: the serializer classes stay the schema's
# source (drf-spectacular reads them) and tests compare both outputs. Values that DRF formats
# (datetimes, dates) go through DRF's own fields, so the text is the same.

_DATETIME = serializers.DateTimeField()
_ZERO = dt.timedelta(0)
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})
_DATE = serializers.DateField()


def datetime_out(value: Any) -> str | None:
    """A datetime as ``serializers.DateTimeField`` gives it (the current timezone, ``Z`` for UTC)."""
    return None if value is None else _DATETIME.to_representation(value)


def _utc_datetime_out(value: Any) -> str | None:
    if type(value) is dt.datetime and value.tzinfo is not None and value.utcoffset() == _ZERO:
        return value.replace(tzinfo=None).isoformat() + "Z"  # what DRF writes for it in UTC
    return datetime_out(value)


def datetime_writer() -> Callable[[Any], str | None]:
    """``datetime_out`` for a whole list, the current timezone looked at once: while it is UTC
    (the service never activates another), an aware time at offset 0 (what the database gives)
    is written directly, in a third of DRF's time (a tenth of a hundred-friend list's CPU)."""
    if django_timezone.get_current_timezone_name() in _UTC_NAMES:
        return _utc_datetime_out
    return datetime_out


def date_out(value: Any) -> str | None:
    """A date as ``serializers.DateField`` gives it."""
    return None if value is None else _DATE.to_representation(value)
