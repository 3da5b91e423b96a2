"""Daily streaks and friend streaks (SPEC §4), written through ``practice_record`` with frozen
time. Each helper also logs the event, so that ``streaks_rebuild`` can replay it."""

import datetime as dt
import itertools
import random
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gamification.models import Friendship, LanguageStreak, PracticeDay, RestDay, UserBadge, UserMetric
from gamification.selectors.streaks import friend_streaks, languages_for_users, streaks_of_user
from gamification.services.streaks import practice_record, streaks_rebuild
from gamification.streak_runs import (
    FriendStreakState,
    daily_streak_from_days,
    friend_day_numbers,
    friend_streak_compute,
)
from tests.factories import EventFactory, UserFactory, make_friends
from tests.threads import run_in_threads

UTC = dt.UTC
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11
COPENHAGEN = "Europe/Copenhagen"


def at(tz_name: str, year: int, month: int, day: int, hour: int = 12, minute: int = 0, fold: int = 0) -> dt.datetime:
    """An aware instant given on a wall clock in ``tz_name``."""
    return dt.datetime(year, month, day, hour, minute, fold=fold, tzinfo=ZoneInfo(tz_name))


def practise(user, when: dt.datetime, seconds: int = 120, language: str = "de"):
    """What event ingestion does for a practice event: log it, then record it (at ``when``)."""
    with time_machine.travel(when, tick=False):
        EventFactory(user=user, occurred_at=when, language_id=language, kind="reading", duration_seconds=seconds)
        return practice_record(user=user, language_id=language, occurred_at=when, seconds=seconds)


def practise_late(user, when: dt.datetime, *, now: dt.datetime, seconds: int = 120, language: str = "de"):
    """An event that happened at ``when`` and is reported at ``now``."""
    with time_machine.travel(now, tick=False):
        EventFactory(user=user, occurred_at=when, language_id=language, kind="reading", duration_seconds=seconds)
        return practice_record(user=user, language_id=language, occurred_at=when, seconds=seconds)


def streak_row(user, language: str = "de") -> LanguageStreak:
    return LanguageStreak.objects.get(user=user, language_id=language)


def shown(user, now: dt.datetime, language: str = "de") -> dict:
    """The user's streak in ``language`` as ``/api/streaks/`` shows it at ``now``."""
    with time_machine.travel(now, tick=False):
        rows = {row.code: row for row in streaks_of_user(user=user)}
    row = rows[language]
    return {
        "daily": row.daily_streak,
        "max": row.max_streak,
        "max_date": row.max_streak_date,
        "today": row.practiced_today,
    }


def friend_streak(a, b, now: dt.datetime) -> int:
    low, high = sorted([a.pk, b.pk])
    friendship = Friendship.objects.select_related("user_low", "user_high").get(
        user_low_id=low, user_high_id=high, active=True
    )
    with time_machine.travel(now, tick=False):
        return friend_streaks(friendships=[friendship])[friendship.pk]


def metric(user, code: str = "STREAK_DAYS") -> int:
    row = UserMetric.objects.filter(user=user, activity_type__code=code).first()
    return row.value if row else 0


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE", "REPLACE"}]


