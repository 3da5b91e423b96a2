"""``import_users`` and ``import_events`` (SPEC §11.2): streaming backfill that leaves metrics,
streaks and badges exactly as live ingestion of the same events would have."""

import datetime as dt
import json
import random

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from gamification.models import (
    ActivityEvent,
    Friendship,
    LanguageStreak,
    PracticeDay,
    User,
    UserBadge,
    UserMetric,
    WebhookDelivery,
)
from gamification.services.events import events_record
from gamification.services.platform import platform_user_put
from gamification.services.usernames import animal_of
from gamification.services.webhooks import webhook_endpoint_put
from tests.factories import make_friends

START = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
ZONES = ["Europe/Copenhagen", "America/Los_Angeles", "Asia/Tokyo"]


def history(seed: int) -> list[dict]:
    """About 70 days of varied activity for one learner, in time order, without user fields."""
    rng = random.Random(seed)
    events = []
    for day in range(70):
        if rng.random() < 0.05:  # a missed day now and then breaks the streak
            continue
        base = START + dt.timedelta(days=day, hours=rng.randint(0, 12))

        def at(minutes: int, base: dt.datetime = base) -> str:
            return (base + dt.timedelta(minutes=minutes)).isoformat()

        language = "de" if rng.random() < 0.8 else "fr"
        events.append(
            {
                "type": "practice",
                "kind": "reading",
                "duration_seconds": rng.choice([40, 70, 90, 90]),
                "language": language,
                "occurred_at": at(0),
            }
        )
        events.append(
            {
                "type": "practice",
                "kind": "exercises",
                "duration_seconds": rng.choice([50, 80]),
                "language": language,
                "occurred_at": at(5),
            }
        )
        for n in range(rng.randint(0, 3)):
            events.append(
                {
                    "type": "word_translated",
                    "word": rng.choice(["Haus", "haus ", "Baum", "Hund", "Katze"]) + str(rng.randint(0, 15)),
                    "language": language,
                    "occurred_at": at(10 + n),
                }
            )
        for n in range(rng.randint(0, 3)):
            events.append(
                {
                    "type": "exercise_answered",
                    "correct": rng.random() < 0.7,
                    "language": language,
                    "occurred_at": at(20 + n),
                }
            )
        if rng.random() < 0.3:
            events.append(
                {"type": "article_read", "article_id": rng.randint(1, 12), "language": language, "occurred_at": at(30)}
            )
        if rng.random() < 0.1:
            events.append(
                {"type": "audio_lesson_completed", "lesson_id": "L1", "language": language, "occurred_at": at(40)}
            )
        if rng.random() < 0.2:
            events.append({"type": "word_learned", "word": "haus", "language": language, "occurred_at": at(50)})
    return events


def record_live(user: User, events: list[dict]) -> None:
    """Live ingestion: each event posted at the moment it happened, as the platform would have."""
    for raw in events:
        occurred_at = dt.datetime.fromisoformat(raw["occurred_at"])
        event = {**raw, "occurred_at": occurred_at, "user": user, "idempotency_key": None}
        if "article_id" in event:
            event["article_id"] = str(event["article_id"])
        if event["type"] in ("word_translated", "word_learned"):
            event["word"] = event["word"].strip()
        with time_machine.travel(occurred_at, tick=False):
            events_record(reporter=user, events=[event])


def derived_state(user: User) -> dict:
    """What the activity log derives. FRIENDS is left out: ``make_friends`` writes the friendship
    row alone, and the rebuild (rightly) counts it."""
    return {
        "metrics": dict(
            UserMetric.objects.filter(user=user)
            .exclude(value=0)
            .exclude(activity_type__code="FRIENDS")
            .values_list("activity_type__code", "value")
        ),
        "badges": sorted(
            UserBadge.objects.filter(user=user)
            .exclude(badge__activity_type__code="FRIENDS")
            .values_list("badge_id", "achieved_at")
        ),
        "streaks": sorted(
            LanguageStreak.objects.filter(user=user).values_list(
                "language_id", "length", "last_date", "max_length", "max_date"
            )
        ),
        "days": sorted(PracticeDay.objects.filter(user=user).values_list("language_id", "date", "seconds")),
    }


