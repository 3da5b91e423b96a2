"""Reading a user's activity log (the ``/api/me/activity/`` list and the export)."""

from django.db.models import QuerySet

from gamification.models import ActivityEvent, User

ENTRY_FIELDS = (
    "id",
    "type",
    "occurred_at",
    "language_id",
    "word",
    "correct",
    "item_id",
    "kind",
    "duration_seconds",
)


def activity_of_user(*, user: User) -> QuerySet[ActivityEvent]:
    """The user's events with only the columns an entry shows, newest first (the
    ``activityevent_user_at`` index serves the order and the cursor)."""
    return ActivityEvent.objects.filter(user_id=user.pk).only(*ENTRY_FIELDS).order_by("-occurred_at", "-id")