# Daily streaks -----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestDailyStreak:
    def test_one_minute_and_one_minute_in_one_local_day_count(self):
        user = UserFactory(timezone=COPENHAGEN)

        practise(user, at(COPENHAGEN, 2025, 5, 6, 8), seconds=60)
        practise(user, at(COPENHAGEN, 2025, 5, 6, 21), seconds=60)

        assert PracticeDay.objects.get(user=user).seconds == 120
        assert shown(user, at(COPENHAGEN, 2025, 5, 6, 22)) == {
            "daily": 1,
            "max": 1,
            "max_date": dt.date(2025, 5, 6),
            "today": True,
        }

    def test_one_minute_alone_does_not_count_but_the_language_is_listed(self):
        user = UserFactory()

        practise(user, at("UTC", 2025, 5, 6), seconds=60)

        assert shown(user, at("UTC", 2025, 5, 6, 13)) == {"daily": 0, "max": 0, "max_date": None, "today": False}

    def test_minutes_on_either_side_of_local_midnight_do_not_add_up(self):
        user = UserFactory(timezone=COPENHAGEN)

        practise(user, at(COPENHAGEN, 2025, 5, 6, 23, 55), seconds=60)
        practise(user, at(COPENHAGEN, 2025, 5, 7, 0, 5), seconds=60)

        assert sorted(PracticeDay.objects.filter(user=user).values_list("date", "seconds")) == [
            (dt.date(2025, 5, 6), 60),
            (dt.date(2025, 5, 7), 60),
        ]
        assert streak_row(user).length == 0

    def test_the_day_is_the_users_local_date_not_utcs(self):
        user = UserFactory(timezone="America/New_York")

        # 03:00 UTC on 2 January is 22:00 on 1 January in New York.
        practise(user, dt.datetime(2025, 1, 2, 3, 0, tzinfo=UTC))

        assert PracticeDay.objects.get(user=user).date == dt.date(2025, 1, 1)

    def test_consecutive_days_grow_the_streak_and_a_missed_day_shows_zero(self):
        user = UserFactory(timezone=COPENHAGEN)
        for day in (1, 2, 3):
            practise(user, at(COPENHAGEN, 2025, 5, day, 23, 50))

        assert shown(user, at(COPENHAGEN, 2025, 5, 3, 23, 55))["daily"] == 3
        # The next day, before practising: still 3, not practised today.
        assert shown(user, at(COPENHAGEN, 2025, 5, 4, 23, 59)) == {
            "daily": 3,
            "max": 3,
            "max_date": dt.date(2025, 5, 3),
            "today": False,
        }
        # 4 May was missed: from local midnight on, the streak is 0; the best run stays.
        assert shown(user, at(COPENHAGEN, 2025, 5, 5, 0, 1)) == {
            "daily": 0,
            "max": 3,
            "max_date": dt.date(2025, 5, 3),
            "today": False,
        }

    def test_reading_never_writes(self):
        user = UserFactory()
        friend = UserFactory()
        make_friends(user, friend, since=at("UTC", 2025, 4, 30))
        for day in (1, 2):
            practise(user, at("UTC", 2025, 5, day))
            practise(friend, at("UTC", 2025, 5, day))
        friendship = Friendship.objects.select_related("user_low", "user_high").get()

        with time_machine.travel(at("UTC", 2025, 5, 9), tick=False), CaptureQueriesContext(connection) as queries:
            rows = streaks_of_user(user=user)
            streaks = friend_streaks(friendships=[friendship])
            languages = languages_for_users(user_ids=[user.pk, friend.pk])

        assert writes(queries) == []
        assert (rows[0].daily_streak, streaks[friendship.pk], languages[user.pk][0]["daily_streak"]) == (0, 0, 0)
        assert streak_row(user).length == 2  # the stored run is left as it was
        assert Friendship.objects.get().streak_length == 2

    def test_late_event_completing_yesterday_extends_the_streak(self):
        user = UserFactory(timezone=COPENHAGEN)
        practise(user, at(COPENHAGEN, 2025, 5, 1))
        practise(user, at(COPENHAGEN, 2025, 5, 2), seconds=60)  # not enough on 2 May
        practise(user, at(COPENHAGEN, 2025, 5, 3, 9))
        assert shown(user, at(COPENHAGEN, 2025, 5, 3, 10))["daily"] == 1

        # The platform reports, on 3 May, another minute practised on 2 May.
        practise_late(user, at(COPENHAGEN, 2025, 5, 2, 20), now=at(COPENHAGEN, 2025, 5, 3, 11), seconds=60)

        assert shown(user, at(COPENHAGEN, 2025, 5, 3, 12)) == {
            "daily": 3,
            "max": 3,
            "max_date": dt.date(2025, 5, 3),
            "today": True,
        }

    def test_late_event_joining_two_past_runs_makes_the_longest_run(self):
        user = UserFactory()
        # Runs 1-3 and 5-6 May, then the current run 8-9 May.
        for day in (1, 2, 3, 5, 6, 8, 9):
            practise(user, at("UTC", 2025, 5, day))
        assert (streak_row(user).max_length, streak_row(user).max_date) == (3, dt.date(2025, 5, 3))

        practise_late(user, at("UTC", 2025, 5, 4), now=at("UTC", 2025, 5, 9, 18))

        row = streak_row(user)
        assert (row.length, row.last_date) == (2, dt.date(2025, 5, 9))
        assert (row.max_length, row.max_date) == (6, dt.date(2025, 5, 6))

        # And filling 7 May joins everything into the current run.
        practise_late(user, at("UTC", 2025, 5, 7), now=at("UTC", 2025, 5, 9, 19))

        assert shown(user, at("UTC", 2025, 5, 9, 20)) == {
            "daily": 9,
            "max": 9,
            "max_date": dt.date(2025, 5, 9),
            "today": True,
        }

    def test_max_streak_keeps_the_first_of_equally_long_runs_and_moves_when_beaten(self):
        user = UserFactory()
        for day in (1, 2, 3, 5, 6, 7):
            practise(user, at("UTC", 2025, 5, day))
        assert shown(user, at("UTC", 2025, 5, 7, 13))["max_date"] == dt.date(2025, 5, 3)

        practise(user, at("UTC", 2025, 5, 8))

        assert shown(user, at("UTC", 2025, 5, 8, 13)) == {
            "daily": 4,
            "max": 4,
            "max_date": dt.date(2025, 5, 8),
            "today": True,
        }

    def test_each_language_has_its_own_streak(self):
        user = UserFactory()
        for day in (1, 2, 3):
            practise(user, at("UTC", 2025, 5, day), language="de")
        practise(user, at("UTC", 2025, 5, 3), language="fr")
        practise(user, at("UTC", 2025, 5, 3, 13), language="es", seconds=30)

        with time_machine.travel(at("UTC", 2025, 5, 3, 20), tick=False):
            rows = streaks_of_user(user=user)

        assert [(row.code, row.daily_streak, row.practiced_today) for row in rows] == [
            ("de", 3, True),
            ("fr", 1, True),
            ("es", 0, False),
        ]

    def test_a_timezone_change_keeps_past_days_on_their_dates(self):
        user = UserFactory(timezone="UTC")
        practise(user, at("UTC", 2025, 5, 1, 23))
        user.timezone = KIRITIMATI
        user.save(update_fields=["timezone"])

        # 23:00 UTC on 2 May is already 3 May in Kiritimati: 2 May was never a counted day there.
        practise(user, at("UTC", 2025, 5, 2, 23))

        assert sorted(PracticeDay.objects.filter(user=user).values_list("date", flat=True)) == [
            dt.date(2025, 5, 1),
            dt.date(2025, 5, 3),
        ]
        assert streak_row(user).length == 1


