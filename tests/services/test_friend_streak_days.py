"""Friend streaks on every pair of UTC offsets (SPEC §4.2), with the clock fixed.

Day n of a friendship is each friend's n-th local date from their local date of its start. These
tests run the write path (``practice_record``) and the read rule on friends from UTC-12 to UTC+14
at several hours of the UTC day, compare live values with a rebuild from the activity log, and
compare both with ``expected_friend_streak``: the rule of SPEC §4.2 computed by brute force from
the counted days, with no stored state.
"""

import datetime as dt
import itertools
import random
from types import SimpleNamespace

import pytest
import time_machine
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamification.models import Friendship, LanguageStreak, PracticeDay, UserMetric
from gamification.selectors.streaks import friend_streaks
from gamification.services.streaks import streaks_rebuild
from gamification.timeutils import days_between, local_date, local_day_number, start_of_local_day
from tests.factories import UserFactory
from tests.services.test_streaks import FRIEND_STREAK_FIELDS, FRIEND_STREAK_RESET, practise, practise_late

UTC = dt.UTC
# UTC-12 .. UTC+14; the sign of the Etc names is reversed.
WHOLE_HOUR_ZONES = [f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT" for offset in range(-12, 15)]
UTC_HOURS = [0, 5, 11, 17, 21, 23]


def expected_friend_streak(*, created_at: dt.datetime, zones, counted, now: dt.datetime) -> int:
    """SPEC §4.2 by brute force: the run of consecutive days of the friendship on which both
    friends had a counted day (each on their own local date) that contains the latest such day;
    0 once either friend has let a day after it end without a counted day."""
    done = []
    for tz_name, dates in zip(zones, counted, strict=True):
        start = local_date(created_at, tz_name)
        done.append({days_between(start, date) for date in dates if date >= start})
    shared = done[0] & done[1]
    if not shared:
        return 0
    last = max(shared)
    length = 1
    while last - length in shared:
        length += 1
    for tz_name, days in zip(zones, done, strict=True):
        today = local_day_number(now, since=created_at, tz_name=tz_name)
        if any(day not in days for day in range(last + 1, today)):
            return 0
    return length


READ_FIELDS = ("pk", "user_low_id", "user_high_id", "active", "created_at", *FRIEND_STREAK_FIELDS)


def shown_streaks(now: dt.datetime, *, of_user=None) -> dict[tuple[int, int], int]:
    """Every active friendship's (or ``of_user``'s) friend streak as the API shows it at ``now``:
    the selector the API uses, on the stored fields. (Plain objects carry them: building hundreds
    of model instances for each of the many reads would make this module slow.)"""
    friendships = Friendship.objects.filter(active=True)
    if of_user is not None:
        friendships = friendships.filter(Q(user_low=of_user) | Q(user_high=of_user))
    rows = friendships.values_list(*READ_FIELDS, "user_low__timezone", "user_high__timezone")
    friendships = []
    for *fields, low_tz, high_tz in rows:
        friendship = SimpleNamespace(**dict(zip(READ_FIELDS, fields, strict=True)))
        friendship.user_low, friendship.user_high = SimpleNamespace(timezone=low_tz), SimpleNamespace(timezone=high_tz)
        friendships.append(friendship)
    with time_machine.travel(now, tick=False):
        values = friend_streaks(friendships=friendships)
    return {(f.user_low_id, f.user_high_id): values[f.pk] for f in friendships}


def befriend_everyone(users, created_at: dt.datetime) -> None:
    Friendship.objects.bulk_create(
        [
            Friendship(user_low_id=min(a.pk, b.pk), user_high_id=max(a.pk, b.pk), created_at=created_at)
            for a, b in itertools.combinations(users, 2)
        ]
    )


def end_of_day(number: int, *, created_at: dt.datetime, tz_name: str) -> dt.datetime:
    """The instant day ``number`` of a friendship made at ``created_at`` ends for a friend in
    ``tz_name``."""
    return start_of_local_day(local_date(created_at, tz_name) + dt.timedelta(days=number + 1), tz_name)


# Every pair of whole-hour offsets ----------------------------------------------------------------
ROUNDS = 3


@pytest.mark.django_db
@pytest.mark.parametrize("hour", UTC_HOURS)
def test_every_pair_of_offsets_grows_once_per_day_and_falls_when_a_day_ends_unpractised(hour):
    # 27 learners, one per offset, all friends since `hour`:00 UTC; each day at the same instant
    # every one of them practises (in a shuffled order): that instant is day n for everyone.
    users = [UserFactory(timezone=tz_name) for tz_name in WHOLE_HOUR_ZONES]
    zone_of = {user.pk: user.timezone for user in users}
    created_at = dt.datetime(2025, 3, 3, hour, 0, tzinfo=UTC)
    befriend_everyone(users, created_at)
    rng = random.Random(hour)

    for n in range(ROUNDS):
        now = created_at + dt.timedelta(days=n, minutes=1)
        practised: set[int] = set()
        for user in rng.sample(users, len(users)):
            practise(user, now, seconds=150)
            practised.add(user.pk)
            # One more only once both friends have practised day n; never 0, never 2 more. (Only
            # the practising learner's friendships are written.)
            shown = shown_streaks(now, of_user=user)
            assert len(shown) == len(users) - 1
            assert shown == {pair: n + (pair[0] in practised and pair[1] in practised) for pair in shown}
        # Until each friend's day n + 1 is over, nothing changes.
        for later in (dt.timedelta(hours=6), dt.timedelta(hours=12), dt.timedelta(hours=23, minutes=58)):
            assert set(shown_streaks(now + later).values()) == {n + 1}

    # Day ROUNDS: every other learner skips it (a different half for each hour).
    now = created_at + dt.timedelta(days=ROUNDS, minutes=1)
    skippers = {user.pk for i, user in enumerate(users) if (i + hour) % 2 == 0}
    for user in users:
        if user.pk not in skippers:
            practise(user, now, seconds=150)
    ends = {pk: end_of_day(ROUNDS, created_at=created_at, tz_name=tz_name) for pk, tz_name in zone_of.items()}
    moments = sorted({end + delta for end in ends.values() for delta in (dt.timedelta(seconds=-1), dt.timedelta())})
    assert moments[0] > now
    for moment in moments:
        shown = shown_streaks(moment)
        for (low, high), value in shown.items():
            # 0 exactly when the first of the skipped days is over, not before.
            missed = [ends[pk] for pk in (low, high) if pk in skippers]
            expected = ROUNDS + 1 if not missed else ROUNDS if moment < min(missed) else 0
            assert value == expected, (zone_of[low], zone_of[high], moment)


# Random histories: live, rebuilt and the rule by brute force agree -----------------------------
ZONES = [
    *WHOLE_HOUR_ZONES[::3],
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/Copenhagen",
]
LEARNERS = 3
DAYS = 8
# For each learner and each day number 0..DAYS-1 of their friendships, on their own calendar:
# whether they practise that day, at which minute of it (23 hours: every local day has them),
# for how long, and how many hours later it is reported.
practice_plans = st.lists(
    st.tuples(
        st.sampled_from([True, True, True, True, True, False]),
        st.integers(min_value=0, max_value=23 * 60 - 1),
        st.sampled_from([60, 150, 150, 150]),
        st.sampled_from([0, 0, 0, 0, 0, 1, 20, 50]),
    ),
    min_size=LEARNERS * DAYS,
    max_size=LEARNERS * DAYS,
)


def counted_days(users) -> dict[int, set[dt.date]]:
    counted: dict[int, set[dt.date]] = {user.pk: set() for user in users}
    rows = PracticeDay.objects.filter(user__in=users, seconds__gte=120).values_list("user_id", "date")
    for user_id, date in rows:
        counted[user_id].add(date)
    return counted


def assert_shown_follows_the_rule(users, created_at: dt.datetime, now: dt.datetime) -> dict:
    shown = shown_streaks(now)
    counted = counted_days(users)
    zone_of = {user.pk: user.timezone for user in users}
    for (low, high), value in shown.items():
        expected = expected_friend_streak(
            created_at=created_at,
            zones=(zone_of[low], zone_of[high]),
            counted=(counted[low], counted[high]),
            now=now,
        )
        assert value == expected, (zone_of[low], zone_of[high], now)
    return shown


def friend_state() -> list[tuple]:
    return sorted(Friendship.objects.values_list("user_low_id", "user_high_id", *FRIEND_STREAK_FIELDS))


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=LEARNERS, max_size=LEARNERS),
    made_minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    plans=practice_plans,
)
def test_live_friend_streaks_follow_the_rule_and_a_rebuild_reproduces_them(zones, made_minute, plans):
    created_at = dt.datetime(2025, 3, 20, tzinfo=UTC) + dt.timedelta(minutes=made_minute)  # DST in between
    events = []  # (reported at, learner, occurred at, seconds)
    for (who, day), (practises, minute, seconds, late_hours) in zip(
        itertools.product(range(LEARNERS), range(DAYS)), plans, strict=True
    ):
        if practises:
            date = local_date(created_at, zones[who]) + dt.timedelta(days=day)
            occurred = start_of_local_day(date, zones[who]) + dt.timedelta(minutes=minute)
            # Practice from before the friendship is reported after it was made.
            reported = max(occurred + dt.timedelta(hours=late_hours), created_at + dt.timedelta(minutes=1))
            events.append((reported, who, occurred, seconds))
    events.sort(key=lambda event: event[0])

    with transaction.atomic():
        users = [UserFactory(timezone=tz_name) for tz_name in zones]
        befriend_everyone(users, created_at)
        for reported, who, occurred, seconds in events:
            if reported == occurred:
                practise(users[who], occurred, seconds=seconds)
            else:
                practise_late(users[who], occurred, now=reported, seconds=seconds)
            assert_shown_follows_the_rule(users, created_at, reported)
        # Later reads, with every event in: live values against the rule, then against a rebuild.
        last = events[-1][0] if events else created_at
        reads = [last + dt.timedelta(hours=hours) for hours in range(0, 60, 5)]
        shown_live = [assert_shown_follows_the_rule(users, created_at, moment) for moment in reads]
        live_state = friend_state()

        PracticeDay.objects.all().delete()
        LanguageStreak.objects.all().delete()
        Friendship.objects.update(**FRIEND_STREAK_RESET)
        UserMetric.objects.filter(activity_type__code="STREAK_DAYS").delete()
        with time_machine.travel(reads[-1], tick=False):
            for user in users:
                streaks_rebuild(user_id=user.pk)

        assert friend_state() == live_state
        assert [shown_streaks(moment) for moment in reads] == shown_live
        transaction.set_rollback(True)