def friendship_state(a: User, b: User) -> tuple:
    friendship = Friendship.objects.get(user_low=min(a, b, key=lambda u: u.pk), user_high=max(a, b, key=lambda u: u.pk))
    return (
        friendship.streak_length,
        friendship.streak_first_day,
        friendship.streak_last_day,
        friendship.streak_low_through_day,
        friendship.streak_high_through_day,
    )


def write_ndjson(path, rows) -> str:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return str(path)


def run(command: str, path: str) -> tuple[int, str]:
    import io

    out = io.StringIO()
    try:
        call_command(command, path, "--no-progress", stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
class TestEqualityWithLiveIngestion:
    def test_metrics_streaks_badges_and_award_times_equal_live_ingestion(self, tmp_path):
        live, imported = [], []
        for index, zone in enumerate(ZONES):
            live.append(platform_user_put(external_id=f"live-{index}", timezone=zone)[0])
            imported.append(platform_user_put(external_id=f"imp-{index}", timezone=zone)[0])
        make_friends(live[0], live[1], since=START)
        make_friends(imported[0], imported[1], since=START)
        histories = [history(seed) for seed in range(len(ZONES))]

        for user, events in zip(live, histories, strict=True):
            record_live(user, events)
        lines = [
            {**event, "external_user_id": user.external_id}
            for user, events in zip(imported, histories, strict=True)
            for event in events
        ]
        random.Random(7).shuffle(lines)  # the file's order does not matter
        status, out = run("import_events", write_ndjson(tmp_path / "events.ndjson", lines))

        assert status == 0
        assert f"accepted {len(lines)}, duplicates 0, rejected 0" in out
        for live_user, imported_user in zip(live, imported, strict=True):
            expected = derived_state(live_user)
            assert expected["badges"], "the history should earn badges"
            got = derived_state(imported_user)
            for key in expected:
                assert got[key] == expected[key], key
        assert set(derived_state(live[0])["metrics"]) >= {
            "TRANSLATED_WORDS",
            "CORRECT_EXERCISES",
            "STREAK_DAYS",
            "READ_ARTICLES",
        }
        assert friendship_state(*imported[:2]) == friendship_state(*live[:2])
        earned = set(UserBadge.objects.filter(user__in=live).values_list("badge__activity_type__code", flat=True))
        assert earned >= {"STREAK_DAYS", "TRANSLATED_WORDS", "CORRECT_EXERCISES", "READ_ARTICLES"}

    def test_a_rerun_changes_nothing(self, tmp_path):
        user, _ = platform_user_put(external_id="7", timezone="Europe/Rome")
        lines = [{**event, "external_user_id": "7"} for event in history(3)]
        path = write_ndjson(tmp_path / "events.ndjson", lines)
        assert run("import_events", path)[0] == 0
        before = (derived_state(user), sorted(UserBadge.objects.values_list("id", "achieved_at")))

        status, out = run("import_events", path)

        assert status == 0
        assert f"accepted 0, duplicates {len(lines)}, rejected 0" in out
        assert ActivityEvent.objects.count() == len(lines)
        assert (derived_state(user), sorted(UserBadge.objects.values_list("id", "achieved_at"))) == before

    def test_explicit_idempotency_keys_are_the_live_paths_keys(self, tmp_path):
        user, _ = platform_user_put(external_id="7")
        first = {
            "type": "word_translated",
            "word": "haus",
            "language": "de",
            "idempotency_key": "k1",
            "occurred_at": START.isoformat(),
        }
        events_record(reporter=user, events=[{**first, "occurred_at": START, "user": user}])

        status, out = run("import_events", write_ndjson(tmp_path / "e.ndjson", [{**first, "external_user_id": "7"}]))

        assert status == 0 and "accepted 0, duplicates 1" in out
        assert ActivityEvent.objects.count() == 1

    def test_no_webhook_is_sent_for_a_backfill(self, tmp_path):
        webhook_endpoint_put(url="https://hooks.example.com/x", secret="s3cret", event_types=["badge.awarded"])
        platform_user_put(external_id="7")
        lines = [
            {
                "type": "article_read",
                "article_id": n,
                "language": "de",
                "occurred_at": START.isoformat(),
                "external_user_id": "7",
            }
            for n in range(6)
        ]

        assert run("import_events", write_ndjson(tmp_path / "e.ndjson", lines))[0] == 0

        assert UserBadge.objects.filter(user__external_id="7").exists()
        assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
class TestRejectedLines:
    def test_bad_lines_are_written_with_their_number_and_the_rest_imported(self, tmp_path):
        user, _ = platform_user_put(external_id="7")
        good = {"type": "word_translated", "word": "haus", "language": "de", "occurred_at": START.isoformat()}
        path = write_ndjson(
            tmp_path / "events.ndjson",
            [
                {**good, "external_user_id": "7"},
                "{not json",
                {**good, "external_user_id": "ghost"},
                {**good, "user": "nobody_here"},
                {"type": "word_translated", "word": "x", "language": "de", "external_user_id": "7"},
                {**good, "language": "xx", "external_user_id": "7"},
                "[1, 2]",
                {**good, "word": "baum", "user": user.username.upper()},
            ],
        )

        status, out = run("import_events", path)

        assert status == 1
        assert "accepted 2, duplicates 0, rejected 6" in out
        rejected = [json.loads(line) for line in (tmp_path / "events.ndjson.rejected.ndjson").read_text().splitlines()]
        assert [row["line"] for row in rejected] == [2, 3, 4, 5, 6, 7]
        assert rejected[1]["error"] == {"external_user_id": ['Unknown external user id "ghost".']}
        assert rejected[2]["error"] == {"user": ['Unknown user "nobody_here".']}
        assert "occurred_at" in rejected[3]["error"]
        assert "language" in rejected[4]["error"]
        assert "JSON" in rejected[0]["error"]["detail"]
        assert UserMetric.objects.get(user=user, activity_type__code="TRANSLATED_WORDS").value == 2

    def test_old_events_are_accepted_and_future_ones_refused(self, tmp_path):
        platform_user_put(external_id="7")
        old = {
            "type": "exercise_answered",
            "correct": True,
            "language": "de",
            "external_user_id": "7",
            "occurred_at": "2019-05-01T10:00:00+02:00",
        }
        future = {**old, "occurred_at": "2999-01-01T00:00:00Z"}

        status, out = run("import_events", write_ndjson(tmp_path / "e.ndjson", [old, future]))

        assert status == 1 and "accepted 1, duplicates 0, rejected 1" in out

    def test_a_clean_rerun_removes_the_stale_rejected_file(self, tmp_path):
        platform_user_put(external_id="7")
        path = tmp_path / "e.ndjson"
        write_ndjson(path, ["{oops"])
        # The only line is bad: not even NDJSON, refused as a whole.
        assert run("import_events", str(path))[0] == 2
        line = {
            "type": "word_learned",
            "word": "a",
            "language": "de",
            "external_user_id": "7",
            "occurred_at": START.isoformat(),
        }
        write_ndjson(path, [line, "{oops"])
        assert run("import_events", str(path))[0] == 1
        write_ndjson(path, [line])
        assert run("import_events", str(path))[0] == 0
        assert not (tmp_path / "e.ndjson.rejected.ndjson").exists()

    @pytest.mark.parametrize("content", ["external_id,name\n7,Ana\n", "", "\n\n", "[1]\n", "hello\n"])
    def test_a_file_that_is_not_ndjson_is_refused_before_anything_is_written(self, tmp_path, content):
        path = tmp_path / "e.ndjson"
        path.write_text(content)
        assert run("import_events", str(path))[0] == 2
        assert not ActivityEvent.objects.exists()

    def test_an_overlong_line_is_rejected_not_read_whole(self, tmp_path):
        platform_user_put(external_id="7")
        line = {
            "type": "word_learned",
            "word": "a",
            "language": "de",
            "external_user_id": "7",
            "occurred_at": START.isoformat(),
        }
        path = write_ndjson(tmp_path / "e.ndjson", [line, json.dumps({**line, "pad": "x" * 100_000}), line])
        status, out = run("import_events", path)
        assert status == 1 and "accepted 1, duplicates 1, rejected 1" in out


@pytest.mark.django_db
class TestImportUsers:
    def test_csv_creates_and_updates_users_and_a_rerun_changes_nothing(self, tmp_path):
        platform_user_put(external_id="2", name="Old name")
        path = tmp_path / "users.csv"
        path.write_text(
            "external_id,name,email,username,timezone\n"
            "1,Ana,ana@example.com,ana_rossi,Europe/Rome\n"
            '2,"Bo, the second",,,\n'
            "3,Cy,,,Mars/Base\n"
        )

        status, out = run("import_users", str(path))

        assert status == 1 and "accepted 2, duplicates 0, rejected 1" in out
        ana = User.objects.get(external_id="1")
        assert (ana.name, ana.email, ana.username, ana.timezone) == (
            "Ana",
            "ana@example.com",
            "ana_rossi",
            "Europe/Rome",
        )
        assert User.objects.get(external_id="2").name == "Bo, the second"
        rejected = [json.loads(line) for line in (tmp_path / "users.csv.rejected.ndjson").read_text().splitlines()]
        assert rejected == [{"line": 4, "error": {"timezone": [rejected[0]["error"]["timezone"][0]]}}]
        stamps = dict(User.objects.values_list("external_id", "updated_at"))

        path.write_text("external_id,name,email,username,timezone\n1,Ana,ana@example.com,ana_rossi,Europe/Rome\n")
        assert run("import_users", str(path)) == (0, "accepted 0, duplicates 1, rejected 0\n")
        assert dict(User.objects.values_list("external_id", "updated_at")) == stamps

    def test_ndjson_users(self, tmp_path):
        path = write_ndjson(
            tmp_path / "users.ndjson",
            [{"external_id": "a", "name": "Ana"}, {"external_id": "b", "e-mail": "x@example.com"}, "nope"],
        )
        status, out = run("import_users", path)
        assert status == 1 and "accepted 1, duplicates 0, rejected 2" in out
        assert list(User.objects.filter(external_id__isnull=False).values_list("external_id", flat=True)) == ["a"]

    @pytest.mark.parametrize("header", ["id,name\n", "name,email\n", "external_id,external_id\n"])
    def test_a_csv_with_unknown_or_missing_columns_is_refused(self, tmp_path, header):
        path = tmp_path / "users.csv"
        path.write_text(header + "1,Ana\n")
        assert run("import_users", str(path))[0] == 2
        assert not User.objects.filter(external_id__isnull=False).exists()

    def test_a_missing_file_is_exit_2(self, tmp_path):
        assert run("import_users", str(tmp_path / "missing.csv"))[0] == 2

    def test_a_chunk_refuses_taken_emails_and_usernames_and_applies_repeats_in_order(self, tmp_path):
        platform_user_put(external_id="old", email="taken@example.com", username="Taken_Name")
        path = write_ndjson(
            tmp_path / "users.ndjson",
            [
                {"external_id": "a", "email": "a@example.com", "username": "ana"},
                {"external_id": "b", "email": "TAKEN@example.com"},  # an existing user's, ignoring case
                {"external_id": "c", "username": "taken_name"},  # an existing user's, ignoring case
                {"external_id": "d", "email": "a@example.com"},  # line 1's
                {"external_id": "e", "username": "ANA"},  # line 1's
                {"external_id": "a", "name": "Ana again"},  # line 1's user, updated
                {"external_id": "f"},
            ],
        )

        status, out = run("import_users", path)

        assert status == 1 and "accepted 3, duplicates 0, rejected 4" in out
        rejected = [json.loads(line) for line in (tmp_path / "users.ndjson.rejected.ndjson").read_text().splitlines()]
        assert rejected == [
            {"line": 2, "error": {"email": ["An account with this email already exists."]}},
            {"line": 3, "error": {"username": ["This username is taken."]}},
            {"line": 4, "error": {"email": ["An account with this email already exists."]}},
            {"line": 5, "error": {"username": ["This username is taken."]}},
        ]
        ana = User.objects.get(external_id="a")
        assert (ana.email, ana.username, ana.name) == ("a@example.com", "ana", "Ana again")
        generated = User.objects.get(external_id="f")
        assert generated.username and generated.avatar_image == animal_of(generated.username)
        assert not generated.has_usable_password() and generated.email is None and generated.timezone == "UTC"
        assert not User.objects.filter(external_id__in=["b", "c", "d", "e"]).exists()

    def test_new_users_cost_a_fixed_number_of_queries_whatever_their_number(self, tmp_path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def queries_for(count: int, prefix: str) -> int:
            path = write_ndjson(tmp_path / f"{prefix}.ndjson", [{"external_id": f"{prefix}{n}"} for n in range(count)])
            with CaptureQueriesContext(connection) as captured:
                assert run("import_users", path) == (0, f"accepted {count}, duplicates 0, rejected 0\n")
            return len(captured)

        few, many = queries_for(5, "few"), queries_for(300, "many")
        assert many <= few + 6  # a few more rounds of username generation at most, never one per user
        usernames = list(User.objects.filter(external_id__startswith="many").values_list("username_key", flat=True))
        assert len(set(usernames)) == 300


@pytest.mark.django_db
class TestStandardInputAndProgress:
    def test_dash_reads_standard_input_and_rejects_to_the_working_directory(self, tmp_path, monkeypatch):
        import io
        import sys

        platform_user_put(external_id="7")
        good = {
            "type": "word_learned",
            "word": "a",
            "language": "de",
            "external_user_id": "7",
            "occurred_at": START.isoformat(),
        }
        data = (json.dumps(good) + "\n" + json.dumps({**good, "external_user_id": "8"}) + "\n").encode()
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(data)})())
        monkeypatch.chdir(tmp_path)

        status, out = run("import_events", "-")

        assert status == 1 and "accepted 1, duplicates 0, rejected 1" in out
        (rejected,) = tmp_path.glob("import-rejected-*.ndjson")
        assert json.loads(rejected.read_text())["line"] == 2

    def test_progress_lines_go_to_stderr_when_it_is_not_a_terminal(self, tmp_path, monkeypatch):
        import io

        monkeypatch.setattr("gamification.management.import_command.PROGRESS_EVERY_SECONDS", 0)
        path = write_ndjson(tmp_path / "u.ndjson", [{"external_id": str(n)} for n in range(3)])
        err, out = io.StringIO(), io.StringIO()

        call_command("import_users", path, stdout=out, stderr=err)

        assert "accepted 3" in out.getvalue()
        assert "Users: 3 lines" in err.getvalue()


