import datetime as dt

import pytest

from gamification.timeutils import month_first_shifted, period_bounds, week_monday

UTC = dt.UTC
WEDNESDAY_NOON = dt.datetime(2024, 6, 12, 12, 0, tzinfo=UTC)


def test_current_week_runs_from_monday_to_next_monday():
    start, end = period_bounds("week", 0, "UTC", WEDNESDAY_NOON)

    assert start.isoformat() == "2024-06-10T00:00:00+00:00"
    assert end.isoformat() == "2024-06-17T00:00:00+00:00"


def test_previous_week_ends_where_the_current_one_starts():
    start, end = period_bounds("week", -1, "UTC", WEDNESDAY_NOON)

    assert start.isoformat() == "2024-06-03T00:00:00+00:00"
    assert end.isoformat() == "2024-06-10T00:00:00+00:00"


def test_week_starts_at_local_monday_midnight_in_brisbane():
    # Sunday 15:00 UTC is already Monday 01:00 in Brisbane (UTC+10, no DST).
    now = dt.datetime(2024, 6, 9, 15, 0, tzinfo=UTC)

    start, end = period_bounds("week", 0, "Australia/Brisbane", now)

    assert start.isoformat() == "2024-06-10T00:00:00+10:00"
    assert end.isoformat() == "2024-06-17T00:00:00+10:00"
    assert start.astimezone(UTC) == dt.datetime(2024, 6, 9, 14, 0, tzinfo=UTC)


def test_week_across_dst_start_is_an_hour_short():
    start, end = period_bounds("week", 0, "Europe/Berlin", dt.datetime(2024, 3, 27, tzinfo=UTC))

    assert start.isoformat() == "2024-03-25T00:00:00+01:00"
    assert end.isoformat() == "2024-04-01T00:00:00+02:00"
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(days=7, hours=-1)


def test_month_and_previous_month():
    assert [value.isoformat() for value in period_bounds("month", 0, "UTC", WEDNESDAY_NOON)] == [
        "2024-06-01T00:00:00+00:00",
        "2024-07-01T00:00:00+00:00",
    ]
    assert [value.isoformat() for value in period_bounds("month", -1, "UTC", WEDNESDAY_NOON)] == [
        "2024-05-01T00:00:00+00:00",
        "2024-06-01T00:00:00+00:00",
    ]


def test_previous_month_of_january_is_december_of_the_year_before():
    start, end = period_bounds("month", -1, "America/New_York", dt.datetime(2024, 1, 15, tzinfo=UTC))

    assert start.isoformat() == "2023-12-01T00:00:00-05:00"
    assert end.isoformat() == "2024-01-01T00:00:00-05:00"


def test_all_has_no_bounds():
    assert period_bounds("all", 0, "UTC", WEDNESDAY_NOON) == (None, None)


def test_furthest_offset_is_computable():
    start, _ = period_bounds("month", -520, "UTC", WEDNESDAY_NOON)
    week_start, _ = period_bounds("week", -520, "UTC", WEDNESDAY_NOON)

    assert start.date() == dt.date(1981, 2, 1)
    assert week_start.date() == dt.date(2014, 6, 23)


def test_unknown_period_is_refused():
    with pytest.raises(ValueError):
        period_bounds("year", 0, "UTC", WEDNESDAY_NOON)


@pytest.mark.parametrize(
    ("day", "monday"),
    [(dt.date(2024, 6, 10), dt.date(2024, 6, 10)), (dt.date(2024, 6, 16), dt.date(2024, 6, 10))],
)
def test_week_monday(day, monday):
    assert week_monday(day) == monday


def test_month_shift_over_years():
    assert month_first_shifted(dt.date(2024, 3, 31), -3) == dt.date(2023, 12, 1)
    assert month_first_shifted(dt.date(2024, 12, 5), 1) == dt.date(2025, 1, 1)