@pytest.mark.django_db
class TestDaylightSavingTime:
    def test_spring_forward_neither_breaks_nor_doubles_a_streak(self):
        user = UserFactory(timezone=COPENHAGEN)
        # Late evenings from 28 March to 1 April 2025; clocks jump 02:00 -> 03:00 on 30 March.
        for day in (28, 29, 30, 31):
            practise(user, at(COPENHAGEN, 2025, 3, day, 23, 30))
        practise(user, at(COPENHAGEN, 2025, 4, 1, 0, 30))  # just after midnight: 1 April
        practise(user, at(COPENHAGEN, 2025, 4, 1, 23, 30))  # same local day again

        assert sorted(PracticeDay.objects.filter(user=user).values_list("date", flat=True)) == [
            dt.date(2025, 3, day) for day in (28, 29, 30, 31)
        ] + [dt.date(2025, 4, 1)]
        assert shown(user, at(COPENHAGEN, 2025, 4, 2, 23, 59))["daily"] == 5
        assert shown(user, at(COPENHAGEN, 2025, 4, 3, 0, 0))["daily"] == 0

    def test_fall_back_counts_the_25_hour_day_once(self):
        user = UserFactory(timezone=COPENHAGEN)
        practise(user, at(COPENHAGEN, 2025, 10, 25, 0, 30))
        # 26 October 2025 has 02:30 twice (clocks go back 03:00 -> 02:00): one minute at each.
        practise(user, at(COPENHAGEN, 2025, 10, 26, 2, 30, fold=0), seconds=60)
        practise(user, at(COPENHAGEN, 2025, 10, 26, 2, 30, fold=1), seconds=60)
        practise(user, at(COPENHAGEN, 2025, 10, 26, 23, 59))
        practise(user, at(COPENHAGEN, 2025, 10, 27, 0, 1))

        assert PracticeDay.objects.get(user=user, date=dt.date(2025, 10, 26)).seconds == 240
        assert shown(user, at(COPENHAGEN, 2025, 10, 27, 12)) == {
            "daily": 3,
            "max": 3,
            "max_date": dt.date(2025, 10, 27),
            "today": True,
        }


