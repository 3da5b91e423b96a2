import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.utils import timezone

from gamification.models import ActivityEvent, Badge, FirstOccurrence, UserBadge, UserMetric
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def run(*args: str, stderr=None) -> str:
    out = StringIO()
    call_command("rebuild_metrics", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


def metrics_snapshot() -> dict[tuple[int, str], int]:
    """Metric values; a missing row and a row at 0 mean the same."""
    return {
        (user_id, code): value
        for user_id, code, value in UserMetric.objects.values_list("user_id", "activity_type__code", "value")
        if value
    }


def first_occurrences_snapshot() -> set[tuple]:
    return set(FirstOccurrence.objects.values_list("user_id", "kind", "key", "key_hash", "language_id", "occurred_at"))


def badges_snapshot() -> set[tuple[int, int]]:
    return set(UserBadge.objects.values_list("user_id", "badge_id"))


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def ingest_varied_log() -> list:
    """A log with every type, case and whitespace variants, languages, idempotency retries, late
    events that happened earlier, and a service account reporting for learners."""
    ada, bo, cy = UserFactory(), UserFactory(), UserFactory()
    platform = UserFactory()
    platform.user_permissions.add(Permission.objects.get(codename="report_events_for_others"))
    now = timezone.now()
    day = dt.timedelta(days=1)

    def post(user, events):
        response = client_for(user).post("/api/events/", {"events": events}, format="json")
        assert response.status_code == 201, response.json()

    post(ada, [{"type": "word_translated", "word": f"Wort{i}", "language": "de"} for i in range(12)])
    post(
        ada,
        [
            {"type": "word_translated", "word": " wort3 ", "language": "de", "occurred_at": iso(now - 3 * day)},
            {"type": "word_translated", "word": "wort3", "language": "nl"},
            {"type": "word_learned", "word": "Haus", "language": "de", "idempotency_key": "l-1"},
            {"type": "word_learned", "word": "haus", "language": "de", "idempotency_key": "l-1"},
            {"type": "word_learned", "word": "Baum", "language": "de", "occurred_at": iso(now - 2 * day)},
            *[{"type": "article_read", "article_id": a, "language": "de"} for a in [1, "1", "2", "3", "4", "5"]],
            {"type": "exercise_answered", "correct": True, "language": "de", "idempotency_key": "e-1"},
            {"type": "exercise_answered", "correct": False, "language": "de"},
            {"type": "practice", "kind": "reading", "duration_seconds": 600, "language": "de"},
        ],
    )
    post(ada, [{"type": "exercise_answered", "correct": True, "language": "de", "idempotency_key": "e-1"}])
    post(ada, [{"type": "word_learned", "word": "BAUM", "language": "de", "occurred_at": iso(now - 5 * day)}])
    post(
        platform,
        [
            *[
                {"type": "exercise_answered", "correct": i % 3 != 0, "language": "fr", "user": bo.username}
                for i in range(30)
            ],
            {"type": "audio_lesson_completed", "lesson_id": 7, "language": "fr", "user": bo.username},
            {"type": "audio_lesson_completed", "lesson_id": "7", "language": "es", "user": bo.username},
            {"type": "audio_lesson_completed", "lesson_id": "8", "language": "es", "user": cy.username},
            {"type": "word_translated", "word": "Casa", "language": "es", "user": cy.username},
            {"type": "word_translated", "word": "casa", "language": "pt", "user": cy.username},
        ],
    )
    return [ada, bo, cy, platform]


def test_the_rebuilt_values_equal_the_live_ones():
    ingest_varied_log()
    live_metrics, live_occurrences, live_badges = metrics_snapshot(), first_occurrences_snapshot(), badges_snapshot()
    assert len(live_metrics) >= 8 and len(live_occurrences) >= 20 and len(live_badges) >= 5  # a varied log

    UserMetric.objects.all().delete()
    FirstOccurrence.objects.all().delete()
    run("--no-progress")

    assert metrics_snapshot() == live_metrics
    assert first_occurrences_snapshot() == live_occurrences
    assert badges_snapshot() == live_badges


def test_running_it_twice_changes_nothing_the_second_time():
    ingest_varied_log()
    live_metrics, live_occurrences = metrics_snapshot(), first_occurrences_snapshot()

    first = run("--no-progress")
    second = run("--no-progress")

    assert "0 metric values changed" in first
    assert "0 metric values changed, 0 badges awarded" in second
    assert metrics_snapshot() == live_metrics
    assert first_occurrences_snapshot() == live_occurrences


def test_a_wiped_metric_is_restored_and_the_summary_counts_it():
    ada, *_ = ingest_varied_log()
    expected = UserMetric.objects.get(user=ada, activity_type__code="TRANSLATED_WORDS").value
    UserMetric.objects.filter(user=ada, activity_type__code="TRANSLATED_WORDS").delete()

    output = run("--no-progress")

    assert UserMetric.objects.get(user=ada, activity_type__code="TRANSLATED_WORDS").value == expected == 13
    assert "1 metric value changed" in output


def test_badges_are_never_taken_away_when_the_log_shrinks():
    ada, *_ = ingest_varied_log()
    ActivityEvent.objects.filter(user=ada, type="word_translated").delete()

    run("--no-progress")

    assert not UserMetric.objects.filter(user=ada, activity_type__code="TRANSLATED_WORDS", value__gt=0).exists()
    assert UserBadge.objects.filter(user=ada, badge__activity_type__code="TRANSLATED_WORDS", badge__level=1).exists()


def test_a_lowered_threshold_is_awarded_by_the_rebuild():
    ada, *_ = ingest_varied_log()
    Badge.objects.filter(activity_type__code="TRANSLATED_WORDS", level=2).update(threshold=13)

    output = run("--no-progress")

    assert UserBadge.objects.filter(user=ada, badge__activity_type__code="TRANSLATED_WORDS", badge__level=2).exists()
    assert "1 badge awarded" in output


def test_streaks_are_rebuilt_for_every_user_and_friends_are_recounted(monkeypatch):
    rebuilt: list[int] = []
    monkeypatch.setattr("gamification.services.streaks.streaks_rebuild", lambda *, user_id: rebuilt.append(user_id))
    ada, bo, cy = UserFactory.create_batch(3)
    make_friends(ada, bo)

    run("--no-progress")

    assert sorted(rebuilt) == sorted([ada.pk, bo.pk, cy.pk])
    assert UserMetric.objects.get(user=ada, activity_type__code="FRIENDS").value == 1
    assert UserBadge.objects.filter(user=bo, badge__activity_type__code="FRIENDS", badge__level=1).exists()


def test_user_option_limits_the_rebuild(monkeypatch):
    rebuilt: list[int] = []
    monkeypatch.setattr("gamification.services.streaks.streaks_rebuild", lambda *, user_id: rebuilt.append(user_id))
    ada, _bo = UserFactory.create_batch(2)

    output = run("--no-progress", "--user", ada.username.upper())

    assert rebuilt == [ada.pk]
    assert "Rebuilt 1 user:" in output


def test_an_unknown_user_option_is_an_error():
    with pytest.raises(CommandError, match="nobody"):
        run("--user", "nobody")


class FakeTerminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_and_never_on_stdout():
    UserFactory.create_batch(2)
    terminal, pipe = FakeTerminal(), StringIO()

    out_tty = run(stderr=terminal)
    run(stderr=pipe)
    run("--no-progress", stderr=(quiet := FakeTerminal()))

    assert "Rebuilding" in terminal.getvalue()
    assert "2/2" in terminal.getvalue()
    assert pipe.getvalue() == ""
    assert quiet.getvalue() == ""
    assert "Rebuilding" not in out_tty
