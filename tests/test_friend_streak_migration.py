"""Stored friend streaks are recomputed on day numbers of the friendship by the upgrade
(migration gamification 0010), with the values live recording gives."""

import datetime as dt
import importlib
import random

import pytest
from django.apps import apps as django_apps

from gamification.models import Friendship
from tests.factories import UserFactory, make_friends
from tests.services.test_streaks import FRIEND_STREAK_FIELDS, FRIEND_STREAK_RESET, practise

_migration = importlib.import_module("gamification.migrations.0010_friend_streak_day_numbers")
UTC = dt.UTC


def recompute() -> None:
    _migration.recompute_friend_streaks(django_apps, None)


def state(friendship: Friendship) -> tuple:
    return Friendship.objects.filter(pk=friendship.pk).values_list(*FRIEND_STREAK_FIELDS).get()


@pytest.mark.django_db
class TestRecompute:
    def test_los_angeles_and_tokyo_get_the_days_they_shared(self):
        la, tokyo = UserFactory(timezone="America/Los_Angeles"), UserFactory(timezone="Asia/Tokyo")
        friendship = make_friends(la, tokyo, since=dt.datetime(2025, 12, 1, 21, 40, tzinfo=UTC))
        for day in range(2):
            for user in (la, tokyo):
                practise(user, dt.datetime(2025, 12, 1 + day, 21, 44, tzinfo=UTC), seconds=150)
        practise(la, dt.datetime(2025, 12, 3, 21, 44, tzinfo=UTC), seconds=150)
        Friendship.objects.update(**FRIEND_STREAK_RESET)  # what the old rule had stored: nothing shared

        recompute()

        # Days 0 and 1 shared; Los Angeles went on to day 2.
        assert state(friendship) == (2, 0, 1, 2, 1)

    def test_the_values_are_those_of_live_recording_and_a_second_run_changes_nothing(self):
        rng = random.Random(14)
        zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Los_Angeles", "Asia/Tokyo", "Etc/GMT+12"]
        users = [UserFactory(timezone=zone) for zone in zones]
        made = dt.datetime(2025, 5, 1, 10, 30, tzinfo=UTC)
        for i, a in enumerate(users):
            for b in users[i + 1 :]:
                make_friends(a, b, since=made)
        for hour in range(0, 12 * 24, 5):
            if rng.random() < 0.6:
                practise(rng.choice(users), made + dt.timedelta(hours=hour, minutes=1), seconds=150)
        live = sorted(Friendship.objects.values_list("pk", *FRIEND_STREAK_FIELDS))
        assert any(length > 1 for _, length, *_ in live)
        Friendship.objects.update(**FRIEND_STREAK_RESET)

        recompute()
        recompute()

        assert sorted(Friendship.objects.values_list("pk", *FRIEND_STREAK_FIELDS)) == live

    def test_an_ended_friendship_counts_the_days_until_it_ended(self):
        alice, bob = UserFactory(), UserFactory()
        friendship = make_friends(alice, bob, since=dt.datetime(2025, 5, 1, 8, tzinfo=UTC))
        for day in (1, 2, 3, 4):
            for user in (alice, bob):
                practise(user, dt.datetime(2025, 5, day, 12, tzinfo=UTC))
        Friendship.objects.filter(pk=friendship.pk).update(
            active=None, ended_at=dt.datetime(2025, 5, 2, 18, tzinfo=UTC), **FRIEND_STREAK_RESET
        )

        recompute()

        assert state(friendship) == (2, 0, 1, 1, 1)