@pytest.mark.django_db
class TestStreakDaysBadge:
    def test_seven_days_award_consistency_champion_level_1_once(self):
        user = UserFactory()
        awarded = [practise(user, at("UTC", 2025, 5, day)) for day in range(1, 8)]

        assert [len(badges) for badges in awarded] == [0, 0, 0, 0, 0, 0, 1]
        assert awarded[6][0].badge.activity_type.code == "STREAK_DAYS"
        assert awarded[6][0].badge.level == 1
        assert metric(user) == 7
        assert UserBadge.objects.filter(user=user, badge__activity_type__code="STREAK_DAYS").count() == 1

    def test_the_gauge_falls_with_a_new_run_and_the_badge_stays(self):
        user = UserFactory()
        for day in range(1, 8):
            practise(user, at("UTC", 2025, 5, day))

        practise(user, at("UTC", 2025, 5, 10))

        assert metric(user) == 1
        assert UserBadge.objects.filter(user=user, badge__activity_type__code="STREAK_DAYS").exists()

    def test_the_gauge_is_the_best_current_streak_over_languages(self):
        user = UserFactory()
        for day in (1, 2, 3, 4):
            practise(user, at("UTC", 2025, 5, day), language="de")
        practise(user, at("UTC", 2025, 5, 4, 13), language="fr")

        assert metric(user) == 4


