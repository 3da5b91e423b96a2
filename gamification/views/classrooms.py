"""The caller's classrooms, joining one, and the teacher's leaderboard switch (SPEC §5, §8)."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.classrooms import classroom_of_user, classrooms_of_user
from gamification.serializers.classrooms import (
    ClassroomJoinInputSerializer,
    ClassroomSerializer,
    ClassroomUpdateInputSerializer,
)
from gamification.services.classrooms import classroom_join, classroom_set_leaderboard

UNAUTHENTICATED = OpenApiResponse(description="Not logged in.")
# drf-spectacular documents every PATCH body as partial (no field required); this one validates
# ClassroomUpdateInputSerializer whole, so its one field is required.
CLASSROOM_UPDATE_REQUEST = {
    "type": "object",
    "properties": {"leaderboard_enabled": {"type": "boolean", "description": "Show the classroom's leaderboard."}},
    "required": ["leaderboard_enabled"],
}


def _validated(serializer_class: type, request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ClassroomListView(APIView):
    """The caller's classrooms, as a student or a teacher, by name. Logged-in users."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ClassroomSerializer(many=True), 401: UNAUTHENTICATED}, tags=["classrooms"])
    def get(self, request: Request) -> Response:
        return Response(ClassroomSerializer(classrooms_of_user(user=request.user), many=True).data)


class ClassroomJoinView(APIView):
    """Join a classroom as a student with its invite code. Logged-in users."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ClassroomJoinInputSerializer,
        responses={
            201: ClassroomSerializer,
            400: OpenApiResponse(description="Missing or blank invite code."),
            401: UNAUTHENTICATED,
            404: OpenApiResponse(description="No classroom has this invite code."),
            409: OpenApiResponse(description="Already a member (student or teacher)."),
        },
        tags=["classrooms"],
    )
    def post(self, request: Request) -> Response:
        data = _validated(ClassroomJoinInputSerializer, request)
        classroom = classroom_join(user=request.user, invite_code=data["invite_code"])
        joined = classroom_of_user(user=request.user, classroom_id=classroom.pk)
        return Response(ClassroomSerializer(joined).data, status=status.HTTP_201_CREATED)


class ClassroomDetailView(APIView):
    """Switch a classroom's leaderboard on or off. Teachers of that classroom only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request={"application/json": CLASSROOM_UPDATE_REQUEST},
        responses={
            200: ClassroomSerializer,
            400: OpenApiResponse(description="leaderboard_enabled missing or not a boolean."),
            401: UNAUTHENTICATED,
            403: OpenApiResponse(description="Not a teacher of this classroom."),
            404: OpenApiResponse(description="No such classroom."),
        },
        tags=["classrooms"],
    )
    def patch(self, request: Request, classroom_id: int) -> Response:
        data = _validated(ClassroomUpdateInputSerializer, request)
        classroom = classroom_set_leaderboard(
            classroom_id=classroom_id, acting_user=request.user, enabled=data["leaderboard_enabled"]
        )
        return Response(ClassroomSerializer(classroom_of_user(user=request.user, classroom_id=classroom.pk)).data)


urlpatterns = [
    path("classrooms/", ClassroomListView.as_view(), name="classroom-list"),
    path("classrooms/join/", ClassroomJoinView.as_view(), name="classroom-join"),
    path("classrooms/<int:classroom_id>/", ClassroomDetailView.as_view(), name="classroom-detail"),
]
