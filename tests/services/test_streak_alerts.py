"""``streak.at_risk`` (SPEC §11.3): once per user, language and local day, in the user's local
evening, only while the streak is above 0 and today does not count yet. Frozen clocks."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from gamification.models import RestDay, StreakAtRiskNotice, WebhookDelivery
from gamification.services.streak_alerts import streak_notices_purge, streaks_at_risk_scan
from gamification.services.streaks import practice_record
from gamification.services.webhooks import webhook_endpoint_put
from tests.factories import UserFactory
from tests.threads import run_in_threads

BERLIN = "Europe/Berlin"  # UTC+2 in June
TOKYO = "Asia/Tokyo"  # UTC+9


def at(tz_name: str, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 6, day, hour, minute, tzinfo=ZoneInfo(tz_name))


def practise(user, when: dt.datetime, language: str = "de", seconds: int = 120) -> None:
    with time_machine.travel(when, tick=False):
        practice_record(user=user, language_id=language, occurred_at=when, seconds=seconds)


def scan(when: dt.datetime) -> int:
    with time_machine.travel(when, tick=False):
        return streaks_at_risk_scan()


def events() -> list[dict]:
    return [row.data for row in WebhookDelivery.objects.filter(event_type="streak.at_risk").order_by("id")]


@pytest.fixture
def subscribed(db):
    return webhook_endpoint_put(url="https://hooks.example.org/s", secret="x", event_types=["streak.at_risk"])[0]


@pytest.fixture
def learner(db):
    """A Berlin learner with a 3-day German streak ending on 10 June (local)."""
    user = UserFactory(username="streaker", timezone=BERLIN)
    for day in (8, 9, 10):
        practise(user, at(BERLIN, day, 9))
    return user


@pytest.mark.usefixtures("subscribed")
class TestAtRisk:
    def test_not_before_the_local_evening(self, learner):
        assert scan(at(BERLIN, 11, 18, 59)) == 0
        assert not WebhookDelivery.objects.exists()

    def test_at_19_local_once_with_the_payload(self, learner):
        assert scan(at(BERLIN, 11, 19, 0)) == 1
        assert events() == [
            {
                "user": {"username": "streaker", "external_id": None},
                "language": "de",
                "daily_streak": 3,
                "local_deadline": "2025-06-12T00:00:00+02:00",
                "freeze_would_be_spent": False,
                "freezes_held": 0,
            }
        ]

    def test_once_per_day_however_often_it_scans(self, learner):
        for minute in (0, 1, 30):
            scan(at(BERLIN, 11, 19, minute))
        scan(at(BERLIN, 11, 23, 59))
        assert len(events()) == 1
        assert StreakAtRiskNotice.objects.count() == 1

    def test_not_when_today_already_counts(self, learner):
        practise(learner, at(BERLIN, 11, 8))
        assert scan(at(BERLIN, 11, 20)) == 0

    def test_sent_when_today_is_practised_but_does_not_count_yet(self, learner):
        practise(learner, at(BERLIN, 11, 8), seconds=60)  # below the 2 minutes
        assert scan(at(BERLIN, 11, 20)) == 1

    def test_not_when_the_streak_is_zero(self, learner):
        assert scan(at(BERLIN, 12, 20)) == 0  # 11 June was missed: the streak is over

    def test_again_the_next_evening_when_yesterday_was_saved(self, learner):
        scan(at(BERLIN, 11, 19))
        practise(learner, at(BERLIN, 11, 21))
        assert scan(at(BERLIN, 12, 19)) == 1
        assert [e["daily_streak"] for e in events()] == [3, 4]
        assert events()[1]["local_deadline"] == "2025-06-13T00:00:00+02:00"

    def test_one_event_per_language(self, learner):
        for day in (9, 10):
            practise(learner, at(BERLIN, day, 10), language="fr")
        scan(at(BERLIN, 11, 19, 30))
        assert sorted((e["language"], e["daily_streak"]) for e in events()) == [("de", 3), ("fr", 2)]

    def test_each_user_in_their_own_evening(self, learner):
        tokyo = UserFactory(username="tokyo", timezone=TOKYO)
        for day in (9, 10):
            practise(tokyo, at(TOKYO, day, 9))
        # 19:00 in Tokyo is 12:00 in Berlin: only the Tokyo learner's evening.
        assert scan(at(TOKYO, 11, 19)) == 1
        assert events()[0]["user"]["username"] == "tokyo"
        assert events()[0]["local_deadline"] == "2025-06-12T00:00:00+09:00"
        assert scan(at(BERLIN, 11, 19)) == 1
        assert [e["user"]["username"] for e in events()] == ["tokyo", "streaker"]

    def test_the_evening_hour_is_a_setting(self, learner, settings):
        settings.WEBHOOK_STREAK_AT_RISK_TIME = "21:30"
        assert scan(at(BERLIN, 11, 21, 29)) == 0
        assert scan(at(BERLIN, 11, 21, 30)) == 1

    def test_purge_forgets_notices_of_days_long_over(self, learner):
        scan(at(BERLIN, 11, 19))
        with time_machine.travel(at(BERLIN, 20, 12), tick=False):
            assert streak_notices_purge() == 1


@pytest.mark.usefixtures("subscribed")
class TestAtRiskWithStreakProtection:
    def test_no_warning_on_a_rest_day(self, learner):
        RestDay.objects.create(user=learner, start=dt.date(2025, 6, 11), end=dt.date(2025, 6, 11))

        assert scan(at(BERLIN, 11, 20)) == 0
        assert scan(at(BERLIN, 12, 20)) == 1  # the day after the rest, at risk again
        assert events()[0]["daily_streak"] == 3

    def test_the_payload_says_a_freeze_would_be_spent(self):
        user = UserFactory(timezone=BERLIN)
        for day in range(1, 8):  # 1..7 June: the 7th counted day earns a freeze
            practise(user, at(BERLIN, day, 9))

        assert scan(at(BERLIN, 8, 20)) == 1
        assert events()[0]["freeze_would_be_spent"] is True
        assert events()[0]["freezes_held"] == 1

    def test_a_streak_alive_through_a_freeze_is_still_warned_and_would_break(self):
        user = UserFactory(timezone=BERLIN)
        for day in range(1, 8):
            practise(user, at(BERLIN, day, 9))

        # 8 June missed and frozen; on 9 June the streak is 7 with no freeze left.
        assert scan(at(BERLIN, 9, 20)) == 1
        assert events()[0]["daily_streak"] == 7
        assert events()[0]["freeze_would_be_spent"] is False

    def test_a_streak_alive_over_rest_days_is_warned_after_them(self, learner):
        RestDay.objects.create(user=learner, start=dt.date(2025, 6, 11), end=dt.date(2025, 6, 15))

        assert scan(at(BERLIN, 16, 20)) == 1  # last counted 10 June, six days ago
        assert events()[0]["daily_streak"] == 3


def test_nothing_is_scanned_or_written_without_a_subscriber(learner, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert scan(at(BERLIN, 11, 20)) == 0
    assert not StreakAtRiskNotice.objects.exists()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_emit_once():
    webhook_endpoint_put(url="https://hooks.example.org/s", secret="x", event_types=["streak.at_risk"])
    users = [UserFactory(timezone=BERLIN) for _ in range(20)]
    for user in users:
        for day in (9, 10):
            practise(user, at(BERLIN, day, 9))

    with time_machine.travel(at(BERLIN, 11, 19, 5), tick=False):
        errors = run_in_threads(4, lambda _: streaks_at_risk_scan())

    assert errors == []
    assert WebhookDelivery.objects.filter(event_type="streak.at_risk").count() == 20
    assert StreakAtRiskNotice.objects.count() == 20