# Friend streaks ----------------------------------------------------------------------------------
@pytest.mark.django_db
class TestFriendStreak:
    def test_a_new_friendship_starts_at_zero_even_when_both_practised_today(self):
        alice, bob = UserFactory(), UserFactory()
        practise(alice, at("UTC", 2025, 5, 1, 9))
        practise(bob, at("UTC", 2025, 5, 1, 10))

        make_friends(alice, bob, since=at("UTC", 2025, 5, 1, 11))

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 1, 12)) == 0

    def test_the_first_day_counts_once_either_friend_practises_again(self):
        alice, bob = UserFactory(), UserFactory()
        practise(alice, at("UTC", 2025, 5, 1, 9))
        practise(bob, at("UTC", 2025, 5, 1, 10))
        make_friends(alice, bob, since=at("UTC", 2025, 5, 1, 11))

        practise(alice, at("UTC", 2025, 5, 2, 8))
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 2, 9)) == 1
        practise(bob, at("UTC", 2025, 5, 2, 20))
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 2, 21)) == 2

    def test_days_before_the_friendship_do_not_count(self):
        alice, bob = UserFactory(), UserFactory()
        for day in (1, 2):
            practise(alice, at("UTC", 2025, 5, day))
            practise(bob, at("UTC", 2025, 5, day))

        make_friends(alice, bob, since=at("UTC", 2025, 5, 3, 6))
        practise(alice, at("UTC", 2025, 5, 3, 8))
        practise(bob, at("UTC", 2025, 5, 3, 9))

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 3, 10)) == 1

    def test_two_practice_events_the_same_day_raise_it_once(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        practise(alice, at("UTC", 2025, 5, 1, 8))
        practise(bob, at("UTC", 2025, 5, 1, 9))

        # More practice the same day, another language, the other friend again: still 1.
        practise(alice, at("UTC", 2025, 5, 1, 10))
        practise(alice, at("UTC", 2025, 5, 1, 11), language="fr")
        practise(bob, at("UTC", 2025, 5, 1, 12), language="es")

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 1, 23)) == 1
        assert Friendship.objects.get().streak_length == 1

    def test_a_day_missed_by_either_friend_shows_zero(self):
        alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        make_friends(alice, carol, since=at("UTC", 2025, 4, 30))
        for day in (1, 2, 3):
            practise(alice, at("UTC", 2025, 5, day))
        for day in (1, 2):  # bob and carol skip 3 May
            practise(bob, at("UTC", 2025, 5, day))
            practise(carol, at("UTC", 2025, 5, day))
        # carol comes back on 4 May; alice does not.
        practise(carol, at("UTC", 2025, 5, 4))

        # During 3 May bob may still practise: the streak shows 2.
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 3, 23, 59)) == 2
        # 3 May is over without bob: 0.
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 4, 0, 0)) == 0
        # alice and carol: carol missed 3 May; practising on 4 May starts nothing while alice
        # has not practised that day, and the old run reads 0.
        assert friend_streak(alice, carol, at("UTC", 2025, 5, 4, 12)) == 0

    def test_friends_in_utc_plus_14_and_utc_minus_11_practising_in_their_evenings_keep_a_streak(self):
        kiri = UserFactory(timezone=KIRITIMATI)
        pago = UserFactory(timezone=PAGO_PAGO)
        # Made at 00:00 UTC on 28 April: 14:00 on 28 April in Kiritimati, 13:00 on 27 April in
        # Pago Pago. Day n is 28 April + n for one and 27 April + n for the other: Kiritimati's
        # evening of 2 May and Pago Pago's of 1 May are both day 4.
        make_friends(kiri, pago, since=at("UTC", 2025, 4, 28, 0))
        events = [(at(KIRITIMATI, 2025, 5, day, 20), kiri) for day in range(2, 9)]
        events += [(at(PAGO_PAGO, 2025, 5, day, 20), pago) for day in range(1, 8)]
        events.sort(key=lambda item: item[0])

        # Every hour from 1 May 00:00 UTC to 8 May 07:00 UTC: first the events due, then a read.
        hourly = []
        for hour in range(7 * 24 + 8):
            now = at("UTC", 2025, 5, 1, 0) + dt.timedelta(hours=hour)
            while events and events[0][0] <= now:
                when, who = events.pop(0)
                practise(who, when)
            hourly.append((now, friend_streak(kiri, pago, now)))

        # Pago Pago finishes its day 4 at 07:00 UTC on 2 May: from then on never 0, and one more
        # per day, however the two calendars overlap.
        values = [value for now, value in hourly if now >= at("UTC", 2025, 5, 2, 7)]
        assert values[0] == 1
        assert values[-1] == 7
        assert all(later - earlier in (0, 1) for earlier, later in itertools.pairwise(values))
        assert sorted(set(values)) == [1, 2, 3, 4, 5, 6, 7]

    def test_the_friend_whose_days_begin_first_may_finish_a_day_the_other_has_not_reached(self):
        kiri = UserFactory(timezone=KIRITIMATI)
        pago = UserFactory(timezone=PAGO_PAGO)
        # Made at 10:30 UTC on 28 April: 00:30 on 29 April in Kiritimati, 23:30 on 27 April in
        # Pago Pago. Pago Pago's day n (27 April + n) begins 23 hours before Kiritimati's
        # (29 April + n).
        make_friends(kiri, pago, since=at("UTC", 2025, 4, 28, 10, 30))
        for day in (2, 3):  # days 3 and 4
            practise(kiri, at(KIRITIMATI, 2025, 5, day, 20))
        for month, day in ((4, 30), (5, 1), (5, 2)):  # days 3, 4 and 5
            practise(pago, at(PAGO_PAGO, 2025, month, day, 20))

        # 11:30 UTC on 3 May: Pago Pago is on day 6 (3 May), its day 5 done; Kiritimati is on
        # day 5 (4 May), not practised yet. The run ends on day 4, before Pago Pago's yesterday,
        # yet nobody missed a day: 2, not 0.
        assert friend_streak(kiri, pago, at("UTC", 2025, 5, 3, 11, 30)) == 2
        # Kiritimati's day 5 ends at 10:00 UTC on 4 May.
        assert friend_streak(kiri, pago, at("UTC", 2025, 5, 4, 9, 59)) == 2
        assert friend_streak(kiri, pago, at("UTC", 2025, 5, 4, 10, 0)) == 0

    def test_the_friend_whose_days_begin_first_missing_one_shows_zero_as_it_ends_for_them(self):
        kiri = UserFactory(timezone=KIRITIMATI)
        pago = UserFactory(timezone=PAGO_PAGO)
        make_friends(kiri, pago, since=at("UTC", 2025, 4, 28, 10, 30))  # as above
        for day in (2, 3):  # days 3 and 4
            practise(kiri, at(KIRITIMATI, 2025, 5, day, 20))
        for month, day in ((4, 30), (5, 1)):  # days 3 and 4
            practise(pago, at(PAGO_PAGO, 2025, month, day, 20))

        # Pago Pago skips day 5 (2 May), which ends there at 11:00 UTC on 3 May, while
        # Kiritimati has only begun its day 5: the streak falls to 0 then.
        assert friend_streak(kiri, pago, at(PAGO_PAGO, 2025, 5, 2, 23, 59)) == 2
        assert friend_streak(kiri, pago, at(PAGO_PAGO, 2025, 5, 3, 0, 0)) == 0

    def test_late_event_joining_a_long_friend_run_reads_the_older_history(self):
        alice, bob = UserFactory(), UserFactory()
        make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        for day in range(1, 15):
            practise(bob, at("UTC", 2025, 5, day))
            # Alice misses 5 May before a freeze is earned (the 7th day): her run breaks.
            practise(alice, at("UTC", 2025, 5, day), seconds=60 if day == 5 else 120)
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 14, 20)) == 9

        practise_late(alice, at("UTC", 2025, 5, 5, 18), now=at("UTC", 2025, 5, 14, 21), seconds=60)

        assert friend_streak(alice, bob, at("UTC", 2025, 5, 14, 22)) == 14

    def test_an_ended_friendship_is_not_updated_and_a_new_one_starts_at_zero(self):
        alice, bob = UserFactory(), UserFactory()
        old = make_friends(alice, bob, since=at("UTC", 2025, 4, 30))
        practise(alice, at("UTC", 2025, 5, 1))
        practise(bob, at("UTC", 2025, 5, 1))
        Friendship.objects.filter(pk=old.pk).update(active=None, ended_at=at("UTC", 2025, 5, 1, 13))
        new = make_friends(alice, bob, since=at("UTC", 2025, 5, 2, 6))

        practise(alice, at("UTC", 2025, 5, 2, 8))

        old.refresh_from_db()
        assert old.streak_length == 1
        assert friend_streak(alice, bob, at("UTC", 2025, 5, 2, 9)) == 0
        new.refresh_from_db()
        assert new.streak_length == 0


