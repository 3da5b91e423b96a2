"""Writes on badges (SPEC §2, §5, §7): a user's seen marks, staff's manual awards and revocations,
and the rules an activity type's levels obey.

Awards earned through activity live in ``gamification.services.metrics``. The functions here
never touch a metric: a badge awarded by hand leaves the user's progress where it is (their
next level still comes from activity), and a revoked badge comes back only if staff award it
again or run "award what metrics qualify for" (``award_badges``) while the metric still
qualifies.

Manual awards and revocations are recorded in ``BadgeAuditEntry`` in the same transaction as
the change, so the trail and the badges never disagree. A manual award announces itself like
any other award (``signals.badges_awarded`` once the transaction commits): whatever listens to
awards (notifications, outbound webhooks) hears about it without a second code path.
"""

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from gamification import signals
from gamification.exceptions import ConflictError, NotFoundError
from gamification.models import AwardMechanism, Badge, BadgeAuditEntry, User, UserBadge
from gamification.services.catalogue import catalogue_changed
from gamification.services.db import is_unique_violation

REASON_MAX_LENGTH = BadgeAuditEntry._meta.get_field("reason").max_length


def badges_mark_seen(*, user: User) -> int:
    """Mark every achieved badge of the user that they have not seen as seen, in one UPDATE.

    Returns the number of badges marked. Safe to run concurrently: a badge already seen is not
    touched again, so two calls never count the same badge twice. Badges stamped later than now
    (clock skew between servers) stay unseen until their time comes, which keeps
    ``seen_at >= achieved_at``.
    """
    now = timezone.now()
    return UserBadge.objects.filter(user_id=user.pk, seen_at__isnull=True, achieved_at__lte=now).update(seen_at=now)


# Levels ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelDraft:
    """One level of an activity type as staff want to save it."""

    level: int
    threshold: int
    badge_id: int | None = None  # the saved badge it edits; None for a new level


@dataclass(frozen=True)
class LevelProblem:
    """Why a set of levels cannot be saved, and where: ``level`` (as drafted) and ``field``
    (``"level"``, ``"threshold"``, or None for the level as a whole), or neither for the type."""

    message: str
    level: int | None = None
    field: str | None = None
    badge_id: int | None = None


class BadgeLevelsInvalid(ValidationError):
    """The levels break a rule. A ValidationError of every message, with ``problems`` saying
    where each belongs (a form can put it next to the field)."""

    def __init__(self, problems: Sequence[LevelProblem]) -> None:
        super().__init__([ValidationError(problem.message, code="badge_levels") for problem in problems])
        self.problems = tuple(problems)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def badge_levels_validate(
    *, award_mechanism: str, levels: Sequence[LevelDraft], deleted_badge_ids: Collection[int] = ()
) -> None:
    """Check the levels one activity type would have after a save (SPEC §2.1).

    ``levels``: every level that stays or is added; ``deleted_badge_ids``: saved badges that
    would be deleted. Rules: levels and thresholds are positive, each level appears once,
    thresholds increase strictly with level, a ONE_TIME type has exactly one badge and its
    threshold is 1, and a level that users hold is not deleted (revoke the awards first).

    Raises ``BadgeLevelsInvalid`` naming every problem; returns None when the levels may be saved.
    """
    problems: list[LevelProblem] = []
    for draft in levels:
        if draft.level < 1:
            problems.append(LevelProblem("Levels start at 1.", draft.level, "level"))
        if draft.threshold < 1:
            problems.append(LevelProblem("A threshold is at least 1.", draft.level, "threshold"))

    counts = Counter(draft.level for draft in levels)
    repeated = sorted(level for level, count in counts.items() if count > 1)
    for level in repeated:
        problems.append(
            LevelProblem(
                "Each level may appear only once; repeated: " + ", ".join(map(str, repeated)) + ".", level, "level"
            )
        )

    ordered = sorted(levels, key=lambda draft: (draft.level, draft.threshold))
    for low, high in pairwise(ordered):
        if high.level != low.level and high.threshold <= low.threshold:
            problems.append(
                LevelProblem(
                    f"Thresholds must increase with level: level {high.level} ({high.threshold}) must be above "
                    f"level {low.level} ({low.threshold}).",
                    high.level,
                    "threshold",
                )
            )

    if award_mechanism == AwardMechanism.ONE_TIME:
        if len(levels) != 1:
            message = f"A one-time activity type has exactly one badge; this form would leave {len(levels)}."
            if not levels:
                problems.append(LevelProblem(message))
            for draft in ordered[1:]:
                problems.append(LevelProblem(message, draft.level))
        elif levels[0].threshold != 1:
            problems.append(
                LevelProblem(
                    "The badge of a one-time activity type needs threshold 1 (done or not done).",
                    levels[0].level,
                    "threshold",
                )
            )

    if deleted_badge_ids:
        held = (
            Badge.objects.filter(pk__in=list(deleted_badge_ids))
            .annotate(holders=Count("user_badges"))
            .filter(holders__gt=0)
            .order_by("level")
        )
        for badge in held:
            problems.append(
                LevelProblem(
                    f"Level {badge.level} ({badge.name}) is held by {_plural(badge.holders, 'user')} and cannot "
                    "be deleted while anyone holds it.",
                    badge.level,
                    None,
                    badge.pk,
                )
            )
    if problems:
        raise BadgeLevelsInvalid(problems)


