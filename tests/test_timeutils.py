import datetime as dt

import pytest
import time_machine

from gamification.timeutils import (
    MAX_LOCAL_DATE_SPREAD,
    days_between,
    latest_local_date,
    local_date,
    local_today,
    local_yesterday,
)


def test_yesterday_is_the_local_calendars():
    # 23:30 UTC on 1 May is already 2 May in Copenhagen (UTC+2 in summer).
    with time_machine.travel(dt.datetime(2025, 5, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        assert local_yesterday("UTC") == dt.date(2025, 4, 30)
        assert local_yesterday("Europe/Copenhagen") == dt.date(2025, 5, 1)


def test_kiritimati_and_pago_pago_are_two_dates_apart_for_an_hour_each_day():
    # 10:30 UTC: 00:30 the next day at UTC+14, 23:30 the day before at UTC-11.
    instant = dt.datetime(2025, 5, 2, 10, 30, tzinfo=dt.UTC)

    kiri, pago = local_date(instant, "Pacific/Kiritimati"), local_date(instant, "Pacific/Pago_Pago")

    assert days_between(pago, kiri) == 2 == MAX_LOCAL_DATE_SPREAD
    assert latest_local_date(instant, ["Pacific/Pago_Pago", "Pacific/Kiritimati"]) == kiri


@pytest.mark.parametrize("hour", range(24))
def test_no_two_zones_are_more_than_the_spread_apart(hour):
    instant = dt.datetime(2025, 5, 2, hour, 30, tzinfo=dt.UTC)

    earliest = local_date(instant, "Etc/GMT+12")  # UTC-12
    latest = local_date(instant, "Pacific/Kiritimati")  # UTC+14

    assert 0 <= days_between(earliest, latest) <= MAX_LOCAL_DATE_SPREAD


def test_a_23_hour_and_a_25_hour_day_are_one_day_each():
    assert days_between(dt.date(2025, 3, 29), dt.date(2025, 3, 31)) == 2  # spring forward
    assert days_between(dt.date(2025, 10, 25), dt.date(2025, 10, 27)) == 2  # fall back


def test_the_second_0230_of_a_fall_back_night_is_the_same_local_day():
    first = dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    second = dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.UTC)  # 02:30 CET

    assert local_date(first, "Europe/Copenhagen") == local_date(second, "Europe/Copenhagen") == dt.date(2025, 10, 26)


def test_an_unknown_zone_counts_as_utc():
    with time_machine.travel(dt.datetime(2025, 5, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        assert local_today("Mars/Olympus_Mons") == dt.date(2025, 5, 1)
