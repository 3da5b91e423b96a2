import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gamification.models import ActivityEvent, ActivityType, Badge, FirstOccurrence, UserBadge, UserMetric
from gamification.services.events import events_record, sha256_hex
from tests.factories import UserFactory
from tests.threads import run_in_threads


def metric(user, code: str) -> int:
    row = UserMetric.objects.filter(user=user, activity_type__code=code).first()
    return row.value if row else 0


def levels(user, code: str) -> list[int]:
    return sorted(
        UserBadge.objects.filter(user=user, badge__activity_type__code=code).values_list("badge__level", flat=True)
    )


def set_metrics(user, **values: int) -> None:
    for code, value in values.items():
        UserMetric.objects.create(user=user, activity_type=ActivityType.objects.get(code=code), value=value)


def translated(*words: str, language: str = "de", **extra) -> list[dict]:
    now = extra.pop("occurred_at", None) or timezone.now()
    return [{"type": "word_translated", "word": w, "language": language, "occurred_at": now, **extra} for w in words]


def exercise(correct: bool = True, **extra) -> dict:
    return {"type": "exercise_answered", "correct": correct, "language": "de", "occurred_at": timezone.now(), **extra}


def sqlite_extra_insert_chunks(n_events: int) -> int:
    """Django splits a bulk insert on SQLite into chunks of 999 parameters (MariaDB takes it in
    one statement): the only way a bigger batch may cost more queries."""
    if connection.vendor != "sqlite":
        return 0
    fields = [f for f in ActivityEvent._meta.concrete_fields if not f.primary_key and not f.generated]
    per_chunk = connection.ops.bulk_batch_size(fields, [None] * n_events)
    return math.ceil(n_events / per_chunk) - 1


