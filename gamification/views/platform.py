"""The platform API (SPEC §11.1): ``/api/platform/users/<external_id>/``.

Only the learning platform's service account (``manage.py create_service_account``, which holds
the permission to report for others) may call it: 401 without a login, 403 for everyone else.
Users are known by the platform's id (``external_id``, compared exactly). Answers carry
``PlatformUser`` (the user's own ``Me`` payload, email included, plus ``external_id``): they go
to the platform only, never to another learner.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.exceptions import NotFoundError
from gamification.filters.platform import PlatformUserFilter
from gamification.models import User
from gamification.permissions import IsPlatformAccount
from gamification.selectors.platform import platform_users
from gamification.serializers.platform import PlatformUserInputSerializer, PlatformUserSerializer
from gamification.serializers.users import TokenOutputSerializer
from gamification.services.platform import platform_user_get, platform_user_put, platform_user_token_issue
from gamification.services.users import user_delete
from gamification.views.accounts import client_name_of
from gamification.views.inputs import validated_body
from gamification.views.schema import validation_error

EXTERNAL_ID = OpenApiParameter(
    "external_id", str, OpenApiParameter.PATH, description="The platform's id of the user (1 to 64 characters)."
)
NOT_PLATFORM = OpenApiResponse(description="Not the platform's service account.")
UNKNOWN = OpenApiResponse(description="No user has this external id.")


class PlatformUserPagination(CursorPagination):
    """Pages of at most 100, oldest change first, so ``?updated_since=`` walks every change once
    even while profiles keep changing (a profile changed meanwhile comes again, later)."""

    page_size = 100
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("updated_at", "id")


@extend_schema(tags=["platform"])
@extend_schema_view(
    list=extend_schema(
        summary="Platform users by external id, or changed since a time (reconciliation); platform only",
        responses={
            200: PlatformUserSerializer(many=True),
            400: validation_error("A malformed external id, more than 100 of them, or a bad time."),
            403: NOT_PLATFORM,
        },
    ),
    retrieve=extend_schema(
        summary="A platform user; platform only",
        parameters=[EXTERNAL_ID],
        responses={200: PlatformUserSerializer, 403: NOT_PLATFORM, 404: UNKNOWN},
    ),
    update=extend_schema(
        summary="Create (201) or update (200) the user with this external id; platform only",
        parameters=[EXTERNAL_ID],
        request=PlatformUserInputSerializer,
        responses={
            200: PlatformUserSerializer,
            201: PlatformUserSerializer,
            400: validation_error("Field errors: a taken email or username, an unknown time zone..."),
            403: NOT_PLATFORM,
        },
    ),
    destroy=extend_schema(
        summary="Delete the user and all their gamification data (as DELETE /api/me/); platform only",
        parameters=[EXTERNAL_ID],
        responses={204: OpenApiResponse(description="Deleted"), 403: NOT_PLATFORM, 404: UNKNOWN},
    ),
)
class PlatformUserViewSet(viewsets.GenericViewSet):
    """Users the platform provisions, by the platform's id. Platform's service account only."""

    permission_classes = [IsPlatformAccount]
    queryset = User.objects.none()  # what the schema generator reads the path parameter from
    lookup_field = "external_id"
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = PlatformUserFilter
    pagination_class = PlatformUserPagination

    def get_queryset(self):
        return platform_users()

    def _user(self, external_id: str) -> User:
        user = platform_user_get(external_id=external_id)
        if user is None:
            raise NotFoundError("No user has this external id.")
        return user

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PlatformUserSerializer(page, many=True).data)

    def retrieve(self, request: Request, external_id: str) -> Response:
        return Response(PlatformUserSerializer(self._user(external_id)).data)

    def update(self, request: Request, external_id: str) -> Response:
        data = validated_body(PlatformUserInputSerializer, request)
        user, created = platform_user_put(external_id=external_id, **data)
        return Response(
            PlatformUserSerializer(user).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def destroy(self, request: Request, external_id: str) -> Response:
        user_delete(user=self._user(external_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A new client token for this user, to hand to the platform's frontend; platform only",
        parameters=[EXTERNAL_ID],
        request=None,
        responses={
            201: TokenOutputSerializer,
            403: OpenApiResponse(description="Not the platform's account, or the user is staff or a service account."),
            404: UNKNOWN,
        },
    )
    @action(detail=True, methods=["post"])
    def tokens(self, request: Request, external_id: str) -> Response:
        issued = platform_user_token_issue(
            user=self._user(external_id), client_name=f"platform: {client_name_of(request)}"
        )
        return Response(TokenOutputSerializer(issued).data, status=status.HTTP_201_CREATED)
