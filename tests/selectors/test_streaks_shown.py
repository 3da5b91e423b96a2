"""The read-side shortcuts of ``selectors.streaks`` give what the streak rules give:
``languages_from_rows`` shows a streak whose last day is today or yesterday as stored and sends
the others through ``streak_runs.daily_streak_on``; ``FriendStreaksNow`` works out each zone's
today once."""

import datetime as dt
import itertools

import pytest
import time_machine

from gamification.selectors.streaks import FriendStreaksNow, languages_from_rows
from gamification.streak_runs import DailyStreak, daily_streak_on
from gamification.timeutils import local_date, local_day_number

NOW = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # the night Europe moves to summer time
ZONES = ("UTC", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns")


@time_machine.travel(NOW, tick=False)
def test_languages_from_rows_shows_what_the_streak_rules_show():
    # Given streaks that ended from two days ahead (a move to a zone behind) to five days ago,
    # with 0 to 2 freezes, in zones either side of the date line, with and without rest days.
    rows, timezones, expected, rest = [], {}, {}, {}
    for user_id, (zone, days_ago, freezes, resting) in enumerate(
        itertools.product(ZONES, range(-2, 6), range(3), (False, True)), start=1
    ):
        today = local_date(NOW, zone)
        last = today - dt.timedelta(days=days_ago)
        timezones[user_id] = zone
        rest[user_id] = {today - dt.timedelta(days=2)} if resting else set()
        rows.append((user_id, "de", "German", 6, last, 9, freezes))
        shown = daily_streak_on(DailyStreak(6, last, 9, None, freezes), today=today, rest=rest[user_id])
        expected[user_id] = shown.daily_streak
    asked = []

    def rest_dates(*, user_ids, since):
        asked.append((set(user_ids), since))
        return {user_id: {day for day in rest[user_id] if day >= since} for user_id in user_ids}

    # When
    shown = languages_from_rows(rows, timezones=timezones, rest_dates=rest_dates)

    # Then: every streak as the rules show it, and rest days asked for those that missed a day.
    assert {user_id: languages[0]["daily_streak"] for user_id, languages in shown.items()} == expected
    assert set(expected.values()) == {0, 6}
    ((ids, _since),) = asked
    assert ids == {row[0] for row in rows if row[4] < local_date(NOW, timezones[row[0]]) - dt.timedelta(days=1)}


def test_languages_from_rows_orders_by_daily_streak_then_code_and_shows_an_empty_run_as_0():
    rows = [
        (1, "fr", "French", 2, dt.date(2026, 3, 28), 2, 0),
        (1, "de", "German", 2, dt.date(2026, 3, 28), 4, 0),
        (1, "es", "Spanish", 5, dt.date(2026, 3, 28), 5, 0),
        (1, "it", "Italian", 0, None, 3, 0),
    ]
    with time_machine.travel(NOW, tick=False):
        shown = languages_from_rows(rows, timezones={1: "UTC"}, rest_dates=lambda **_: pytest.fail("no gap"))
    assert [(language["code"], language["daily_streak"]) for language in shown[1]] == [
        ("es", 5),
        ("de", 2),
        ("fr", 2),
        ("it", 0),
    ]


def _reference(*, length, created_at, low_through, high_through, low_timezone, high_timezone, now):
    """The friend streak from its definition (docs/streaks.md): 0 once either friend's day number
    of now is more than one past the last day they counted."""
    if not length:
        return 0
    for through, zone in ((low_through, low_timezone), (high_through, high_timezone)):
        if through is None or through + 1 < local_day_number(now, since=created_at, tz_name=zone):
            return 0
    return length


def test_friend_streaks_now_matches_the_definition_across_zones():
    now = NOW
    streaks = FriendStreaksNow(now)
    created = [now - dt.timedelta(days=10, hours=hours) for hours in (0, 5, 11, 23)]
    checked = set()
    for created_at, low_zone, high_zone, low_through, high_through in itertools.product(
        created, ZONES, ZONES, (None, 8, 9, 10, 11), (9, 10)
    ):
        columns = {
            "length": 3,
            "created_at": created_at,
            "low_through": low_through,
            "high_through": high_through,
            "low_timezone": low_zone,
            "high_timezone": high_zone,
        }
        value = streaks(**columns)
        assert value == _reference(**columns, now=now)
        checked.add(value)
    assert checked == {0, 3}
