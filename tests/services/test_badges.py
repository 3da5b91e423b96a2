"""Badge services: the rules of an activity type's levels, manual awards and revocations with
their audit trail (SPEC §2, §7)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gamification import signals
from gamification.exceptions import ConflictError, NotFoundError
from gamification.models import ActivityType, AwardMechanism, Badge, BadgeAuditEntry, UserBadge, UserMetric
from gamification.services.badges import (
    BadgeLevelsInvalid,
    LevelDraft,
    badge_award_manual,
    badge_levels_validate,
    badge_revoke,
)
from tests.factories import UserFactory
from tests.threads import run_in_threads

COUNTER = AwardMechanism.COUNTER
ONE_TIME = AwardMechanism.ONE_TIME


def problems_of(**kwargs) -> list[tuple]:
    with pytest.raises(BadgeLevelsInvalid) as raised:
        badge_levels_validate(**kwargs)
    return [(problem.level, problem.field, problem.message) for problem in raised.value.problems]


def drafts(*pairs: tuple[int, int]) -> list[LevelDraft]:
    return [LevelDraft(level, threshold) for level, threshold in pairs]


class TestLevelRules:
    def test_strictly_increasing_thresholds_pass(self):
        assert badge_levels_validate(award_mechanism=COUNTER, levels=drafts((2, 100), (1, 10), (3, 500))) is None

    def test_a_threshold_not_above_the_level_below_is_named_on_its_level_and_field(self):
        problems = problems_of(award_mechanism=COUNTER, levels=drafts((1, 10), (2, 100), (3, 100), (4, 50)))

        assert problems == [
            (3, "threshold", "Thresholds must increase with level: level 3 (100) must be above level 2 (100)."),
            (4, "threshold", "Thresholds must increase with level: level 4 (50) must be above level 3 (100)."),
        ]

    def test_a_repeated_level_is_named_on_each_copy(self):
        problems = problems_of(award_mechanism=COUNTER, levels=drafts((1, 10), (2, 20), (2, 30)))

        assert problems == [(2, "level", "Each level may appear only once; repeated: 2.")]
        # one problem per repeated level number; the form shows it on every card with that level

    @pytest.mark.parametrize(("level", "threshold", "field"), [(0, 5, "level"), (1, 0, "threshold")])
    def test_levels_and_thresholds_are_positive(self, level, threshold, field):
        problems = problems_of(award_mechanism=COUNTER, levels=drafts((level, threshold)))

        assert [(problem[0], problem[1]) for problem in problems] == [(level, field)]

    def test_a_one_time_type_has_exactly_one_badge(self):
        two = problems_of(award_mechanism=ONE_TIME, levels=drafts((1, 1), (2, 2)))
        none = problems_of(award_mechanism=ONE_TIME, levels=[])

        message = "A one-time activity type has exactly one badge; this form would leave 2."
        assert two == [(2, None, message)]  # on the second badge, the one to remove
        assert none == [(None, None, "A one-time activity type has exactly one badge; this form would leave 0.")]

    def test_the_one_time_badge_needs_threshold_1(self):
        assert problems_of(award_mechanism=ONE_TIME, levels=drafts((1, 3))) == [
            (1, "threshold", "The badge of a one-time activity type needs threshold 1 (done or not done).")
        ]

    @pytest.mark.django_db
    def test_a_level_users_hold_cannot_be_deleted(self):
        words = ActivityType.objects.get(code="TRANSLATED_WORDS")
        held, free = words.badges.get(level=5), words.badges.get(level=4)
        for user in (UserFactory(), UserFactory()):
            UserBadge.objects.create(user=user, badge=held, achieved_at=timezone.now())

        with pytest.raises(BadgeLevelsInvalid) as raised:
            badge_levels_validate(
                award_mechanism=COUNTER,
                levels=drafts((1, 10), (2, 100), (3, 500)),
                deleted_badge_ids=[held.pk, free.pk],
            )

        [problem] = raised.value.problems
        assert (problem.badge_id, problem.level, problem.field) == (held.pk, 5, None)
        assert problem.message == (
            "Level 5 (Polyglot Machine) is held by 2 users and cannot be deleted while anyone holds it."
        )

    def test_the_error_is_a_validation_error_with_every_message(self):
        with pytest.raises(ValidationError) as raised:
            badge_levels_validate(award_mechanism=ONE_TIME, levels=drafts((1, 1), (1, 2)))

        assert len(raised.value.messages) == 2


@pytest.fixture
def words(db):
    return ActivityType.objects.get(code="TRANSLATED_WORDS")


@pytest.fixture
def staff(db):
    return UserFactory(username="staff_member", is_staff=True)


@pytest.mark.django_db
class TestManualAward:
    def test_awards_the_badge_records_who_when_why_and_leaves_the_metric(self, words, staff):
        learner = UserFactory(username="lucky_learner")
        UserMetric.objects.create(user=learner, activity_type=words, value=3)
        badge = words.badges.get(level=2)

        award = badge_award_manual(user=learner, badge=badge, reason="  Won the  spelling contest ", awarded_by=staff)

        assert UserBadge.objects.get(user=learner, badge=badge) == award
        assert award.seen_at is None  # the learner is told about it like any new badge
        assert UserMetric.objects.get(user=learner, activity_type=words).value == 3
        entry = BadgeAuditEntry.objects.get(user=learner)
        assert (entry.action, entry.badge, entry.reason, entry.acted_by) == (
            "awarded",
            badge,
            "Won the spelling contest",
            staff,
        )
        assert entry.badge_label == "Translation Enthusiast (Meaning Builder, level 2)"
        assert entry.acted_at == award.achieved_at
        assert str(entry) == (
            f"staff_member awarded Translation Enthusiast (Meaning Builder, level 2) to lucky_learner on "
            f"{entry.acted_at:%Y-%m-%d}"
        )

    def test_is_announced_like_any_award_once_committed(self, words, staff, django_capture_on_commit_callbacks):
        learner = UserFactory()
        heard = []

        def receiver(sender, user_id, user_badges, **kwargs):
            heard.append((user_id, [user_badge.badge.level for user_badge in user_badges]))

        signals.badges_awarded.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                badge_award_manual(user=learner, badge=words.badges.get(level=3), reason="r", awarded_by=staff)
        finally:
            signals.badges_awarded.disconnect(receiver)

        assert heard == [(learner.pk, [3])]

    def test_a_badge_already_held_is_a_conflict_and_records_nothing(self, words, staff):
        learner = UserFactory(username="holder")
        badge = words.badges.get(level=1)
        UserBadge.objects.create(user=learner, badge=badge, achieved_at=timezone.now())

        with pytest.raises(ConflictError, match="holder already holds Word Curious"):
            badge_award_manual(user=learner, badge=badge, reason="again", awarded_by=staff)

        assert not BadgeAuditEntry.objects.exists()

    @pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
    def test_a_reason_is_required(self, words, staff, reason):
        learner = UserFactory()

        with pytest.raises(ValidationError) as raised:
            badge_award_manual(user=learner, badge=words.badges.get(level=1), reason=reason, awarded_by=staff)

        assert "reason" in raised.value.message_dict
        assert not UserBadge.objects.filter(user=learner).exists()

    def test_a_reason_over_the_limit_is_refused(self, words, staff):
        with pytest.raises(ValidationError):
            badge_award_manual(user=UserFactory(), badge=words.badges.get(level=1), reason="x" * 501, awarded_by=staff)

    def test_a_later_level_still_comes_from_activity(self, words, staff):
        from gamification.services.metrics import metric_increment

        learner = UserFactory()
        badge_award_manual(user=learner, badge=words.badges.get(level=2), reason="head start", awarded_by=staff)

        change = metric_increment(user=learner, activity_type=words, amount=100)

        assert [award.badge.level for award in change.new_badges] == [1]  # level 2 is held already
        assert sorted(UserBadge.objects.filter(user=learner).values_list("badge__level", flat=True)) == [1, 2]


@pytest.mark.django_db
class TestRevoke:
    def test_takes_the_badge_away_records_it_and_leaves_the_metric(self, words, staff):
        learner = UserFactory(username="cheater")
        UserMetric.objects.create(user=learner, activity_type=words, value=20)
        award = UserBadge.objects.create(user=learner, badge=words.badges.get(level=1), achieved_at=timezone.now())

        entry = badge_revoke(user_badge=award, reason="Scripted translations", revoked_by=staff)

        assert not UserBadge.objects.filter(pk=award.pk).exists()
        assert UserMetric.objects.get(user=learner, activity_type=words).value == 20
        assert (entry.action, entry.user, entry.reason, entry.acted_by) == (
            "revoked",
            learner,
            "Scripted translations",
            staff,
        )
        assert str(entry).startswith("staff_member revoked Word Curious (Meaning Builder, level 1) from cheater on ")

    def test_revoking_twice_is_not_found_and_records_once(self, words, staff):
        award = UserBadge.objects.create(
            user=UserFactory(), badge=words.badges.get(level=1), achieved_at=timezone.now()
        )
        badge_revoke(user_badge=award, reason="first", revoked_by=staff)

        with pytest.raises(NotFoundError):
            badge_revoke(user_badge=award, reason="second", revoked_by=staff)

        assert BadgeAuditEntry.objects.filter(action="revoked").count() == 1

    def test_the_trail_survives_the_level_and_the_staff_account(self, words, staff):
        level = Badge.objects.get(activity_type=words, level=5)
        award = UserBadge.objects.create(user=UserFactory(), badge=level, achieved_at=timezone.now())
        badge_revoke(user_badge=award, reason="mistake", revoked_by=staff)

        level.delete()
        staff.delete()

        entry = BadgeAuditEntry.objects.get()
        assert (entry.badge, entry.acted_by, entry.badge_label) == (
            None,
            None,
            "Polyglot Machine (Meaning Builder, level 5)",
        )
        assert str(entry).startswith("a deleted account revoked Polyglot Machine")


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
class TestRaces:
    def test_concurrent_manual_awards_of_one_badge_make_one_award_and_one_entry(self):
        words = ActivityType.objects.get(code="TRANSLATED_WORDS")
        staff, learner = UserFactory(is_staff=True), UserFactory()
        badge = words.badges.get(level=3)

        errors = run_in_threads(
            8, lambda i: badge_award_manual(user=learner, badge=badge, reason=f"try {i}", awarded_by=staff)
        )

        assert len(errors) == 7 and all(isinstance(error, ConflictError) for error in errors), errors
        assert UserBadge.objects.filter(user=learner, badge=badge).count() == 1
        assert BadgeAuditEntry.objects.filter(user=learner).count() == 1

    def test_concurrent_revocations_revoke_once_and_record_once(self):
        words = ActivityType.objects.get(code="TRANSLATED_WORDS")
        staff, learner = UserFactory(is_staff=True), UserFactory()
        award = UserBadge.objects.create(user=learner, badge=words.badges.get(level=1), achieved_at=timezone.now())

        errors = run_in_threads(8, lambda i: badge_revoke(user_badge=award, reason=f"try {i}", revoked_by=staff))

        assert len(errors) == 7 and all(isinstance(error, NotFoundError) for error in errors), errors
        assert not UserBadge.objects.filter(pk=award.pk).exists()
        assert BadgeAuditEntry.objects.filter(user=learner, action="revoked").count() == 1
