"""``services.db.utc_datetime_adapter``: the bulk statements' fast adapter gives Django's text."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection

from gamification.services.db import utc_datetime_adapter

VALUES = [
    dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2025, 3, 30, 1, 59, 59, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Copenhagen")),
    dt.datetime(2024, 12, 31, 23, 30, tzinfo=zoneinfo.ZoneInfo("Pacific/Kiritimati")),
    dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
    dt.datetime(2025, 6, 1, 12, 0),  # naive: Django's own handling
]


@pytest.mark.django_db
@pytest.mark.parametrize("value", VALUES, ids=str)
def test_the_fast_adapter_gives_djangos_text(value):
    assert utc_datetime_adapter()(value) == connection.ops.adapt_datetimefield_value(value)


@pytest.mark.django_db
def test_the_adapter_is_the_fast_one_on_a_utc_connection():
    assert utc_datetime_adapter() != connection.ops.adapt_datetimefield_value
