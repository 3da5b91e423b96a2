"""gamification.renderers.FastJSONRenderer writes the bytes DRF's JSONRenderer writes."""

import datetime as dt
import decimal
import uuid
import zoneinfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from gamification.models import AwardMechanism
from gamification.renderers import FastJSONRenderer

PAYLOADS = [
    {"hello": "world"},
    [],
    {},
    "just a string",
    12,
    True,
    [{"username": "ødegård_bjørn", "name": "日本語 テキスト 🦊", "avatar": {"image": "fox"}}],
    {"line": "a\u2028b\u2029c", "quote": 'say "hi"\\ \n\t\x01'},
    {"when": dt.datetime(2026, 12, 2, 4, 5, 6, 789123, tzinfo=dt.UTC)},
    {"when": dt.datetime(2026, 12, 2, 13, 5, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))},
    {"naive": dt.datetime(2026, 12, 2, 4, 5, 6), "day": dt.date(2026, 12, 2), "at": dt.time(4, 5, 6, 123456)},
    {"amount": decimal.Decimal("12.50"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("Not found."), "error": [ErrorDetail("This field is required.", code="required")]},
    {"mechanism": AwardMechanism.COUNTER, "tuple": (1, 2, 3), "none": None, "big": 2**63 - 1, "negative": -(2**63)},
    {"huge": 2**70},
    {1: "integer key"},
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_same_bytes_as_drf(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize("accepted", ["application/json; indent=4", "application/json; indent=2"])
def test_indented_answers_are_drf_s(accepted):
    data = {"rows": [{"a": 1}], "name": "x"}
    assert FastJSONRenderer().render(data, accepted) == JSONRenderer().render(data, accepted)
    assert b"\n" in FastJSONRenderer().render(data, accepted)


def test_none_is_an_empty_body():
    assert FastJSONRenderer().render(None) == b""


def test_unserialisable_values_fail_as_with_drf():
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        FastJSONRenderer().render({"x": object()})