@pytest.mark.django_db
class TestRebuildBatches:
    def test_batches_are_bounded_by_users_and_by_events(self, monkeypatch, django_assert_num_queries):
        from gamification.services import rebuild
        from tests.factories import EventFactory, UserFactory

        monkeypatch.setattr(rebuild, "IMPORT_REBUILD_BATCH", 3)
        monkeypatch.setattr(rebuild, "IMPORT_REBUILD_EVENTS", 10)
        users = [UserFactory() for _ in range(8)]
        for user, count in zip(users, [8, 5, 1, 12, 0, 0, 0, 0], strict=True):
            for n in range(count):
                EventFactory(user=user, type="practice", idempotency_key=f"{user.pk}-{n}")
        a, b, c, d, e, f, g, h = (user.pk for user in users)

        with django_assert_num_queries(1):  # one count for up to a thousand users
            batches = list(rebuild._rebuild_batches(sorted(user.pk for user in users)))

        assert batches == [[a], [b, c], [d], [e, f, g], [h]]


@pytest.mark.django_db
def test_a_chunk_is_stored_by_learner_each_learners_lines_in_file_order(tmp_path):
    """The insert groups a chunk's rows by learner (index pages that lead with the learner are
    then written together); each learner's events keep the file's order, as live ingestion of
    the lines one after the other would number them."""
    from gamification.models import ActivityEvent
    from gamification.services.platform import platform_user_put

    ids = ["ext-a", "ext-b", "ext-c"]
    for external_id in ids:
        platform_user_put(external_id=external_id, timezone="UTC")
    lines = [
        {
            "external_user_id": ids[n % 3],
            "type": "word_translated",
            "word": f"w{n}",
            "language": "de",
            "occurred_at": f"2025-01-0{1 + n % 5}T10:00:00Z",
            "idempotency_key": f"k{n}",
        }
        for n in range(12)
    ]
    assert run("import_events", write_ndjson(tmp_path / "events.ndjson", lines))[0] == 0

    stored = list(ActivityEvent.objects.order_by("id").values_list("user__external_id", "word"))
    assert [external_id for external_id, _ in stored] == sorted(external_id for external_id, _ in stored)
    for external_id in ids:
        words = [word for owner, word in stored if owner == external_id]
        assert words == [line["word"] for line in lines if line["external_user_id"] == external_id]