@pytest.mark.django_db
class TestCounting:
    def test_jump_from_0_to_600_translated_words_awards_levels_1_to_3_at_once(self, user):
        result = events_record(reporter=user, events=translated(*[f"wort{i}" for i in range(600)]))

        assert result.accepted == 600
        assert result.duplicates == 0
        assert metric(user, "TRANSLATED_WORDS") == 600
        assert levels(user, "TRANSLATED_WORDS") == [1, 2, 3]
        assert sorted(new.badge.level for new in result.new_badges) == [1, 2, 3]
        assert {new.user.pk for new in result.new_badges} == {user.pk}

    def test_a_word_counts_once_per_language_ignoring_case_and_whitespace(self, user):
        events_record(reporter=user, events=translated("Haus", " haus ", "HAUS"))
        result = events_record(reporter=user, events=translated("hAuS\t"))

        assert result.accepted == 1  # stored in the log, not counted again
        assert ActivityEvent.objects.filter(user=user).count() == 4
        assert metric(user, "TRANSLATED_WORDS") == 1
        occurrence = FirstOccurrence.objects.get(user=user)
        assert occurrence.kind == "translated_word"
        assert occurrence.key == "de:haus"
        assert occurrence.key_hash == sha256_hex("de:haus")

    def test_case_folding_is_unicode_aware(self, user):
        events_record(reporter=user, events=translated("Straße", "STRASSE"))
        assert metric(user, "TRANSLATED_WORDS") == 1

    def test_the_same_word_in_two_languages_counts_twice(self, user):
        events_record(reporter=user, events=[*translated("die"), *translated("die", language="en")])
        assert metric(user, "TRANSLATED_WORDS") == 2

    def test_words_count_per_user(self, user):
        other = UserFactory()
        events_record(reporter=user, events=translated("haus"))
        events_record(reporter=other, events=translated("haus"))
        assert metric(user, "TRANSLATED_WORDS") == 1
        assert metric(other, "TRANSLATED_WORDS") == 1

    def test_learned_words_are_counted_apart_from_translated_ones(self, user):
        now = timezone.now()
        events_record(
            reporter=user,
            events=[
                *translated("haus"),
                {"type": "word_learned", "word": "Haus", "language": "de", "occurred_at": now},
                {"type": "word_learned", "word": "haus ", "language": "de", "occurred_at": now},
            ],
        )
        assert metric(user, "TRANSLATED_WORDS") == 1
        assert metric(user, "LEARNED_WORDS") == 1
        assert levels(user, "LEARNED_WORDS") == [1]

    def test_a_lesson_counts_once_per_user_whatever_the_language(self, user):
        now = timezone.now()
        lesson = {"type": "audio_lesson_completed", "lesson_id": "42", "occurred_at": now}
        events_record(reporter=user, events=[{**lesson, "language": "de"}, {**lesson, "language": "fr"}])
        events_record(reporter=user, events=[{**lesson, "lesson_id": "43", "language": "de"}])
        assert metric(user, "COMPLETED_AUDIO_LESSONS") == 2

    def test_an_article_counts_once_per_user(self, user):
        now = timezone.now()
        read = [{"type": "article_read", "article_id": a, "language": "de", "occurred_at": now} for a in "1123"]
        events_record(reporter=user, events=read)
        assert metric(user, "READ_ARTICLES") == 3

    def test_only_correct_exercises_count(self, user):
        events_record(reporter=user, events=[exercise(True), exercise(False), exercise(True)])
        assert metric(user, "CORRECT_EXERCISES") == 2

    def test_a_late_duplicate_that_happened_earlier_becomes_the_first_occurrence(self, user):
        now = timezone.now()
        events_record(reporter=user, events=translated("haus", occurred_at=now))
        events_record(reporter=user, events=translated("Haus", occurred_at=now - dt.timedelta(days=3)))
        events_record(reporter=user, events=translated("HAUS", occurred_at=now - dt.timedelta(days=1)))

        assert FirstOccurrence.objects.get(user=user).occurred_at == now - dt.timedelta(days=3)
        assert metric(user, "TRANSLATED_WORDS") == 1

    def test_within_a_batch_the_earliest_occurrence_is_kept(self, user):
        now = timezone.now()
        events = [*translated("haus", occurred_at=now), *translated("haus", occurred_at=now - dt.timedelta(hours=5))]
        events_record(reporter=user, events=events)
        assert FirstOccurrence.objects.get(user=user).occurred_at == now - dt.timedelta(hours=5)

    def test_a_missing_activity_type_still_stores_the_event(self, user):
        ActivityType.objects.filter(code="TRANSLATED_WORDS").delete()

        result = events_record(reporter=user, events=[*translated("haus"), exercise()])

        assert result.accepted == 2
        assert ActivityEvent.objects.filter(user=user).count() == 2
        assert metric(user, "CORRECT_EXERCISES") == 1
        assert not UserMetric.objects.filter(user=user, activity_type__code="TRANSLATED_WORDS").exists()

    def test_events_are_stored_as_given(self, user):
        at = timezone.now() - dt.timedelta(hours=1)
        events_record(
            reporter=user,
            events=[
                {"type": "practice", "kind": "reading", "duration_seconds": 90, "language": "fr", "occurred_at": at},
                {"type": "article_read", "article_id": " 77 ", "language": "fr", "occurred_at": at},
            ],
        )
        practice = ActivityEvent.objects.get(user=user, type="practice")
        assert (practice.kind, practice.duration_seconds, practice.language_id, practice.occurred_at) == (
            "reading",
            90,
            "fr",
            at,
        )
        assert practice.reported_by is None
        assert ActivityEvent.objects.get(user=user, type="article_read").item_id == "77"


