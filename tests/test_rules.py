"""The registry of activity types (gamification.rules) and the check that compares it with the
loaded catalogue."""

import json
from pathlib import Path

import pytest

from gamification.checks import check_catalogue_matches_rules
from gamification.models import ActivityType, AwardMechanism
from gamification.rules import COUNTED_ONCE, EVENT_FED_CODES, RULES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "default_badges.json"


def check() -> list:
    return check_catalogue_matches_rules(None, databases=["default"])


def test_the_default_catalogue_has_a_row_for_every_rule_and_no_other():
    rows = json.loads(FIXTURE.read_text())
    types = {
        row["fields"]["code"]: row["fields"]["award_mechanism"] for row in rows if row["model"].endswith("activitytype")
    }
    assert types == {code: rule.mechanism for code, rule in RULES.items()}


def test_every_event_fed_counter_names_its_event_type():
    assert set(EVENT_FED_CODES) == {code for _, code in COUNTED_ONCE.values()} | {"CORRECT_EXERCISES"}
    assert all(RULES[code].mechanism == AwardMechanism.COUNTER for code in EVENT_FED_CODES)


@pytest.mark.django_db
def test_the_loaded_default_catalogue_passes():
    assert check() == []


@pytest.mark.django_db
def test_a_type_no_rule_feeds_is_an_error():
    ActivityType.objects.create(code="MINUTES_DANCED", name="Dancer", award_mechanism=AwardMechanism.COUNTER)

    (message,) = check()

    assert message.id == "gamification.E001"
    assert "MINUTES_DANCED" in message.msg


@pytest.mark.django_db
def test_a_type_with_another_mechanism_than_its_rule_is_an_error():
    ActivityType.objects.filter(code="FRIENDS").update(award_mechanism=AwardMechanism.COUNTER)

    (message,) = check()

    assert message.id == "gamification.E002"
    assert "FRIENDS" in message.msg


@pytest.mark.django_db
def test_a_rule_without_its_row_is_a_warning():
    ActivityType.objects.filter(code="READ_ARTICLES").delete()

    (message,) = check()

    assert message.id == "gamification.W002"
    assert "READ_ARTICLES" in message.msg


def test_without_a_database_the_check_is_skipped():
    assert check_catalogue_matches_rules(None, databases=None) == []
