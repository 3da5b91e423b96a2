"""Classrooms (SPEC §5, §8): ``/api/classrooms/``: mine, joining one, the teacher's leaderboard
switch. Logged-in users; the switch for that classroom's teachers only (403 otherwise)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.models import Classroom
from gamification.selectors.classrooms import classroom_of_user, classrooms_of_user
from gamification.serializers.classrooms import (
    ClassroomJoinInputSerializer,
    ClassroomSerializer,
    ClassroomUpdateInputSerializer,
)
from gamification.services.classrooms import classroom_join, classroom_set_leaderboard
from gamification.views.inputs import validated_body

# drf-spectacular documents every PATCH body as partial (no field required); this one validates
# ClassroomUpdateInputSerializer whole, so its one field is required.
CLASSROOM_UPDATE_REQUEST = {
    "type": "object",
    "properties": {"leaderboard_enabled": {"type": "boolean", "description": "Show the classroom's leaderboard."}},
    "required": ["leaderboard_enabled"],
}


@extend_schema(tags=["classrooms"])
@extend_schema_view(
    list=extend_schema(summary="My classrooms, as a student or a teacher, by name"),
    partial_update=extend_schema(
        summary="Switch a classroom's leaderboard on or off (its teachers only)",
        parameters=[OpenApiParameter("classroom_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request={"application/json": CLASSROOM_UPDATE_REQUEST},
        responses={
            200: ClassroomSerializer,
            400: OpenApiResponse(description="leaderboard_enabled missing or not a boolean."),
            403: OpenApiResponse(description="Not a teacher of this classroom."),
            404: OpenApiResponse(description="No such classroom."),
        },
    ),
)
class ClassroomViewSet(viewsets.GenericViewSet):
    queryset = Classroom.objects.none()  # what the schema generator reads the path parameter from
    serializer_class = ClassroomSerializer
    lookup_url_kwarg = "classroom_id"
    lookup_value_regex = "[0-9]{1,18}"

    def list(self, request: Request) -> Response:
        return Response(ClassroomSerializer(classrooms_of_user(user=request.user), many=True).data)

    def partial_update(self, request: Request, classroom_id: str) -> Response:
        data = validated_body(ClassroomUpdateInputSerializer, request)
        classroom = classroom_set_leaderboard(
            classroom_id=int(classroom_id), acting_user=request.user, enabled=data["leaderboard_enabled"]
        )
        return Response(ClassroomSerializer(classroom_of_user(user=request.user, classroom_id=classroom.pk)).data)

    @extend_schema(
        summary="Join a classroom as a student with its invite code",
        request=ClassroomJoinInputSerializer,
        responses={
            201: ClassroomSerializer,
            400: OpenApiResponse(description="Missing or blank invite code."),
            404: OpenApiResponse(description="No classroom has this invite code."),
            409: OpenApiResponse(description="Already a member (student or teacher)."),
        },
    )
    @action(detail=False, methods=["post"])
    def join(self, request: Request) -> Response:
        data = validated_body(ClassroomJoinInputSerializer, request)
        classroom = classroom_join(user=request.user, invite_code=data["invite_code"])
        joined = classroom_of_user(user=request.user, classroom_id=classroom.pk)
        return Response(ClassroomSerializer(joined).data, status=status.HTTP_201_CREATED)
