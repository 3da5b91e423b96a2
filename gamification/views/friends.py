"""Friends, friend requests and other users' profiles (SPEC §5, §6).

Every endpoint here needs a login (401 otherwise). Friend lists are never paginated: a user has
at most ``FRIENDS_MAX`` (1000) friends, and request lists show the newest
``FRIEND_REQUESTS_LIST_MAX`` (500) pending requests.
"""

from django.urls import URLPattern, path, register_converter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.friends import (
    friend_list,
    friend_requests_pending,
    friend_requests_received_count,
    friends_of,
)
from gamification.selectors.streaks import friend_streaks
from gamification.selectors.users import (
    search_term_clean,
    user_get_by_username,
    user_get_private,
    user_search,
    users_with_relationship,
)
from gamification.serializers.friends import (
    FriendRequestAcceptedSerializer,
    FriendRequestCountSerializer,
    FriendRequestCreateSerializer,
    FriendRequestListQuerySerializer,
    FriendRequestSerializer,
    FriendSerializer,
    UserProfileSerializer,
    UserSearchQuerySerializer,
    UserSearchResultSerializer,
)
from gamification.serializers.users import UserSummarySerializer
from gamification.services.friends import (
    friend_request_accept,
    friend_request_cancel,
    friend_request_reject,
    friend_request_send,
    friendship_end,
)
from gamification.views.throttles import FriendRequestThrottle, SearchThrottle

FRIENDS_PRIVATE = "Only this user and their friends can see their friends."
NOT_FOUND = OpenApiResponse(description="No such pending request, or not yours to act on")
REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Friend request id")


class RequestIdConverter:
    """Positive ids that fit a BIGINT: anything else in the path is a 404, never an overflow."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RequestIdConverter, "friend_request_id")


def _query(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FriendListView(APIView):
    """My current friends (at most 1000), by username ignoring case, with the friendship's start,
    our friend streak and the friend's per-language streaks. Logged-in users, for themselves."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: FriendSerializer(many=True)}, tags=["friends"])
    def get(self, request: Request) -> Response:
        return Response(FriendSerializer(friend_list(user=request.user), many=True).data)


class FriendDetailView(APIView):
    """Unfriend someone. Logged-in users, for their own friendships; 404 when not friends. The
    friendship is kept as history; both users' FRIENDS metric drops, badges stay."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Unfriended"), 404: OpenApiResponse(description="Not friends")},
        tags=["friends"],
    )
    def delete(self, request: Request, username: str) -> Response:
        friendship_end(user=request.user, friend_username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FriendRequestListView(APIView):
    """GET: my pending requests, received (default) or sent, newest first (at most 500).
    POST: send a request. Logged-in users, for themselves; sending is rate-limited."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [FriendRequestThrottle]

    @extend_schema(
        parameters=[FriendRequestListQuerySerializer],
        responses={
            200: FriendRequestSerializer(many=True),
            400: OpenApiResponse(description="Unknown direction"),
        },
        tags=["friends"],
    )
    def get(self, request: Request) -> Response:
        direction = _query(FriendRequestListQuerySerializer, request)["direction"]
        requests = friend_requests_pending(user=request.user, direction=direction)
        return Response(FriendRequestSerializer(requests, many=True).data)

    @extend_schema(
        request=FriendRequestCreateSerializer,
        responses={
            201: FriendRequestSerializer,
            400: OpenApiResponse(description="Missing receiver, or yourself"),
            404: OpenApiResponse(description="No user with this username"),
            409: OpenApiResponse(description="Already friends, or a request is pending either way"),
        },
        tags=["friends"],
    )
    def post(self, request: Request) -> Response:
        serializer = FriendRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        friend_request = friend_request_send(
            sender=request.user, receiver_username=serializer.validated_data["receiver"]
        )
        return Response(FriendRequestSerializer(friend_request).data, status=status.HTTP_201_CREATED)