class TestFriendStreakRule:
    """The pure rule, without a database: days are day numbers of the friendship."""

    def test_shared_days_form_the_run_containing_the_latest(self):
        state = friend_streak_compute(
            stored=FriendStreakState(), low_days={0, 1, 2, 4, 5}, high_days={0, 1, 2, 3, 4, 5, 6}, floor=None
        )

        assert state == FriendStreakState(length=2, first_day=4, last_day=5, low_through=5, high_through=6)

    def test_how_far_a_friend_went_on_after_the_run_stops_at_the_lag(self):
        state = friend_streak_compute(stored=FriendStreakState(), low_days={3}, high_days={3, 4, 5, 6, 7}, floor=None)

        assert state == FriendStreakState(length=1, first_day=3, last_day=3, low_through=3, high_through=5)

    def test_a_run_reaching_below_the_window_asks_for_history(self):
        stored = FriendStreakState(3, 4, 6, 6, 6)
        state = friend_streak_compute(stored=stored, low_days={10, 11, 12}, high_days={10, 11, 12}, floor=10)

        assert state is None

    def test_the_stored_run_joins_the_window_and_the_day_before_it_is_trusted(self):
        stored = FriendStreakState(length=5, first_day=2, last_day=6, low_through=6, high_through=7)

        state = friend_streak_compute(stored=stored, low_days={7}, high_days={7, 8}, floor=5)

        assert state == FriendStreakState(length=6, first_day=2, last_day=7, low_through=7, high_through=8)

    def test_days_before_the_friendship_are_not_numbered(self):
        start = dt.date(2025, 12, 2)
        dates = [dt.date(2025, 11, 30), dt.date(2025, 12, 1), dt.date(2025, 12, 2), dt.date(2025, 12, 4)]

        assert friend_day_numbers(dates, start=start, floor=None) == {0, 2}
        assert friend_day_numbers(dates, start=start, floor=1) == {2}

    def test_daily_runs_pick_the_first_of_equal_longest_runs(self):
        D = dt.date(2025, 5, 10)
        days = [D + dt.timedelta(days=o) for o in (0, 1, 3, 4, 6)]

        streak = daily_streak_from_days(days)

        assert (streak.length, streak.last_date, streak.max_length, streak.max_date) == (
            1,
            D + dt.timedelta(days=6),
            2,
            D + dt.timedelta(days=1),
        )


