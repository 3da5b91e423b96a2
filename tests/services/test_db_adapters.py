"""``services.db.utc_datetime_adapter``: the bulk statements' fast adapter gives Django's text."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection

from gamification.services.db import utc_datetime_adapter

VALUES = [
    dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2025, 3, 30, 1, 59, 59, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Copenhagen")),
    dt.datetime(2024, 12, 31, 23, 30, tzinfo=zoneinfo.ZoneInfo("Pacific/Kiritimati")),
    dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
    dt.datetime(2025, 6, 1, 12, 0),  # naive: Django's own handling
]


@pytest.mark.django_db
@pytest.mark.parametrize("value", VALUES, ids=str)
def test_the_fast_adapter_gives_djangos_text(value):
    assert utc_datetime_adapter()(value) == connection.ops.adapt_datetimefield_value(value)


@pytest.mark.django_db
def test_the_adapter_is_the_fast_one_on_a_utc_connection():
    assert utc_datetime_adapter() != connection.ops.adapt_datetimefield_value


TRICKY = [
    "it's",
    'say "hi"',
    "back\\slash",
    "100% %s %(x)s",
    "naïve Straße 🦊",
    "line\nbreak\ttab",
    "\\'; DROP TABLE x; --",
]


@pytest.mark.django_db
def test_rows_insert_stores_every_value_as_given_and_counts_what_it_inserted():
    from gamification.models import ActivityEvent
    from gamification.services.db import rows_insert
    from gamification.services.events import sha256_hex
    from tests.factories import UserFactory

    user = UserFactory()
    at = utc_datetime_adapter()(dt.datetime(2025, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC))
    columns = [
        "user_id",
        "type",
        "occurred_at",
        "received_at",
        "language_id",
        "idempotency_key",
        "idempotency_hash",
        "reported_by_id",
        "word",
        "correct",
        "item_id",
        "kind",
        "duration_seconds",
    ]
    rows = [
        (user.pk, "word_translated", at, at, "de", word, sha256_hex(word), None, word, n % 2 == 0, "", "", None)
        for n, word in enumerate(TRICKY)
    ]
    rows.append((user.pk, "practice", at, at, "de", "p", sha256_hex("p"), None, "", None, "", "reading", 60))

    assert rows_insert(ActivityEvent, columns, rows, ignore_conflicts=True, batch=3) == len(TRICKY) + 1
    # The same keys again: every row is refused by the unique constraint, and none is counted.
    assert rows_insert(ActivityEvent, columns, rows, ignore_conflicts=True, batch=3) == 0

    stored = {e.idempotency_key: e for e in ActivityEvent.objects.filter(user=user)}
    for n, word in enumerate(TRICKY):
        assert (stored[word].word, stored[word].correct) == (word, n % 2 == 0)
        assert stored[word].occurred_at == dt.datetime(2025, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    assert (stored["p"].duration_seconds, stored["p"].correct, stored["p"].reported_by_id) == (60, None, None)


@pytest.mark.django_db
def test_rows_insert_refuses_values_it_was_not_given_adapted():
    from gamification.models import ActivityEvent
    from gamification.services.db import rows_insert

    if connection.vendor != "mysql":
        pytest.skip("SQLite's driver adapts values itself")
    with pytest.raises(TypeError, match="adapted values"):
        rows_insert(ActivityEvent, ["duration_seconds"], [(1.5,)])