class FriendRequestCountView(APIView):
    """How many pending requests I have received. Logged-in users, for themselves."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: FriendRequestCountSerializer}, tags=["friends"])
    def get(self, request: Request) -> Response:
        count = friend_requests_received_count(user=request.user)
        return Response(FriendRequestCountSerializer({"received": count}).data)


class FriendRequestDetailView(APIView):
    """Cancel a request I sent. Its sender only (404 for anyone else)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[REQUEST_ID],
        responses={204: OpenApiResponse(description="Cancelled"), 404: NOT_FOUND},
        tags=["friends"],
    )
    def delete(self, request: Request, request_id: int) -> Response:
        friend_request_cancel(request_id=request_id, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FriendRequestAcceptView(APIView):
    """Accept a request I received: we become friends. Its receiver only (404 for anyone else)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[REQUEST_ID],
        responses={
            201: FriendRequestAcceptedSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(description="One of us has reached the friends limit"),
        },
        tags=["friends"],
    )
    def post(self, request: Request, request_id: int) -> Response:
        accepted = friend_request_accept(request_id=request_id, acting_user=request.user)
        streak = friend_streaks(friendships=[accepted.friendship]).get(accepted.friendship.pk, 0)
        payload = {
            "friend": accepted.friend,
            "friends_since": accepted.friendship.created_at,
            "friend_streak": streak,
        }
        return Response(FriendRequestAcceptedSerializer(payload).data, status=status.HTTP_201_CREATED)


class FriendRequestRejectView(APIView):
    """Reject a request I received. Its receiver only (404 for anyone else)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[REQUEST_ID],
        responses={204: OpenApiResponse(description="Rejected"), 404: NOT_FOUND},
        tags=["friends"],
    )
    def post(self, request: Request, request_id: int) -> Response:
        friend_request_reject(request_id=request_id, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserSearchView(APIView):
    """Find people by part of their username or their whole display name (SPEC §6.3): at most
    20, never myself. Logged-in users; rate-limited."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[UserSearchQuerySerializer],
        responses={
            200: UserSearchResultSerializer(many=True),
            400: OpenApiResponse(description="Search term longer than 100 characters"),
        },
        tags=["users"],
    )
    def get(self, request: Request) -> Response:
        term = search_term_clean(request.query_params.get("search"))
        users = users_with_relationship(viewer=request.user, users=user_search(viewer=request.user, term=term))
        return Response(UserSearchResultSerializer(users, many=True).data)


class UserProfileView(APIView):
    """A user's public profile and how I relate to them. Any logged-in user; 404 for an unknown
    username (matched ignoring case)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: UserProfileSerializer, 404: OpenApiResponse(description="No such user")},
        tags=["users"],
    )
    def get(self, request: Request, username: str) -> Response:
        user = user_get_by_username(username=username)
        (user,) = users_with_relationship(viewer=request.user, users=[user])
        return Response(UserProfileSerializer(user).data)


class UserFriendsView(APIView):
    """A user's current friends (at most 1000), by username ignoring case. Logged-in users, for
    themselves or a current friend of that user (403 otherwise); 404 for an unknown username."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: UserSummarySerializer(many=True),
            403: OpenApiResponse(description="Not this user's friend"),
            404: OpenApiResponse(description="No such user"),
        },
        tags=["users"],
    )
    def get(self, request: Request, username: str) -> Response:
        user = user_get_private(viewer=request.user, username=username, denied_message=FRIENDS_PRIVATE)
        return Response(UserSummarySerializer(friends_of(user_id=user.pk), many=True).data)


urlpatterns: list[URLPattern] = [
    path("friends/", FriendListView.as_view(), name="friends"),
    path("friends/<str:username>/", FriendDetailView.as_view(), name="friend-detail"),
    path("friend-requests/", FriendRequestListView.as_view(), name="friend-requests"),
    path("friend-requests/count/", FriendRequestCountView.as_view(), name="friend-requests-count"),
    path(
        "friend-requests/<friend_request_id:request_id>/",
        FriendRequestDetailView.as_view(),
        name="friend-request-detail",
    ),
    path(
        "friend-requests/<friend_request_id:request_id>/accept/",
        FriendRequestAcceptView.as_view(),
        name="friend-request-accept",
    ),
    path(
        "friend-requests/<friend_request_id:request_id>/reject/",
        FriendRequestRejectView.as_view(),
        name="friend-request-reject",
    ),
    path("users/", UserSearchView.as_view(), name="user-search"),
    path("users/<str:username>/", UserProfileView.as_view(), name="user-profile"),
    path("users/<str:username>/friends/", UserFriendsView.as_view(), name="user-friends"),
]
