"""My activity history and my data: ``GET /api/me/activity/`` and ``GET /api/me/export/``.
Logged-in users, for themselves only."""

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from gamification.filters.activity import ActivityFilter
from gamification.models import ActivityEvent
from gamification.selectors.activity import activity_of_user
from gamification.serializers.activity import ActivityEntrySerializer
from gamification.serializers.export import export_document
from gamification.views.accounts import me_payload


class ActivityPagination(CursorPagination):
    """Newest ``occurred_at`` first (then newest id), 100 entries a page."""

    page_size = 100
    ordering = ("-occurred_at", "-id")


@extend_schema(
    tags=["me"],
    summary="My activity log, newest first, cursor-paginated (100 a page)",
    responses={
        200: ActivityEntrySerializer(many=True),
        400: OpenApiResponse(description="An unknown filter value."),
        404: OpenApiResponse(description="A cursor this service did not issue."),
    },
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


class MyExportView(APIView):
    """Everything this service holds about me as one JSON document, streamed: profile, friends,
    friend requests, badges, metrics, streaks, rest days, classrooms and the whole activity log.
    Logged-in users, their own data only."""

    @extend_schema(
        tags=["me"],
        summary="Export my data (one JSON document, streamed)",
        responses={200: OpenApiResponse(description="A JSON object with one key per section.")},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        document = export_document(user=request.user, profile=me_payload(request, request.user))
        response = StreamingHttpResponse(document, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="gamification-export.json"'
        response["Cache-Control"] = "no-store"
        return response
