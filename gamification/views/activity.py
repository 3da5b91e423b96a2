"""My activity history and my data: ``GET /api/me/activity/`` and ``GET /api/me/export/``.
Logged-in users, for themselves only."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.pagination import CursorPagination

from gamification.filters.activity import ActivityFilter
from gamification.models import ActivityEvent
from gamification.selectors.activity import activity_of_user
from gamification.serializers.activity import ActivityEntrySerializer


class ActivityPagination(CursorPagination):
    """Newest ``occurred_at`` first (then newest id), 100 entries a page."""

    page_size = 100
    ordering = ("-occurred_at", "-id")


@extend_schema(
    tags=["me"],
    summary="My activity log, newest first, cursor-paginated (100 a page)",
    responses={200: ActivityEntrySerializer(many=True), 400: OpenApiResponse(description="An unknown filter value.")},
)
class MyActivityView(generics.ListAPIView):
    """My activity log, filterable by type, language and time (``since`` inclusive, ``until``
    exclusive); the one paginated list of the API. Logged-in users, their own log only."""

    serializer_class = ActivityEntrySerializer
    pagination_class = ActivityPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ActivityEvent.objects.none()
        return activity_of_user(user=self.request.user)