# Rebuild -----------------------------------------------------------------------------------------
FRIEND_STREAK_FIELDS = (
    "streak_length",
    "streak_first_day",
    "streak_last_day",
    "streak_low_through_day",
    "streak_high_through_day",
)
FRIEND_STREAK_RESET = {"streak_length": 0} | dict.fromkeys(FRIEND_STREAK_FIELDS[1:])


def derived_state(users) -> dict:
    ids = [u.pk for u in users]
    return {
        "days": sorted(
            PracticeDay.objects.filter(user_id__in=ids).values_list("user_id", "language_id", "date", "seconds")
        ),
        "streaks": sorted(
            LanguageStreak.objects.filter(user_id__in=ids).values_list(
                "user_id", "language_id", "length", "last_date", "max_length", "max_date", "freezes_held", "frozen_days"
            )
        ),
        "friends": sorted(Friendship.objects.values_list("pk", *FRIEND_STREAK_FIELDS)),
        "metric": sorted(
            UserMetric.objects.filter(user_id__in=ids, activity_type__code="STREAK_DAYS").values_list(
                "user_id", "value"
            )
        ),
    }


@pytest.mark.django_db
def test_replaying_the_whole_log_rebuilds_the_same_streaks():
    rng = random.Random(5)
    zones = [KIRITIMATI, PAGO_PAGO, COPENHAGEN, "UTC", "Asia/Kolkata"]
    users = [UserFactory(timezone=zone) for zone in zones]
    for i, a in enumerate(users):
        for b in users[i + 1 :]:
            make_friends(a, b, since=at("UTC", 2025, 2, 1))
    start = at("UTC", 2025, 3, 1)
    for user in users:  # rest days booked in advance: neutral for daily and friend streaks
        for _ in range(3):
            first = start.date() + dt.timedelta(days=rng.randrange(0, 58))
            if not RestDay.objects.filter(user=user, start__lte=first + dt.timedelta(days=2), end__gte=first).exists():
                RestDay.objects.create(user=user, start=first, end=first + dt.timedelta(days=rng.randrange(0, 3)))
    moments = sorted(
        ((start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 60)), rng.choice(users)) for _ in range(700)),
        key=lambda item: item[0],
    )
    for when, who in moments:
        seconds = rng.choice([30, 60, 90, 120, 300])
        language = rng.choice(["de", "fr"])
        if rng.random() < 0.1:  # reported late, up to 30 days after
            practise_late(
                who, when - dt.timedelta(days=rng.randrange(1, 30)), now=when, seconds=seconds, language=language
            )
        else:
            practise(who, when, seconds=seconds, language=language)
    end = moments[-1][0] + dt.timedelta(minutes=1)
    live = derived_state(users)
    assert any(length > 1 for _, length, *_ in live["friends"])

    PracticeDay.objects.all().delete()
    LanguageStreak.objects.all().delete()
    Friendship.objects.update(**FRIEND_STREAK_RESET)
    UserMetric.objects.filter(activity_type__code="STREAK_DAYS").delete()
    with time_machine.travel(end, tick=False):
        for user in users:
            streaks_rebuild(user_id=user.pk)

    assert derived_state(users) == live


# Query budget ------------------------------------------------------------------------------------
def _queries_of_a_counted_day(n_friends: int) -> int:
    """Queries of the event that makes today count for a user whose ``n_friends`` friends all
    practised today: every friend streak changes."""
    user = UserFactory()
    friends = [UserFactory() for _ in range(n_friends)]
    Friendship.objects.bulk_create(
        [Friendship(user_low=user, user_high=friend, created_at=at("UTC", 2025, 4, 1)) for friend in friends]
    )
    PracticeDay.objects.bulk_create(
        [PracticeDay(user=friend, language_id="de", date=dt.date(2025, 5, 1), seconds=600) for friend in friends]
    )
    practise(user, at("UTC", 2025, 4, 30))  # yesterday counted: today extends it
    practise(user, at("UTC", 2025, 5, 1, 8), seconds=60)

    with time_machine.travel(at("UTC", 2025, 5, 1, 9), tick=False), CaptureQueriesContext(connection) as queries:
        practice_record(user=user, language_id="de", occurred_at=at("UTC", 2025, 5, 1, 9), seconds=60)
    assert Friendship.objects.filter(user_low=user, streak_length=1).count() == n_friends
    return len(queries)


