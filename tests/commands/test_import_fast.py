"""The import's fast path for event lines (``EventImportSerializer.fast_internal_value``) takes
plainly valid lines with plain checks and returns exactly what the serializer returns; every
other line goes through the serializer, so rejections keep its reasons and wording."""

import copy
import datetime as dt
import random

import pytest
from django.utils import timezone

from gamification.serializers.imports import EventImportSerializer, _FastPath
from gamification.services.platform import platform_user_put
from tests.event_inputs import FIELDS, ODD_VALUES

NOW = timezone.now()
VALID = [
    {"type": "word_translated", "word": " Haus ", "language": "DE", "occurred_at": "2025-01-02T03:04:05+01:00"},
    {"type": "word_learned", "word": "straße", "language": "de", "occurred_at": "2025-01-02T03:04:05.123456Z"},
    {"type": "exercise_answered", "correct": False, "language": "fr", "occurred_at": "2024-06-30T23:59:59-07:00"},
    {"type": "audio_lesson_completed", "lesson_id": 17, "language": "de", "occurred_at": "2025-01-02T03:04:05Z"},
    {"type": "article_read", "article_id": " a-17 ", "language": "de", "occurred_at": "2025-01-02T03:04:05Z"},
    {
        "type": "practice",
        "kind": "reading",
        "duration_seconds": 90,
        "language": "de",
        "occurred_at": "2025-01-02T03:04:05+00:00",
        "idempotency_key": " spaced key ",
        "word": 12,  # a field of another type is ignored
    },
]
# Values that a field may refuse (or that the fast path leaves to the serializer).
ODD = [
    *ODD_VALUES,
    "2025-01-02T03:04:05",
    " 2025-01-02T03:04:05Z",
    "2025-01-02",
    (NOW + dt.timedelta(hours=1)).isoformat(),
    "9999-12-31T23:59:59-12:00",
    "7",
    "Ana",
]


@pytest.fixture
def serializer():
    user, _ = platform_user_put(external_id="u-7", username="ana")
    return EventImportSerializer(
        context={
            "now": NOW,
            "language_codes": frozenset({"de", "fr"}),
            "users_by_key": {"ana": user},
            "users_by_external_id": {"u-7": user},
        }
    )


def slow(serializer, line):
    try:
        return serializer.to_internal_value(copy.deepcopy(line))
    except Exception as error:
        return type(error)


@pytest.mark.django_db
def test_plainly_valid_lines_take_the_fast_path_with_the_serializers_result(serializer):
    fast = _FastPath(serializer)
    for line in VALID:
        for named in ({"external_user_id": "u-7"}, {"user": " ANA ", "external_user_id": None}):
            event = {**line, **named}
            got = fast(copy.deepcopy(event))
            assert got is not None, event
            assert got == serializer.to_internal_value(copy.deepcopy(event))
            assert serializer.fast_internal_value(copy.deepcopy(event)) == got


@pytest.mark.django_db
def test_the_fast_path_never_accepts_what_the_serializer_treats_otherwise(serializer):
    fast = _FastPath(serializer)
    rng = random.Random(3)
    taken = 0
    for _ in range(4000):
        event = {**rng.choice(VALID), "external_user_id": "u-7"}
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(FIELDS)
            if rng.random() < 0.2:
                event.pop(name, None)
            else:
                event[name] = rng.choice(ODD)
        got = fast(copy.deepcopy(event))
        if got is not None:
            taken += 1
            assert got == slow(serializer, event), event
        # Whatever the path, the public method gives the serializer's answer.
        try:
            public = serializer.fast_internal_value(copy.deepcopy(event))
        except Exception as error:
            public = type(error)
        assert public == slow(serializer, event), event
    assert taken > 100


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "practice", "duration_seconds": 60}',
        '{"a": 1, "a": 2}',
        '{"lesson_id": 12345678901234567890123}',
        '{"lesson_id": 18446744073709551616}',
        '{"n": 1e400}',
        '{"n": NaN}',
        '{"word": "\\ud800"}',
        '{"word": "Stra\\u00dfe", "x": [1, 2.5, -0.0, true, null]}',
        '{"a": ' * 600 + "1" + "}" * 600,
        '{"a": 1} trailing',
        "[1, 2]",
        "",
    ],
)
def test_lines_read_as_the_json_module_reads_them(line):
    """orjson reads most lines; what it would read differently (64-bit overflow, NaN, lone
    surrogates) or refuses goes to ``json``, whose result and error text are the reference."""
    import json

    from gamification.imports import _json_object

    try:
        expected = json.loads(line)
    except (ValueError, RecursionError) as error:
        expected_result = (None, {"detail": f"Not valid JSON: {str(error)[:200]}"})
    else:
        expected_result = (
            (expected, None) if isinstance(expected, dict) else (None, {"detail": "Each line must be a JSON object."})
        )
    value, error = _json_object(line)
    assert repr((value, error)) == repr(expected_result)