@pytest.mark.django_db
class TestIdempotency:
    def test_the_same_key_in_a_later_call_is_a_duplicate(self, user):
        first = events_record(reporter=user, events=[exercise(idempotency_key="answer-1")])
        again = events_record(reporter=user, events=[exercise(idempotency_key="answer-1")])

        assert (first.accepted, first.duplicates) == (1, 0)
        assert (again.accepted, again.duplicates) == (0, 1)
        assert ActivityEvent.objects.filter(user=user).count() == 1
        assert metric(user, "CORRECT_EXERCISES") == 1

    def test_the_same_key_twice_in_one_batch_counts_once(self, user):
        result = events_record(
            reporter=user,
            events=[exercise(idempotency_key="k"), exercise(idempotency_key="k"), exercise(idempotency_key="K")],
        )
        assert (result.accepted, result.duplicates) == (2, 1)  # keys are exact: "K" is another key
        assert metric(user, "CORRECT_EXERCISES") == 2

    def test_keys_are_per_user(self, user):
        other = UserFactory()
        events_record(reporter=user, events=[exercise(idempotency_key="k")])
        result = events_record(reporter=other, events=[exercise(idempotency_key="k")])
        assert result.accepted == 1
        assert metric(other, "CORRECT_EXERCISES") == 1

    def test_a_duplicate_changes_nothing_even_when_its_fields_differ(self, user):
        events_record(reporter=user, events=translated("haus", idempotency_key="t-1"))
        events_record(reporter=user, events=translated("baum", idempotency_key="t-1"))
        assert metric(user, "TRANSLATED_WORDS") == 1
        assert not FirstOccurrence.objects.filter(key="de:baum").exists()

    def test_the_hash_of_the_key_is_stored(self, user):
        events_record(reporter=user, events=[exercise(idempotency_key="abc")])
        event = ActivityEvent.objects.get(user=user)
        assert (event.idempotency_key, event.idempotency_hash) == ("abc", sha256_hex("abc"))

    def test_keys_a_concurrent_request_stores_first_are_decided_by_the_constraint_row_by_row(self, user, monkeypatch):
        from gamification.services import events as events_module

        events_record(reporter=user, events=[*translated("alt"), exercise(idempotency_key="old")])
        real_insert = events_module._bulk_insert_or_refuse
        calls: list[str] = []

        def racing_insert(model, rows):
            """Another request stores key "new" and claims "de:neu" just before our inserts."""
            calls.append(model.__name__)
            if model is ActivityEvent and calls.count("ActivityEvent") == 2:  # after our read of the keys
                events_record(reporter=user, events=[exercise(idempotency_key="new")])
            if model is FirstOccurrence and calls.count("FirstOccurrence") == 1:  # after our read of the claims
                events_record(reporter=user, events=translated("neu"))
            return real_insert(model, rows)

        monkeypatch.setattr(events_module, "_bulk_insert_or_refuse", racing_insert)

        result = events_record(
            reporter=user,
            events=[
                *translated("alt", "neu", "NEU"),
                exercise(idempotency_key="old"),
                exercise(idempotency_key="new"),
                exercise(),
            ],
        )

        assert (result.accepted, result.duplicates) == (4, 2)
        assert metric(user, "TRANSLATED_WORDS") == 2  # alt, and neu counted by the other request
        assert metric(user, "CORRECT_EXERCISES") == 3  # old, new (other request), the unkeyed one
        assert ActivityEvent.objects.filter(user=user).count() == 8
        assert FirstOccurrence.objects.filter(user=user).count() == 2


@pytest.mark.django_db
class TestTransactionAndStreaks:
    def test_practice_events_go_to_the_streaks_service(self, user, monkeypatch):
        calls = []
        monkeypatch.setattr("gamification.services.streaks.practice_record", lambda **kw: calls.append(kw))
        at = timezone.now()

        events_record(
            reporter=user,
            events=[
                {"type": "practice", "kind": "listening", "duration_seconds": 300, "language": "es", "occurred_at": at},
                exercise(),
            ],
        )

        assert calls == [{"user": user, "language_id": "es", "occurred_at": at, "seconds": 300}]

    def test_a_failure_while_feeding_stores_nothing(self, user, monkeypatch):
        def boom(**kwargs):
            raise RuntimeError("streaks down")

        monkeypatch.setattr("gamification.services.streaks.practice_record", boom)
        events = [
            *translated(*[f"w{i}" for i in range(20)]),
            {"type": "practice", "kind": "reading", "duration_seconds": 60, "language": "de"},
        ]
        events[-1]["occurred_at"] = timezone.now()

        with pytest.raises(RuntimeError):
            events_record(reporter=user, events=events)

        assert not ActivityEvent.objects.filter(user=user).exists()
        assert not FirstOccurrence.objects.filter(user=user).exists()
        assert metric(user, "TRANSLATED_WORDS") == 0
        assert not UserBadge.objects.filter(user=user).exists()

    def test_events_for_another_user_record_the_reporter(self, user):
        learner = UserFactory()
        result = events_record(reporter=user, events=[exercise(user=learner)] * 10)

        assert metric(learner, "CORRECT_EXERCISES") == 10
        assert metric(user, "CORRECT_EXERCISES") == 0
        assert ActivityEvent.objects.filter(user=learner, reported_by=user).count() == 10
        assert [(new.user, new.badge.level) for new in result.new_badges] == [(learner, 1)]