@pytest.mark.django_db
class TestQueryCounts:
    def test_a_day_already_started_costs_2_queries(self, user, django_assert_num_queries):
        practise(user, at("UTC", 2025, 5, 1, 8), seconds=30)

        with django_assert_num_queries(2):  # UPDATE ... seconds + n, read the total
            practice_record(user=user, language_id="de", occurred_at=at("UTC", 2025, 5, 1, 9), seconds=30)

    def test_a_new_day_costs_5_queries(self, user, django_assert_num_queries):
        # UPDATE (no row), insert-if-absent, UPDATE, read the total, the language's streak row.
        with django_assert_num_queries(5):
            practice_record(user=user, language_id="de", occurred_at=at("UTC", 2025, 5, 1, 9), seconds=30)

    def test_a_day_becoming_counted_costs_the_same_with_1_200_and_1000_friends(self):
        counts = [_queries_of_a_counted_day(n) for n in (1, 200, 1000)]

        # Practice day (2); lock the streak rows, rest days, update one (3); STREAK_DAYS, joining
        # the transaction: catalogue, lock (the row exists), update, levels (4); friendships:
        # lock, counted days of both sides, their rest days and frozen days, one UPDATE (5).
        assert counts == [14, 14, 14]

    def test_friend_streaks_read_no_query_and_languages_one_whatever_the_number_of_friends(
        self, user, django_assert_num_queries
    ):
        friends = [UserFactory(timezone=zone) for zone in (KIRITIMATI, PAGO_PAGO, COPENHAGEN, "UTC")]
        for friend in friends:
            make_friends(user, friend, since=at("UTC", 2025, 4, 1))
            for language in ("de", "fr"):
                practise(friend, at("UTC", 2025, 5, 1), language=language)
        practise(user, at("UTC", 2025, 5, 1))
        friendships = list(Friendship.objects.select_related("user_low", "user_high"))

        with time_machine.travel(at("UTC", 2025, 5, 1, 20), tick=False):
            with django_assert_num_queries(0):
                streaks = friend_streaks(friendships=friendships)
            with django_assert_num_queries(1):
                languages = languages_for_users(user_ids=[friend.pk for friend in friends])

        # Everyone practised at noon UTC, 30 days after the friendships were made at noon UTC: day
        # 30 of each friendship for both friends, though it is already 2 May in Kiritimati.
        assert sorted(streaks.values()) == [1, 1, 1, 1]
        assert all([row["code"] for row in languages[friend.pk]] == ["de", "fr"] for friend in friends)


# Concurrency (MariaDB) ---------------------------------------------------------------------------
@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_8_threads_adding_30_seconds_to_one_day_lose_nothing_and_count_it_once():
    user = UserFactory()
    when = dt.datetime.now(UTC)

    errors = run_in_threads(8, lambda i: practice_record(user=user, language_id="de", occurred_at=when, seconds=30))

    assert errors == []
    assert PracticeDay.objects.get(user=user).seconds == 240
    assert (streak_row(user).length, streak_row(user).max_length) == (1, 1)
    assert metric(user) == 1


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_friends_completing_the_same_day_at_once_share_it(monkeypatch):
    from gamification.services import streaks

    read_counted_days = streaks._counted_days

    def slow_read(**kwargs):
        # Widen the race: both transactions have counted their own day before either reads the
        # other's. Only the friendship's row lock makes the second reader wait for the first.
        time.sleep(0.3)
        return read_counted_days(**kwargs)

    monkeypatch.setattr(streaks, "_counted_days", slow_read)
    alice, bob = UserFactory(), UserFactory()
    friendship = make_friends(alice, bob, since=dt.datetime.now(UTC) - dt.timedelta(days=1))
    when = dt.datetime.now(UTC)

    def complete_the_day(i: int) -> None:
        practice_record(user=(alice, bob)[i], language_id="de", occurred_at=when, seconds=120)

    errors = run_in_threads(2, complete_the_day)

    assert errors == []
    friendship.refresh_from_db()
    assert friendship.streak_length == 1
