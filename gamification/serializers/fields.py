"""Input fields stricter than DRF's defaults, shared by every input serializer.

DRF's ``IntegerField`` takes ``"٣"`` (any Unicode digit, through ``int()``), ``"-1.0"`` and
``12.0``; its ``BooleanField`` takes ``"yes"``, ``"on"`` and ``1``; its ``CharField`` turns numbers
into strings. Input here is ASCII digits and JSON booleans only.
"""

import re
from typing import Any

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
_DATE = serializers.DateField()


def datetime_out(value: Any) -> str | None:
    """A datetime as ``serializers.DateTimeField`` gives it (the current timezone, ``Z`` for UTC)."""
    return None if value is None else _DATETIME.to_representation(value)


def date_out(value: Any) -> str | None:
    """A date as ``serializers.DateField`` gives it."""
    return None if value is None else _DATE.to_representation(value)
