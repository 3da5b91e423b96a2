"""Blocks and privacy settings: ``/api/blocks/`` (a resource on the router) and
``/api/me/privacy/``.

Logged-in users (401 otherwise), for their own blocks and settings only.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.constants import BLOCKS_MAX
from gamification.models import User
from gamification.selectors.relationships import blocks_made_by, privacy_settings_of
from gamification.serializers.safety import BlockCreateSerializer, BlockSerializer, PrivacySettingsSerializer
from gamification.services.blocks import block_create, block_delete
from gamification.services.privacy import privacy_settings_update
from gamification.views.inputs import validated_body
from gamification.views.schema import validation_error


@extend_schema(tags=["safety"])
@extend_schema_view(
    list=extend_schema(
        summary=f"The users I block, newest first (at most {BLOCKS_MAX})", responses={200: BlockSerializer(many=True)}
    ),
    create=extend_schema(
        summary="Block someone: our friendship ends, pending requests either way go, and we no longer see each other",
        request=BlockCreateSerializer,
        responses={
            201: BlockSerializer,
            400: validation_error("Missing username, or yourself"),
            404: OpenApiResponse(description="No user with this username"),
            409: OpenApiResponse(description="Already blocked, or the blocks limit reached"),
        },
    ),
    destroy=extend_schema(
        summary="Unblock someone (the friendship is not restored)",
        request=None,
        responses={204: OpenApiResponse(description="Unblocked"), 404: OpenApiResponse(description="Not blocked")},
    ),
)
class BlockViewSet(viewsets.GenericViewSet):
    """My blocks. Logged-in users, for their own blocks."""

    queryset = User.objects.none()  # what the schema generator reads the path parameter from
    serializer_class = BlockCreateSerializer  # what OPTIONS describes for POST
    lookup_field = "username"
    lookup_value_regex = "[^/]+"

    def list(self, request: Request) -> Response:
        return Response(BlockSerializer(blocks_made_by(user_id=request.user.pk)[:BLOCKS_MAX], many=True).data)

    def create(self, request: Request) -> Response:
        username = validated_body(BlockCreateSerializer, request)["username"]
        block = block_create(blocker=request.user, username=username)
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, username: str) -> Response:
        block_delete(blocker=request.user, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrivacySettingsView(APIView):
    """My privacy settings. Logged-in users, for their own settings."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="My privacy settings", responses={200: PrivacySettingsSerializer}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(PrivacySettingsSerializer(privacy_settings_of(user_id=request.user.pk)).data)

    @extend_schema(
        summary="Change my privacy settings (only the fields sent)",
        request=PrivacySettingsSerializer,
        responses={200: PrivacySettingsSerializer, 400: validation_error("A value that is not allowed")},
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        changes = validated_body(PrivacySettingsSerializer, request, partial=True)
        settings = privacy_settings_update(user=request.user, **changes)
        return Response(PrivacySettingsSerializer(settings).data)
