import datetime as dt

import pytest
import time_machine

from gamification.timeutils import (
    MAX_DAY_NUMBER_LAG,
    MAX_LOCAL_DATE_SPREAD,
    days_between,
    local_date,
    local_day_number,
    local_today,
    local_yesterday,
)

# UTC-12 .. UTC+14 (the Etc names have the sign reversed).
WHOLE_HOUR_ZONES = [f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT" for offset in range(-12, 15)]


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


@pytest.mark.parametrize("hour", range(24))
def test_no_two_zones_are_more_than_the_spread_apart(hour):
    instant = dt.datetime(2025, 5, 2, hour, 30, tzinfo=dt.UTC)

    earliest = local_date(instant, "Etc/GMT+12")  # UTC-12
    latest = local_date(instant, "Pacific/Kiritimati")  # UTC+14

    assert 0 <= days_between(earliest, latest) <= MAX_LOCAL_DATE_SPREAD


def test_day_numbers_count_local_dates_from_the_start():
    # 21:44 UTC on 1 December is 13:44 on 1 December in Los Angeles and 06:44 on 2 December in
    # Tokyo: day 0 is a different date for each, and the next midnight of each begins day 1.
    since = dt.datetime(2025, 12, 1, 21, 44, tzinfo=dt.UTC)

    assert local_day_number(since, since=since, tz_name="America/Los_Angeles") == 0
    assert local_day_number(since, since=since, tz_name="Asia/Tokyo") == 0
    la_midnight = dt.datetime(2025, 12, 2, 8, 0, tzinfo=dt.UTC)
    tokyo_midnight = dt.datetime(2025, 12, 2, 15, 0, tzinfo=dt.UTC)
    assert local_day_number(la_midnight - dt.timedelta(seconds=1), since=since, tz_name="America/Los_Angeles") == 0
    assert local_day_number(la_midnight, since=since, tz_name="America/Los_Angeles") == 1
    assert local_day_number(tokyo_midnight, since=since, tz_name="Asia/Tokyo") == 1
    assert local_day_number(since - dt.timedelta(days=1), since=since, tz_name="Asia/Tokyo") == -1


@pytest.mark.parametrize("since_hour", [0, 5, 11, 17, 21, 23])
def test_two_whole_hour_zones_day_numbers_differ_by_at_most_one(since_hour):
    since = dt.datetime(2025, 5, 1, since_hour, 30, tzinfo=dt.UTC)
    instants = [since + dt.timedelta(hours=h) for h in range(0, 24 * 4, 1)]

    lags = {
        local_day_number(instant, since=since, tz_name=a) - local_day_number(instant, since=since, tz_name=b)
        for instant in instants
        for a in WHOLE_HOUR_ZONES
        for b in WHOLE_HOUR_ZONES
    }

    assert lags == {-1, 0, 1}


def test_across_dst_changes_day_numbers_differ_by_at_most_the_lag():
    # Friends since January in New York and Sydney: by July both changed their clocks the other
    # way (the difference between them moved by 2 hours), and Kiritimati never changes.
    since = dt.datetime(2025, 1, 10, 13, 30, tzinfo=dt.UTC)
    zones = ["America/New_York", "Australia/Sydney", "Pacific/Kiritimati", "Etc/GMT+12", "Australia/Lord_Howe"]
    instants = [since + dt.timedelta(minutes=30 * step) for step in range(0, 2 * 24 * 200)]

    worst = max(
        abs(local_day_number(instant, since=since, tz_name=a) - local_day_number(instant, since=since, tz_name=b))
        for instant in instants
        for a in zones
        for b in zones
    )

    assert 1 <= worst <= MAX_DAY_NUMBER_LAG


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