# A level number no real level uses (levels stop at 100 in the admin).
_PARKED_LEVEL_OFFSET = 10_000


def badge_levels_make_room(*, badge_ids: Collection[int]) -> None:
    """Move saved badges whose level number is about to change (or that are about to be deleted)
    to unused level numbers, so that saving levels one row at a time (swapping levels 1 and 2,
    or giving a deleted level's number to another row) never meets the (activity type, level)
    unique constraint. Call it inside the transaction that then saves the levels."""
    if badge_ids:
        Badge.objects.filter(pk__in=list(badge_ids)).update(level=F("level") + _PARKED_LEVEL_OFFSET)
        catalogue_changed()  # a queryset update sends no signal


# Manual awards and revocations -----------------------------------------------------------------


def _reason_clean(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": ["Say why: the reason is kept with the award for other staff to read."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": [f"Keep the reason under {REASON_MAX_LENGTH} characters."]})
    return reason


def _badge_label(badge: Badge) -> str:
    return f"{badge.name} ({badge.activity_type.name}, level {badge.level})"


def badge_award_manual(*, user: User, badge: Badge, reason: str, awarded_by: User) -> UserBadge:
    """Award ``badge`` to ``user`` by hand, with a reason, recorded in the audit trail.

    Metrics are untouched. The (user, badge) unique constraint decides whether the user already
    holds it (``ConflictError``; nothing recorded), also against a concurrent automatic or manual
    award. A blank reason → ``ValidationError``. Announced with ``signals.badges_awarded`` after
    commit, like an award earned through activity.
    """
    reason = _reason_clean(reason)
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                award = UserBadge.objects.create(user=user, badge=badge, achieved_at=now)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            raise ConflictError(f"{user.username} already holds {badge.name}.") from None
        BadgeAuditEntry.objects.create(
            user=user,
            badge=badge,
            badge_label=_badge_label(badge),
            action=BadgeAuditEntry.Action.AWARDED,
            reason=reason,
            acted_by=awarded_by,
            acted_at=now,
        )
        awards = (award,)
        transaction.on_commit(
            lambda: signals.badges_awarded.send(sender=UserBadge, user_id=user.pk, user_badges=awards)
        )
    return award


def badge_revoke(*, user_badge: UserBadge, reason: str, revoked_by: User) -> BadgeAuditEntry:
    """Take a badge away from its holder, with a reason, recorded in the audit trail.

    Metrics are untouched (the user's progress stays; see the module docstring for when the badge
    can come back). The DELETE decides: of two concurrent revocations one deletes the row, the
    other finds nothing (``NotFoundError``) and records nothing. A blank reason →
    ``ValidationError``.
    """
    reason = _reason_clean(reason)
    badge = user_badge.badge
    with transaction.atomic():
        deleted, _ = UserBadge.objects.filter(pk=user_badge.pk).delete()
        if not deleted:
            raise NotFoundError(f"{user_badge.user.username} no longer holds {badge.name}.")
        return BadgeAuditEntry.objects.create(
            user_id=user_badge.user_id,
            badge=badge,
            badge_label=_badge_label(badge),
            action=BadgeAuditEntry.Action.REVOKED,
            reason=reason,
            acted_by=revoked_by,
            acted_at=timezone.now(),
        )
