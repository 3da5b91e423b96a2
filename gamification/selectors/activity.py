"""Reading a user's activity log (the ``/api/me/activity/`` list and the export)."""

from collections.abc import Iterator

from django.db.models import Q, QuerySet

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


def activity_chunks(*, user: User, size: int = 2000) -> Iterator[list[ActivityEvent]]:
    """The user's whole log, newest first, in chunks of ``size``: one query per chunk, each
    continuing after the last row of the one before (keyset, on the ``activityevent_user_at``
    index), so memory holds one chunk whatever the length of the log and whatever the database
    driver buffers."""
    events = activity_of_user(user=user)
    after: tuple | None = None
    while True:
        page = events
        if after is not None:
            page = page.filter(Q(occurred_at__lt=after[0]) | Q(occurred_at=after[0], id__lt=after[1]))
        rows = list(page[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = (rows[-1].occurred_at, rows[-1].pk)
