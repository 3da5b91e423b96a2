import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gamification.models import ActivityType, Badge, UserBadge, UserMetric
from tests.factories import UserFactory


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("award_badges", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def words(db):
    return ActivityType.objects.get(code="TRANSLATED_WORDS")


@pytest.mark.django_db
class TestAwardBadges:
    def test_lowered_threshold_awards_users_who_already_qualify(self, words):
        learner, below = UserFactory(), UserFactory()
        UserMetric.objects.create(user=learner, activity_type=words, value=60)
        UserMetric.objects.create(user=below, activity_type=words, value=9)
        UserBadge.objects.create(user=learner, badge=words.badges.get(level=1), achieved_at=timezone.now())
        Badge.objects.filter(activity_type=words, level=2).update(threshold=50)

        out, err = run("--type", "TRANSLATED_WORDS")

        assert "Awarded 1 badge (TRANSLATED_WORDS)." in out
        assert sorted(UserBadge.objects.filter(user=learner).values_list("badge__level", flat=True)) == [1, 2]
        assert not UserBadge.objects.filter(user=below).exists()
        # the progress bar went to stderr and counted the one user above the lowest threshold
        assert "Checking metrics" in err
        assert "1/1" in err

    def test_running_twice_awards_nothing_the_second_time(self, words):
        friends = ActivityType.objects.get(code="FRIENDS")
        for value in (3, 10):
            learner = UserFactory()
            UserMetric.objects.create(user=learner, activity_type=words, value=value * 10)
            UserMetric.objects.create(user=learner, activity_type=friends, value=value)

        first, _ = run("--no-progress")
        second, _ = run("--no-progress")

        # words: 30 → level 1, 100 → levels 1-2; friends: 3 → levels 1-2, 10 → levels 1-5
        assert first.startswith("Awarded 10 badges (")
        assert second.startswith("Awarded 0 badges (")
        assert UserBadge.objects.count() == 10

    def test_type_code_is_matched_ignoring_case_and_limits_the_run(self, words):
        learner = UserFactory()
        UserMetric.objects.create(user=learner, activity_type=words, value=10)
        UserMetric.objects.create(user=learner, activity_type=ActivityType.objects.get(code="FRIENDS"), value=1)

        out, _ = run("--type", "translated_words", "--no-progress")

        assert "Awarded 1 badge (TRANSLATED_WORDS)." in out
        assert list(UserBadge.objects.values_list("badge__activity_type__code", flat=True)) == ["TRANSLATED_WORDS"]

    def test_no_progress_keeps_stderr_empty(self, words):
        UserMetric.objects.create(user=UserFactory(), activity_type=words, value=10)

        _, err = run("--no-progress")

        assert err == ""

    def test_unknown_code_is_a_command_error(self):
        with pytest.raises(CommandError, match="Unknown activity type code: NOPE"):
            run("--type", "NOPE")
        assert not UserBadge.objects.exists()


@pytest.mark.django_db
def test_loading_the_default_catalogue_twice_duplicates_nothing():
    # The catalogue is already loaded for every test: this is the second and third load.
    call_command("loaddata", "default_badges", verbosity=0)
    call_command("loaddata", "default_badges", verbosity=0)

    assert ActivityType.objects.count() == 9
    assert Badge.objects.count() == 37
    tiered = ActivityType.objects.exclude(award_mechanism="ONE_TIME")
    assert tiered.count() == 7
    assert Badge.objects.filter(activity_type__in=tiered).count() == 35
    assert all(sorted(t.badges.values_list("level", flat=True)) == [1, 2, 3, 4, 5] for t in tiered)
    one_time = ActivityType.objects.filter(award_mechanism="ONE_TIME")
    assert sorted(one_time.values_list("code", flat=True)) == ["CLASSROOM_JOINED", "PROFILE_CUSTOMISED"]
    assert all(list(t.badges.values_list("level", "threshold")) == [(1, 1)] for t in one_time)


@pytest.mark.django_db
def test_loading_the_catalogue_restores_edited_rows_without_duplicates():
    words = ActivityType.objects.get(code="TRANSLATED_WORDS")
    Badge.objects.filter(activity_type=words, level=1).update(name="Renamed")

    call_command("loaddata", "default_badges", verbosity=0)

    assert Badge.objects.get(activity_type=words, level=1).name == "Word Curious"
    assert Badge.objects.count() == 37


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_award_badges_beside_live_increments_awards_each_level_once():
    import threading

    from django.db import connection

    from gamification.services.metrics import metric_increment

    words = ActivityType.objects.get(code="TRANSLATED_WORDS")
    learners = [UserFactory() for _ in range(6)]
    for learner in learners:
        UserMetric.objects.create(user=learner, activity_type=words, value=95)
    Badge.objects.filter(activity_type=words, level=2).update(threshold=90)  # now due: levels 1 and 2
    errors: list[BaseException] = []

    def increments(learner) -> None:
        try:
            for _ in range(10):
                metric_increment(user=learner, activity_type=words, amount=1)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def command() -> None:
        try:
            run("--no-progress")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=increments, args=(learner,)) for learner in learners]
    threads += [threading.Thread(target=command) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for learner in learners:
        assert UserMetric.objects.get(user=learner, activity_type=words).value == 105
        levels = sorted(UserBadge.objects.filter(user=learner).values_list("badge__level", flat=True))
        assert levels == [1, 2]
