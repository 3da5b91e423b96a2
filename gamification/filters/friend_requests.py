"""``GET /api/friend-requests/?direction=received|sent``."""

import django_filters
from django.db.models import QuerySet

from gamification.models import FriendRequest

DIRECTIONS = (("received", "received"), ("sent", "sent"))


class FriendRequestFilter(django_filters.FilterSet):
    """The caller's pending requests in one direction: ``received`` (the default, also for a blank
    value) or ``sent``; any other value is a 400 naming ``direction``. The queryset holds the
    caller's requests of both directions (``selectors.friends.friend_requests_of``)."""

    direction = django_filters.ChoiceFilter(
        choices=DIRECTIONS,
        method="filter_direction",
        empty_label=None,
        help_text="received (default) or sent.",
    )

    class Meta:
        model = FriendRequest
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs) -> None:
        if data is not None and not (data.get("direction") or "").strip():
            data = data.copy()
            data["direction"] = "received"
        super().__init__(data, *args, **kwargs)

    def filter_direction(self, queryset: QuerySet[FriendRequest], name: str, value: str) -> QuerySet[FriendRequest]:
        user = self.request.user
        return queryset.filter(receiver_id=user.pk) if value == "received" else queryset.filter(sender_id=user.pk)
