"""My badges (SPEC §5): ``/api/badges/``, the unseen count and marking them seen. A friend's
badges are an action of ``views.users.UserViewSet``."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.models import ActivityType
from gamification.selectors.badges import badge_progress_for_user, badges_unseen_count
from gamification.serializers.badges import (
    ActivityTypeProgressSerializer,
    MarkSeenOutputSerializer,
    UnseenCountSerializer,
    badge_progress_out,
)
from gamification.services.badges import badges_mark_seen


@extend_schema(tags=["badges"])
@extend_schema_view(
    list=extend_schema(
        summary="Every activity type with my metric and all its levels, most recently achieved first",
        responses={200: ActivityTypeProgressSerializer(many=True)},
    )
)
class BadgeViewSet(viewsets.GenericViewSet):
    """Logged-in users, for themselves."""

    queryset = ActivityType.objects.none()  # for the schema generator: the list is of activity types

    def list(self, request: Request) -> Response:
        progress = badge_progress_for_user(user=request.user)
        return Response(badge_progress_out(progress, request))

    @extend_schema(summary="How many of my achieved badges I have not seen", responses={200: UnseenCountSerializer})
    @action(detail=False, methods=["get"], url_path="unseen-count")
    def unseen_count(self, request: Request) -> Response:
        return Response({"count": badges_unseen_count(user=request.user)})

    @extend_schema(
        summary="Mark all my achieved, unseen badges seen (the body is ignored)",
        request=None,
        responses={200: MarkSeenOutputSerializer},
    )
    @action(detail=False, methods=["post"], url_path="mark-seen")
    def mark_seen(self, request: Request) -> Response:
        return Response({"updated": badges_mark_seen(user=request.user)})
