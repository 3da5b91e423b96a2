"""Friend requests (SPEC §5, §6.1): a resource on the router, ``/api/friend-requests/``.

Every action needs a login (401 otherwise) and acts for the caller only: a request id that is not
the caller's to act on is a 404, like one that does not exist. Sending is rate-limited.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.filters.friend_requests import FriendRequestFilter
from gamification.selectors.friends import FRIEND_REQUESTS_LIST_MAX, friend_requests_of, friend_requests_received_count
from gamification.selectors.streaks import friend_streaks
from gamification.serializers.friends import (
    FriendRequestAcceptedSerializer,
    FriendRequestCountSerializer,
    FriendRequestCreateSerializer,
    FriendRequestSerializer,
)
from gamification.services.friends import (
    friend_request_accept,
    friend_request_cancel,
    friend_request_reject,
    friend_request_send,
)
from gamification.views.throttles import FriendRequestThrottle

NOT_YOURS = OpenApiResponse(description="No such pending request, or not yours to act on")
REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Friend request id")


@extend_schema(tags=["friends"])
@extend_schema_view(
    list=extend_schema(
        summary="My pending requests, received (default) or sent, newest first (at most 500)",
        parameters=[
            OpenApiParameter(
                "direction",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["received", "sent"],
                default="received",
                description="received (default; also when blank) or sent.",
            )
        ],
        responses={200: FriendRequestSerializer(many=True), 400: OpenApiResponse(description="Unknown direction")},
    ),
    create=extend_schema(
        summary="Send a friend request",
        request=FriendRequestCreateSerializer,
        responses={
            201: FriendRequestSerializer,
            400: OpenApiResponse(description="Missing receiver, or yourself"),
            404: OpenApiResponse(description="No user with this username"),
            409: OpenApiResponse(description="Already friends, or a request is pending either way"),
        },
    ),
    destroy=extend_schema(
        summary="Cancel a request I sent (its sender only)",
        parameters=[REQUEST_ID],
        responses={204: OpenApiResponse(description="Cancelled"), 404: NOT_YOURS},
    ),
)
class FriendRequestViewSet(viewsets.GenericViewSet):
    """Pending friend requests: list, send, cancel, accept, reject, count. Logged-in users, for
    their own requests."""

    serializer_class = FriendRequestSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FriendRequestFilter
    lookup_url_kwarg = "request_id"
    # Positive ids that fit a BIGINT: anything else in the path is a 404, never an overflow.
    lookup_value_regex = "[0-9]{1,18}"

    def get_throttles(self):
        return [FriendRequestThrottle()] if self.action == "create" else []

    def get_queryset(self):
        return friend_requests_of(user=self.request.user)

    def list(self, request: Request) -> Response:
        requests = self.filter_queryset(self.get_queryset())[:FRIEND_REQUESTS_LIST_MAX]
        return Response(FriendRequestSerializer(requests, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = FriendRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sent = friend_request_send(sender=request.user, receiver_username=serializer.validated_data["receiver"])
        return Response(FriendRequestSerializer(sent).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, request_id: str) -> Response:
        friend_request_cancel(request_id=int(request_id), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="How many pending requests I have received", responses={200: FriendRequestCountSerializer})
    @action(detail=False, methods=["get"])
    def count(self, request: Request) -> Response:
        return Response({"received": friend_requests_received_count(user=request.user)})

    @extend_schema(
        summary="Accept a request I received: we become friends (its receiver only)",
        request=None,
        parameters=[REQUEST_ID],
        responses={
            201: FriendRequestAcceptedSerializer,
            404: NOT_YOURS,
            409: OpenApiResponse(description="One of us has reached the friends limit"),
        },
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, request_id: str) -> Response:
        accepted = friend_request_accept(request_id=int(request_id), acting_user=request.user)
        payload = {
            "friend": accepted.friend,
            "friends_since": accepted.friendship.created_at,
            "friend_streak": friend_streaks(friendships=[accepted.friendship]).get(accepted.friendship.pk, 0),
        }
        return Response(FriendRequestAcceptedSerializer(payload).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reject a request I received (its receiver only)",
        request=None,
        parameters=[REQUEST_ID],
        responses={204: OpenApiResponse(description="Rejected"), 404: NOT_YOURS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, request_id: str) -> Response:
        friend_request_reject(request_id=int(request_id), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
