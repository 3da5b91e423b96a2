"""Other learners (SPEC §5, §6.2, §6.3): ``/api/users/`` (search), a profile, and a user's friends,
badges and streaks.

Every action needs a login (401 otherwise). Usernames in the path match ignoring case; an unknown
one, or one in a block with the caller (either way), is a 404. Friends, badges and streaks are
private: the user themself and their friends only, unless the user shows them to nobody (403 for
anyone else), decided by ``selectors.users.user_get_private``.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.models import User
from gamification.selectors.badges import badges_achieved_by_user
from gamification.selectors.friends import friends_of
from gamification.selectors.streaks import streaks_of_user
from gamification.selectors.users import (
    user_get_private,
    user_get_visible,
    user_search,
    users_with_relationship,
)
from gamification.serializers.badges import ActivityTypeAchievedSerializer, badges_achieved_out
from gamification.serializers.friends import (
    UserProfileSerializer,
    UserSearchQuerySerializer,
    UserSearchResultSerializer,
    search_term_of,
    user_profile_out,
    user_search_out,
)
from gamification.serializers.streaks import LanguageStreakSerializer
from gamification.serializers.users import UserSummarySerializer
from gamification.views.inputs import validated_query
from gamification.views.throttles import SearchThrottle

PRIVATE = {
    403: OpenApiResponse(description="Not this user's friend, or they show this to nobody"),
    404: OpenApiResponse(description="No such user"),
}
DENIED = {
    "friends": "Only this user and their friends can see their friends.",
    "badges": "Only this user and their friends can see their badges.",
    "streaks": "Only this user and their friends can see their streaks.",
}


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(
        summary="Find people by part of their username or their whole display name (at most 20, never me)",
        parameters=[UserSearchQuerySerializer],
        responses={
            200: UserSearchResultSerializer(many=True),
            400: OpenApiResponse(description="Search term longer than 100 characters"),
        },
    ),
    retrieve=extend_schema(
        summary="A user's public profile and how I relate to them",
        responses={200: UserProfileSerializer, 404: OpenApiResponse(description="No such user")},
    ),
)
class UserViewSet(viewsets.GenericViewSet):
    """Search, profiles, and a user's private lists (friends, badges, streaks)."""

    queryset = User.objects.none()  # what the schema generator reads the path parameter from
    lookup_field = "username"
    lookup_value_regex = "[^/]+"

    def get_throttles(self):
        return [SearchThrottle()] if self.action == "list" else []

    def list(self, request: Request) -> Response:
        term = search_term_of(request.query_params.get("search"))
        if term is None:
            term = validated_query(UserSearchQuerySerializer, request)["search"]
        return Response(user_search_out(user_search(viewer=request.user, term=term)))

    def retrieve(self, request: Request, username: str) -> Response:
        (user,) = users_with_relationship(
            viewer=request.user, users=[user_get_visible(viewer=request.user, username=username)]
        )
        return Response(user_profile_out(user))

    def _private(self, username: str):
        return user_get_private(viewer=self.request.user, username=username, denied_message=DENIED[self.action])

    @extend_schema(
        summary="A user's current friends, by username (themself or a friend only)",
        responses={200: UserSummarySerializer(many=True), **PRIVATE},
    )
    @action(detail=True, methods=["get"])
    def friends(self, request: Request, username: str) -> Response:
        friends = friends_of(user_id=self._private(username).pk, viewer_id=request.user.pk, summary_only=True)
        return Response(UserSummarySerializer(friends, many=True).data)

    @extend_schema(
        summary="A user's achieved badges by activity type, never metric values (themself or a friend only)",
        responses={200: ActivityTypeAchievedSerializer(many=True), **PRIVATE},
        tags=["badges"],
    )
    @action(detail=True, methods=["get"])
    def badges(self, request: Request, username: str) -> Response:
        achieved = badges_achieved_by_user(user=self._private(username))
        return Response(badges_achieved_out(achieved, request))

    @extend_schema(
        summary="A user's daily streaks on their own calendar (themself or a friend only)",
        responses={200: LanguageStreakSerializer(many=True), **PRIVATE},
        tags=["streaks"],
    )
    @action(detail=True, methods=["get"])
    def streaks(self, request: Request, username: str) -> Response:
        return Response(LanguageStreakSerializer(streaks_of_user(user=self._private(username)), many=True).data)
