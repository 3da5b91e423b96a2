"""Streak freezes and rest days in the daily streak (issue 13, part 3): the pure walk, live
recording through ``practice_record``, the read rule across midnight, DST and a timezone change,
and live ingestion in random order against ``streaks_rebuild`` on generated histories."""

import datetime as dt
import random

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamification.models import LanguageStreak, PracticeDay, RestDay, UserMetric
from gamification.selectors.streaks import streaks_of_user
from gamification.services.rest_days import rest_day_book, rest_day_cancel
from gamification.services.streaks import practice_record, streaks_rebuild
from gamification.streak_runs import DailyStreak, FreezeRule, daily_streak_from_days, daily_streak_on
from tests.factories import EventFactory, UserFactory, make_friends
from tests.services.test_streaks import COPENHAGEN, at, friend_streak, practise, practise_late

RULE = FreezeRule(every=7, most=2)
D0 = dt.date(2025, 3, 1)


def d(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def run(*numbers: int, rest: set[int] = frozenset()) -> DailyStreak:
    return daily_streak_from_days([d(n) for n in numbers], rest={d(n) for n in rest}, freezes=RULE)


def row(user, language: str = "de") -> dict:
    streak = LanguageStreak.objects.get(user=user, language_id=language)
    return {
        "length": streak.length,
        "last": streak.last_date,
        "freezes": streak.freezes_held,
        "frozen": streak.frozen_days,
    }


def api_row(user, now: dt.datetime, language: str = "de"):
    with time_machine.travel(now, tick=False):
        return {r.code: r for r in streaks_of_user(user=user)}[language]


def practise_days(user, first: dt.date, count: int, tz: str = "UTC", language: str = "de") -> None:
    for n in range(count):
        day = first + dt.timedelta(days=n)
        practise(user, at(tz, day.year, day.month, day.day), language=language)


# The walk ------------------------------------------------------------------------------------------
class TestFreezeWalk:
    def test_the_7th_counted_day_earns_a_freeze(self):
        assert run(*range(6)).freezes == 0
        assert run(*range(7)).freezes == 1

    def test_a_missed_day_spends_a_held_freeze_and_adds_nothing(self):
        streak = run(*range(7), 8)

        assert (streak.length, streak.freezes, streak.frozen) == (8, 0, (d(7),))

    def test_without_a_freeze_a_missed_day_breaks_the_run(self):
        streak = run(*range(6), 7 + 1)

        assert (streak.length, streak.freezes, streak.frozen) == (1, 0, ())

    def test_at_most_2_freezes_are_held(self):
        assert run(*range(14)).freezes == 2
        assert run(*range(21)).freezes == 2

    def test_frozen_days_do_not_count_toward_the_7(self):
        # 7 days (1 freeze), day 7 frozen, days 8..13 are counted days 8..13: no new freeze yet.
        assert run(*range(7), *range(8, 14)).freezes == 0
        # Day 14 is the 14th counted day: it earns one.
        assert run(*range(7), *range(8, 15)).freezes == 1

    def test_a_gap_longer_than_the_freezes_breaks_and_keeps_them(self):
        streak = run(*range(7), 9)  # 2 missed days, 1 freeze

        assert (streak.length, streak.freezes, streak.frozen, streak.max_length) == (1, 1, (), 7)

    def test_two_freezes_bridge_a_gap_of_two(self):
        streak = run(*range(14), 16)

        assert (streak.length, streak.freezes, streak.frozen) == (15, 0, (d(14), d(15)))

    def test_rest_days_are_neither_missed_nor_counted(self):
        streak = run(0, 1, 2, 5, rest={3, 4})

        assert (streak.length, streak.freezes, streak.frozen) == (4, 0, ())

    def test_practice_on_a_rest_day_adds_nothing(self):
        assert run(0, 1, 2, rest={1}).length == 2

    def test_a_late_day_that_fills_a_frozen_day_gives_the_freeze_back(self):
        before = run(*range(7), 8)
        after = run(*range(9))

        assert (before.freezes, before.frozen) == (0, (d(7),))
        assert (after.freezes, after.frozen, after.length) == (1, (), 9)


class TestReadRule:
    def test_yesterday_missed_spends_a_freeze_when_read(self):
        shown = daily_streak_on(run(*range(7)), today=d(8))

        assert (shown.daily_streak, shown.freezes_held, shown.frozen_days) == (7, 0, (d(7),))

    def test_more_missed_days_than_freezes_read_0_and_keep_them(self):
        shown = daily_streak_on(run(*range(7)), today=d(9))

        assert (shown.daily_streak, shown.freezes_held, shown.frozen_days) == (0, 1, ())

    def test_rest_days_since_the_last_day_keep_the_run(self):
        shown = daily_streak_on(run(0, 1), today=d(6), rest={d(n) for n in range(2, 6)})

        assert (shown.daily_streak, shown.freezes_held) == (2, 0)


# Live recording ------------------------------------------------------------------------------------
@pytest.mark.django_db
class TestLive:
    def test_a_week_then_a_missed_day_then_practice_keeps_the_streak(self, user):
        practise_days(user, dt.date(2025, 5, 1), 7)
        practise(user, at("UTC", 2025, 5, 9))

        assert row(user) == {"length": 8, "last": dt.date(2025, 5, 9), "freezes": 0, "frozen": ["2025-05-08"]}

    def test_the_missed_day_ends_at_local_midnight(self, user):
        practise_days(user, dt.date(2025, 5, 1), 7)  # 1..7 May

        late_on_the_8th = api_row(user, at("UTC", 2025, 5, 8, 23, 59))
        on_the_9th = api_row(user, at("UTC", 2025, 5, 9, 0, 0))
        on_the_10th = api_row(user, at("UTC", 2025, 5, 10, 0, 0))

        assert (late_on_the_8th.daily_streak, late_on_the_8th.freezes_held, late_on_the_8th.at_risk) == (7, 1, True)
        assert late_on_the_8th.frozen_days == ()
        assert (on_the_9th.daily_streak, on_the_9th.freezes_held) == (7, 0)
        assert on_the_9th.frozen_days == (dt.date(2025, 5, 8),)
        assert (on_the_10th.daily_streak, on_the_10th.freezes_held, on_the_10th.frozen_days) == (0, 1, ())

    def test_a_missed_dst_day_is_one_day(self):
        user = UserFactory(timezone=COPENHAGEN)
        practise_days(user, dt.date(2025, 3, 23), 7, tz=COPENHAGEN)  # 23..29 March
        # 30 March has 23 hours in Copenhagen; missing it spends one freeze.
        practise(user, at(COPENHAGEN, 2025, 3, 31, 0, 30))

        assert row(user) == {"length": 8, "last": dt.date(2025, 3, 31), "freezes": 0, "frozen": ["2025-03-30"]}

    def test_moving_east_over_a_date_spends_a_freeze_on_it(self):
        user = UserFactory(timezone="America/Los_Angeles")
        practise_days(user, dt.date(2025, 5, 1), 7, tz="America/Los_Angeles")  # 1..7 May, local
        # Late on 7 May in Los Angeles the user moves to Tokyo, where it is already 8 May
        # afternoon, and practises there on 9 May: the 8th went by without practice.
        user.timezone = "Asia/Tokyo"
        user.save(update_fields=["timezone"])
        practise(user, at("Asia/Tokyo", 2025, 5, 9, 10))

        assert row(user) == {"length": 8, "last": dt.date(2025, 5, 9), "freezes": 0, "frozen": ["2025-05-08"]}

    def test_a_late_event_filling_the_frozen_day_gives_the_freeze_back(self, user):
        practise_days(user, dt.date(2025, 5, 1), 7)
        practise(user, at("UTC", 2025, 5, 9))
        assert row(user)["freezes"] == 0

        practise_late(user, at("UTC", 2025, 5, 8), now=at("UTC", 2025, 5, 9, 15))

        assert row(user) == {"length": 9, "last": dt.date(2025, 5, 9), "freezes": 1, "frozen": []}

    def test_a_rest_day_in_the_gap_spends_nothing(self, user):
        practise_days(user, dt.date(2025, 5, 1), 3)
        RestDay.objects.create(user=user, start=dt.date(2025, 5, 4), end=dt.date(2025, 5, 5))
        practise(user, at("UTC", 2025, 5, 6))

        assert row(user) == {"length": 4, "last": dt.date(2025, 5, 6), "freezes": 0, "frozen": []}

    def test_practice_on_a_rest_day_adds_nothing(self, user):
        practise_days(user, dt.date(2025, 5, 1), 3)
        RestDay.objects.create(user=user, start=dt.date(2025, 5, 4), end=dt.date(2025, 5, 4))
        practise(user, at("UTC", 2025, 5, 4))

        assert row(user)["length"] == 3
        shown = api_row(user, at("UTC", 2025, 5, 4, 20))
        assert (shown.daily_streak, shown.practiced_today, shown.at_risk, shown.seconds_today) == (3, False, False, 120)


# Live in random order against a rebuild ------------------------------------------------------------
END = dt.datetime(2025, 4, 10, 21, 0, tzinfo=dt.UTC)
ZONES = ["UTC", COPENHAGEN, "Pacific/Kiritimati", "America/Los_Angeles", "Australia/Sydney"]

day_offsets = st.integers(min_value=0, max_value=27)
# Per language, per day of the 28: the sessions of that day (seconds), each at a random minute.
language_days = st.lists(st.lists(st.sampled_from([40, 80, 120, 300]), max_size=2), min_size=28, max_size=28)
histories = st.fixed_dictionaries(
    {
        "zone": st.sampled_from(ZONES),
        "days": st.fixed_dictionaries({"de": language_days, "fr": language_days}),
        "rest": st.lists(st.tuples(day_offsets, st.integers(min_value=0, max_value=3)), max_size=4),
        # 0: in time order; 1: shuffled; in between, that share of the events reported late.
        "late_share": st.sampled_from([0.0, 0.2, 0.5, 1.0]),
        "order": st.randoms(use_true_random=False),
    }
)


def _state(user) -> dict:
    return {
        "days": sorted(PracticeDay.objects.filter(user=user).values_list("language_id", "date", "seconds")),
        "streaks": sorted(
            LanguageStreak.objects.filter(user=user).values_list(
                "language_id", "length", "last_date", "max_length", "max_date", "freezes_held", "frozen_days"
            )
        ),
        "gauge": UserMetric.objects.filter(user=user, activity_type__code="STREAK_DAYS")
        .values_list("value", flat=True)
        .first()
        or 0,
    }


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories)
def test_live_ingestion_in_any_order_equals_a_rebuild(history):
    user = UserFactory(timezone=history["zone"])
    start = (END - dt.timedelta(days=28)).date()
    booked: set[dt.date] = set()
    for offset, extra in history["rest"]:  # booked in advance, so present before any event
        first = start + dt.timedelta(days=offset)
        dates = {first + dt.timedelta(days=n) for n in range(extra + 1)}
        if not dates & booked:
            booked |= dates
            RestDay.objects.create(user=user, start=first, end=first + dt.timedelta(days=extra))
    order: random.Random = history["order"]
    events = sorted(
        (
            dt.datetime.combine(start + dt.timedelta(days=offset), dt.time(), tzinfo=dt.UTC)
            + dt.timedelta(minutes=order.randrange(24 * 60)),
            seconds,
            language,
        )
        for language, days in history["days"].items()
        for offset, day_sessions in enumerate(days)
        for seconds in day_sessions
    )
    late = [event for event in events if order.random() < history["late_share"]]
    order.shuffle(late)
    events = [event for event in events if event not in late] + late
    with time_machine.travel(END, tick=False):
        for when, seconds, language in events:
            EventFactory(user=user, occurred_at=when, language_id=language, kind="reading", duration_seconds=seconds)
            practice_record(user=user, language_id=language, occurred_at=when, seconds=seconds)
        live = _state(user)
        shown_live = streaks_of_user(user=user)

        PracticeDay.objects.filter(user=user).delete()
        LanguageStreak.objects.filter(user=user).delete()
        UserMetric.objects.filter(user=user).delete()
        streaks_rebuild(user_id=user.pk)

        assert _state(user) == live
        assert streaks_of_user(user=user) == shown_live


