"""Badges API (SPEC §5): my badge progress, unseen badges, and a friend's achieved badges."""

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.badges import badge_progress_for_user, badges_achieved_by_user, badges_unseen_count
from gamification.selectors.users import user_get_private
from gamification.serializers.badges import (
    ActivityTypeAchievedSerializer,
    ActivityTypeProgressSerializer,
    MarkSeenOutputSerializer,
    UnseenCountSerializer,
)
from gamification.services.badges import badges_mark_seen

BADGES_PRIVATE = "Only this user and their friends can see their badges."


class MyBadgesView(APIView):
    """Every activity type with my metric value and all its levels, most recently achieved type
    first. Logged-in users, for themselves."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ActivityTypeProgressSerializer(many=True)}, tags=["badges"])
    def get(self, request: Request) -> Response:
        progress = badge_progress_for_user(user=request.user)
        return Response(ActivityTypeProgressSerializer(progress, many=True, context={"request": request}).data)


class UnseenBadgeCountView(APIView):
    """How many of my achieved badges I have not seen yet. Logged-in users, for themselves."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UnseenCountSerializer}, tags=["badges"])
    def get(self, request: Request) -> Response:
        return Response(UnseenCountSerializer({"count": badges_unseen_count(user=request.user)}).data)


class MarkBadgesSeenView(APIView):
    """Mark all my achieved, unseen badges as seen. Logged-in users, for themselves. The body is
    ignored."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: MarkSeenOutputSerializer}, tags=["badges"])
    def post(self, request: Request) -> Response:
        return Response(MarkSeenOutputSerializer({"updated": badges_mark_seen(user=request.user)}).data)


class UserBadgesView(APIView):
    """A user's achieved badges, grouped by activity type; never metric values or unachieved
    levels. Logged-in users, for themselves or a current friend (403 otherwise, 404 for an unknown
    username)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: ActivityTypeAchievedSerializer(many=True),
            403: OpenApiResponse(description="Not this user's friend"),
            404: OpenApiResponse(description="No such user"),
        },
        tags=["badges"],
    )
    def get(self, request: Request, username: str) -> Response:
        target = user_get_private(viewer=request.user, username=username, denied_message=BADGES_PRIVATE)
        achieved = badges_achieved_by_user(user=target)
        return Response(ActivityTypeAchievedSerializer(achieved, many=True, context={"request": request}).data)


urlpatterns: list[URLPattern] = [
    path("badges/", MyBadgesView.as_view(), name="badges"),
    path("badges/unseen-count/", UnseenBadgeCountView.as_view(), name="badges-unseen-count"),
    path("badges/mark-seen/", MarkBadgesSeenView.as_view(), name="badges-mark-seen"),
    path("users/<str:username>/badges/", UserBadgesView.as_view(), name="user-badges"),
]
