"""``serializers.fields.datetime_writer``: DRF's text for every value, in any current timezone."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from gamification.serializers.fields import _utc_datetime_out, datetime_out, datetime_writer

VALUES = [
    None,
    dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2025, 1, 1, 8, 0, tzinfo=zoneinfo.ZoneInfo("UTC")),
    dt.datetime(2025, 3, 30, 1, 59, 59, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Copenhagen")),
    dt.datetime(2024, 12, 31, 23, 30, tzinfo=zoneinfo.ZoneInfo("Pacific/Kiritimati")),
    dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
    dt.datetime(2025, 6, 1, 12, 0),  # naive: DRF's own handling
    dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),
]


def drf(value):
    return None if value is None else serializers.DateTimeField().to_representation(value)


@pytest.mark.parametrize("zone", [None, "Europe/Copenhagen", "UTC"])
def test_the_writer_gives_drfs_text(zone):
    if zone is not None:
        timezone.activate(zoneinfo.ZoneInfo(zone))
    try:
        write = datetime_writer()
        for value in VALUES:
            assert write(value) == drf(value) == datetime_out(value), value
    finally:
        timezone.deactivate()


def test_the_direct_path_is_taken_only_in_utc():
    assert datetime_writer() is _utc_datetime_out
    timezone.activate(zoneinfo.ZoneInfo("Europe/Copenhagen"))
    try:
        assert datetime_writer() is datetime_out
    finally:
        timezone.deactivate()