# Friend streaks --------------------------------------------------------------------------------------
@pytest.mark.django_db
class TestFriendStreakNeutralDays:
    def test_a_rest_day_of_one_friend_neither_breaks_nor_grows_it(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        for day in (1, 2, 3):
            practise(alice, at("UTC", 2025, 5, day))
            practise(bob, at("UTC", 2025, 5, day))
        with time_machine.travel(at("UTC", 2025, 5, 3, 13), tick=False):
            rest_day_book(user=alice, start=dt.date(2025, 5, 4), end=dt.date(2025, 5, 4))
        practise(bob, at("UTC", 2025, 5, 4))

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 4, 20)) == 3
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 5, 10)) == 3  # 4 May is over: still 3

        practise(alice, at("UTC", 2025, 5, 5))
        practise(bob, at("UTC", 2025, 5, 5))

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 5, 20)) == 4

    def test_a_rest_day_before_any_practice_of_the_other_keeps_it(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        for day in (1, 2):
            practise(alice, at("UTC", 2025, 5, day))
            practise(bob, at("UTC", 2025, 5, day))
        with time_machine.travel(at("UTC", 2025, 5, 2, 13), tick=False):
            rest_day_book(user=bob, start=dt.date(2025, 5, 3), end=dt.date(2025, 5, 5))

        # Nobody practises while Bob rests: Alice's missing days are neutral too.
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 6, 10)) == 2

    def test_a_day_one_friend_spends_a_freeze_on_is_neutral(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        for day in range(1, 8):
            practise(alice, at("UTC", 2025, 5, day))
            practise(bob, at("UTC", 2025, 5, day))
        practise(bob, at("UTC", 2025, 5, 8))  # Alice misses 8 May; her freeze bridges it
        practise(alice, at("UTC", 2025, 5, 9))
        practise(bob, at("UTC", 2025, 5, 9))

        assert row(alice)["frozen"] == ["2025-05-08"]
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 9, 20)) == 8

    def test_cancelling_the_rest_day_makes_the_day_count_again(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        for day in (1, 2):
            practise(alice, at("UTC", 2025, 5, day))
            practise(bob, at("UTC", 2025, 5, day))
        with time_machine.travel(at("UTC", 2025, 5, 2, 13), tick=False):
            booking = rest_day_book(user=bob, start=dt.date(2025, 5, 4), end=dt.date(2025, 5, 5))
            rest_day_cancel(user=bob, rest_day_id=booking.pk)

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 4, 10)) == 0  # 3 May missed by both


@pytest.mark.django_db
def test_friends_languages_apply_freezes_and_rest_days_in_2_queries_whatever_the_number(
    django_assert_max_num_queries,
):
    from gamification.selectors.streaks import languages_for_users

    def friend_with_a_gap(rest: bool):
        friend = UserFactory()
        practise_days(friend, dt.date(2025, 5, 1), 7)  # 1..7 May: one freeze
        if rest:
            RestDay.objects.create(user=friend, start=dt.date(2025, 5, 8), end=dt.date(2025, 5, 9))
        return friend

    few = [friend_with_a_gap(rest=n % 2 == 0) for n in range(2)]
    many = few + [friend_with_a_gap(rest=n % 2 == 0) for n in range(8)]

    with time_machine.travel(at("UTC", 2025, 5, 10, 9), tick=False):
        with django_assert_max_num_queries(2):
            languages_for_users(user_ids=[friend.pk for friend in few])
        with django_assert_max_num_queries(2):
            shown = languages_for_users(user_ids=[friend.pk for friend in many])

    # On 10 May: 8 and 9 May were rest days for one (7), missed for the other: two missed days,
    # one freeze, broken (0).
    assert [shown[friend.pk][0]["daily_streak"] for friend in few] == [7, 0]
