"""The live API's plain checks (``serializers.events.LiveEventCheck``) accept only what
``EventInputSerializer`` accepts, with the serializer's result; everything else (every error,
every 403) still comes from the serializer."""

import copy
import datetime as dt
import random

import pytest
from django.contrib.auth.models import Permission
from rest_framework.exceptions import PermissionDenied, ValidationError

from gamification.serializers.events import EventInputSerializer, LiveEventCheck, events_input_validate
from gamification.services.platform import platform_user_put
from tests.event_inputs import FIELDS, ODD_VALUES
from tests.factories import UserFactory

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
VALID = [
    {"type": "word_translated", "word": " Haus ", "language": "DE", "occurred_at": "2025-03-10T03:04:05+01:00"},
    {"type": "word_learned", "word": "straße", "language": "de", "occurred_at": "2025-02-09T12:00:00Z"},
    {"type": "exercise_answered", "correct": False, "language": "fr"},
    {"type": "audio_lesson_completed", "lesson_id": 17, "language": "de", "occurred_at": "2025-03-10T12:04:59Z"},
    {"type": "article_read", "article_id": " a-17 ", "language": "de", "idempotency_key": None},
    {
        "type": "practice",
        "kind": "reading",
        "duration_seconds": 90,
        "language": "de",
        "occurred_at": "2025-03-01T03:04:05-07:00",
        "idempotency_key": " spaced key ",
        "word": 12,  # a field of another type is ignored
    },
]
ODD = [
    *ODD_VALUES,
    "2025-03-10T03:04:05",
    " 2025-03-10T03:04:05Z",
    "2025-03-10",
    "2025-03-10T12:05:00Z",  # the last second of the allowed clock skew
    "2025-03-10T12:05:00.000001Z",
    "2025-02-08T12:00:00Z",  # exactly 30 days old
    "2025-02-08T11:59:59.999999Z",
    "ana",
    " ANA ",
    "bob",
    "u-8",
]


@pytest.fixture
def people():
    ana = UserFactory(username="ana")
    bob, _ = platform_user_put(external_id="u-7", username="bob")
    return ana, bob


def context(reporter, bob, *, may_report_for_others: bool) -> dict:
    return {
        "reporter": reporter,
        "now": NOW,
        "language_codes": frozenset({"de", "fr"}),
        "may_report_for_others": may_report_for_others,
        "users_by_key": {"bob": bob} if may_report_for_others else {},
        "users_by_external_id": {"u-7": bob} if may_report_for_others else {},
    }


def slow(serializer, event):
    try:
        return serializer.to_internal_value(copy.deepcopy(event))
    except (ValidationError, PermissionDenied) as error:
        return type(error)


@pytest.mark.django_db
@pytest.mark.parametrize("may_report_for_others", [False, True], ids=["learner", "service account"])
def test_plainly_valid_events_take_the_plain_checks_with_the_serializers_result(people, may_report_for_others):
    ana, bob = people
    serializer = EventInputSerializer(context=context(ana, bob, may_report_for_others=may_report_for_others))
    check = LiveEventCheck(serializer)
    named = [{}, {"user": " ANA "}, {"user": None}, {"external_user_id": None}]
    if may_report_for_others:
        named += [{"user": "Bob"}, {"external_user_id": "u-7"}, {"user": None, "external_user_id": "u-7"}]
    for event in VALID:
        for naming in named:
            line = {**event, **naming}
            got = check(copy.deepcopy(line))
            assert got is not None, line
            assert got == serializer.to_internal_value(copy.deepcopy(line)), line


@pytest.mark.django_db
@pytest.mark.parametrize("may_report_for_others", [False, True], ids=["learner", "service account"])
def test_the_plain_checks_never_accept_what_the_serializer_treats_otherwise(people, may_report_for_others):
    ana, bob = people
    serializer = EventInputSerializer(context=context(ana, bob, may_report_for_others=may_report_for_others))
    check = LiveEventCheck(serializer)
    rng = random.Random(5)
    taken = refused = 0
    for _ in range(4000):
        event = dict(rng.choice(VALID))
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(FIELDS)
            if rng.random() < 0.2:
                event.pop(name, None)
            else:
                event[name] = rng.choice(ODD)
        expected = slow(serializer, event)
        got = check(copy.deepcopy(event))
        if got is not None:
            taken += 1
            assert got == expected, event
        elif isinstance(expected, type):
            refused += 1
    assert taken > 100 and refused > 100


@pytest.mark.django_db
def test_validation_gives_the_serializers_answers_for_batches_and_single_events(people, settings):
    ana, bob = people
    account = UserFactory(username="platform")
    account.user_permissions.add(Permission.objects.get(codename="report_events_for_others"))
    account = type(account).objects.get(pk=account.pk)  # fresh permission cache
    event = {"type": "word_translated", "word": "Haus", "language": "de"}

    events, batch = events_input_validate(reporter=ana, data={"events": [event, {**event, "user": "ana"}]})
    assert batch and [e["user"] for e in events if "user" in e] == [ana]
    events, batch = events_input_validate(reporter=account, data={"events": [{**event, "external_user_id": "u-7"}]})
    assert events[0]["user"] == bob
    events, batch = events_input_validate(reporter=ana, data=event)
    assert not batch and events[0]["word"] == "Haus" and "occurred_at" in events[0]

    # One invalid event: the serializer's 400, in the list shape, naming its index.
    with pytest.raises(ValidationError) as error:
        events_input_validate(reporter=ana, data={"events": [event, {**event, "language": "xx"}]})
    assert error.value.detail["events"][0] == {}
    assert "language" in error.value.detail["events"][1]
    # Naming someone else without the permission: 403 for the whole batch.
    with pytest.raises(PermissionDenied):
        events_input_validate(reporter=ana, data={"events": [event, {**event, "user": "bob"}]})
    with pytest.raises(PermissionDenied):
        events_input_validate(reporter=ana, data={**event, "external_user_id": "u-7"})
    # An empty or oversized batch is the serializer's to refuse.
    for size in (0, 501):
        with pytest.raises(ValidationError):
            events_input_validate(reporter=ana, data={"events": [event] * size})


@pytest.mark.django_db
def test_plainly_valid_requests_never_reach_the_serializers_fields(people, monkeypatch):
    ana, _ = people
    event = {"type": "practice", "kind": "reading", "duration_seconds": 60, "language": "de"}

    def refuse(self, data):
        raise AssertionError("the serializer ran")

    monkeypatch.setattr(EventInputSerializer, "to_internal_value", refuse)
    events, _ = events_input_validate(reporter=ana, data={"events": [event] * 50})
    assert len(events) == 50
    assert events_input_validate(reporter=ana, data=event)[0][0]["duration_seconds"] == 60
    with pytest.raises(AssertionError, match="the serializer ran"):
        events_input_validate(reporter=ana, data={**event, "duration_seconds": 0})
