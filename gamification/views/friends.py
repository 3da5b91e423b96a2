"""My friendships (SPEC §5, §6.1): ``/api/friends/``.

Logged-in users, for their own friendships. The list is never paginated: a user has at most
``FRIENDS_MAX`` (1000) friends.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.models import User
from gamification.selectors.friends import friend_list
from gamification.serializers.friends import FriendSerializer, friend_list_out
from gamification.services.friends import friendship_end


@extend_schema(tags=["friends"])
@extend_schema_view(
    list=extend_schema(
        summary="My friends, by username, with our friend streak and their streaks per language",
        responses={200: FriendSerializer(many=True)},
    ),
    destroy=extend_schema(
        summary="Unfriend someone (history kept; both FRIENDS metrics drop, badges stay)",
        request=None,
        responses={204: OpenApiResponse(description="Unfriended"), 404: OpenApiResponse(description="Not friends")},
    ),
)
class FriendViewSet(viewsets.GenericViewSet):
    queryset = User.objects.none()  # what the schema generator reads the path parameter from
    lookup_field = "username"
    lookup_value_regex = "[^/]+"

    def list(self, request: Request) -> Response:
        return Response(friend_list_out(friend_list(user=request.user)))

    def destroy(self, request: Request, username: str) -> Response:
        friendship_end(user=request.user, friend_username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
