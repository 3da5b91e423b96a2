"""One user's gamification at a glance, for staff (the admin's user page, SPEC §7).

A fixed number of queries whatever the number of badges, friends or classrooms.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from gamification.models import BadgeAuditEntry, User, UserBadge, UserMetric
from gamification.selectors.classrooms import ClassroomOfUser, classrooms_of_user
from gamification.selectors.friends import friends_of
from gamification.selectors.streaks import LanguageStreakRow, friend_streaks, streaks_of_user

# The audit trail on the user's page shows the latest entries; the full trail has its own list.
AUDIT_ENTRIES_SHOWN = 50


@dataclass(frozen=True)
class UserOverview:
    badges: list[UserBadge]  # newest first, with badge and activity type, and ``awarded_by_hand``
    metrics: list[UserMetric]  # in catalogue order, each with its activity type
    streaks: list[LanguageStreakRow]
    friends: list[User]  # each with ``friends_since`` and ``friend_streak``
    classrooms: list[ClassroomOfUser]
    audit: list[BadgeAuditEntry]  # newest first, at most AUDIT_ENTRIES_SHOWN
    audit_total: int


def user_overview(*, user: User) -> UserOverview:
    by_hand = BadgeAuditEntry.objects.filter(
        user_id=OuterRef("user_id"), badge_id=OuterRef("badge_id"), action=BadgeAuditEntry.Action.AWARDED
    )
    badges = list(
        UserBadge.objects.filter(user=user)
        .select_related("badge__activity_type")
        .annotate(awarded_by_hand=Exists(by_hand))
        .order_by("-achieved_at", "-id")
    )
    metrics = list(UserMetric.objects.filter(user=user).select_related("activity_type").order_by("activity_type_id"))
    friends = friends_of(user_id=user.pk)
    streaks = friend_streaks(friendships=[friend.friendship for friend in friends])
    for friend in friends:
        friend.friend_streak = streaks.get(friend.friendship.pk, 0)
    audit_rows = BadgeAuditEntry.objects.filter(user=user).select_related("acted_by")
    audit = list(audit_rows[: AUDIT_ENTRIES_SHOWN + 1])
    return UserOverview(
        badges=badges,
        metrics=metrics,
        streaks=streaks_of_user(user=user),
        friends=friends,
        classrooms=classrooms_of_user(user=user),
        audit=audit[:AUDIT_ENTRIES_SHOWN],
        audit_total=len(audit) if len(audit) <= AUDIT_ENTRIES_SHOWN else audit_rows.count(),
    )
