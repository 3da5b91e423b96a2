"""Writes on a user's badges (SPEC §5). Awarding lives in gamification.services.metrics."""

from django.utils import timezone

from gamification.models import User, UserBadge


def badges_mark_seen(*, user: User) -> int:
    """Mark every achieved badge of the user that they have not seen as seen, in one UPDATE.

    Returns the number of badges marked. Safe to run concurrently: a badge already seen is not
    touched again, so two calls never count the same badge twice. Badges stamped later than now
    (clock skew between servers) stay unseen until their time comes, which keeps
    ``seen_at >= achieved_at``.
    """
    now = timezone.now()
    return UserBadge.objects.filter(user_id=user.pk, seen_at__isnull=True, achieved_at__lte=now).update(seen_at=now)