@pytest.mark.django_db
class TestQueryCounts:
    def test_recording_one_event_costs_a_fixed_number_of_queries(self, user, django_assert_num_queries):
        events_record(reporter=user, events=translated("warm-up"))  # metric row exists, like a regular user's
        # Catalogue (1); the batch's transaction, a savepoint inside the test's (2); event insert in
        # a savepoint (3); first-occurrence read and insert in a savepoint (4); the metric rows
        # locked in one query (1); metric_increment joins the transaction: update, levels (2).
        with django_assert_num_queries(13):
            events_record(reporter=user, events=translated("haus"))

    def test_a_100_event_batch_costs_what_a_10_event_batch_costs(self, user):
        mixed = lambda n, tag: [  # noqa: E731
            *translated(*[f"{tag}{i}" for i in range(n // 2)]),
            *[exercise(idempotency_key=f"{tag}-{i}") for i in range(n - n // 2)],
        ]
        # Far from the next level, so that neither batch awards a badge.
        set_metrics(user, TRANSLATED_WORDS=1000, CORRECT_EXERCISES=1000)

        with CaptureQueriesContext(connection) as ten:
            events_record(reporter=user, events=mixed(10, "ten"))
        with CaptureQueriesContext(connection) as hundred:
            events_record(reporter=user, events=mixed(100, "hundred"))

        assert len(hundred) == len(ten) + sqlite_extra_insert_chunks(100)

    def test_a_batch_for_many_users_costs_per_user_not_per_event(self, user):
        learners = UserFactory.create_batch(3)
        batch = lambda n: [exercise(user=learners[i % 3]) for i in range(n)]  # noqa: E731
        for learner in learners:
            set_metrics(learner, CORRECT_EXERCISES=1000)

        with CaptureQueriesContext(connection) as small:
            events_record(reporter=user, events=batch(30))
        with CaptureQueriesContext(connection) as big:
            events_record(reporter=user, events=batch(60))

        assert len(big) == len(small)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_8_threads_of_200_correct_answers_end_at_1600_with_each_level_awarded_once():
    learner = UserFactory()

    def answer_200(index: int) -> None:
        for _ in range(200):
            events_record(reporter=learner, events=[exercise()])

    errors = run_in_threads(8, answer_200)

    assert errors == []
    assert metric(learner, "CORRECT_EXERCISES") == 1600
    reachable = Badge.objects.filter(activity_type__code="CORRECT_EXERCISES", threshold__lte=1600)
    awards = UserBadge.objects.filter(user=learner, badge__activity_type__code="CORRECT_EXERCISES")
    assert sorted(awards.values_list("badge__level", flat=True)) == sorted(reachable.values_list("level", flat=True))
    assert ActivityEvent.objects.filter(user=learner).count() == 1600


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_the_same_new_word_from_4_threads_counts_once():
    learner = UserFactory()
    results = []

    errors = run_in_threads(4, lambda i: results.append(events_record(reporter=learner, events=translated("Haus"))))

    assert errors == []
    assert metric(learner, "TRANSLATED_WORDS") == 1
    assert ActivityEvent.objects.filter(user=learner).count() == 4
    assert FirstOccurrence.objects.filter(user=learner).count() == 1


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_4_threads_sending_overlapping_words_count_each_word_once():
    learner = UserFactory()
    words = [f"wort{i}" for i in range(60)]

    def send(index: int) -> None:
        mine = words[index * 10 : index * 10 + 30]  # each word is sent by 1 to 3 threads
        for start in range(0, len(mine), 10):
            events_record(reporter=learner, events=translated(*reversed(mine[start : start + 10])))

    errors = run_in_threads(4, send)

    assert errors == []
    sent = {w for index in range(4) for w in words[index * 10 : index * 10 + 30]}
    assert metric(learner, "TRANSLATED_WORDS") == len(sent) == 60
    assert FirstOccurrence.objects.filter(user=learner).count() == 60
    assert levels(learner, "TRANSLATED_WORDS") == [1]


@pytest.mark.django_db
def test_only_practice_events_have_a_kind_in_the_database():
    # The boards' covering index reads one kind's range: every other type's kind is "".
    from django.db import IntegrityError, transaction

    user = UserFactory()
    common = {"user": user, "occurred_at": timezone.now(), "language_id": "de"}
    ActivityEvent.objects.create(type="practice", kind="reading", duration_seconds=60, **common)
    ActivityEvent.objects.create(type="exercise_answered", correct=True, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityEvent.objects.create(type="exercise_answered", correct=True, kind="reading", **common)
    assert ActivityEvent.objects.filter(user=user).count() == 2
