"""Leaderboards of friends and of classrooms (SPEC §8)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.leaderboards import classroom_leaderboard, friends_leaderboard
from gamification.serializers.leaderboards import LeaderboardQuerySerializer, LeaderboardSerializer, leaderboard_out
from gamification.views.inputs import validated_query

# The validated query of each query string seen lately: validating the four fields with DRF costs
# a tenth of a millisecond, more than the rest of the view but the queries, and the same few
# query strings come back on every request. Invalid ones are never kept (they raise each time);
# the size is bounded against a client sending endless variants.
_VALIDATED: dict[str, dict] = {}
_VALIDATED_MAX = 512


def _board_query(request: Request) -> dict:
    """``validated_query(LeaderboardQuerySerializer, request)``, remembered per query string."""
    query_string = request.META.get("QUERY_STRING", "")
    validated = _VALIDATED.get(query_string)
    if validated is None:
        validated = dict(validated_query(LeaderboardQuerySerializer, request))
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED[query_string] = validated
    return validated


ERRORS = {
    400: OpenApiResponse(description="Unknown metric or period, positive offset or bad limit (field errors)."),
    401: OpenApiResponse(description="Not logged in."),
}


class FriendsLeaderboardView(APIView):
    """The caller and whoever was their friend at the end of the period. Logged-in users."""

    @extend_schema(
        parameters=[LeaderboardQuerySerializer],
        responses={200: LeaderboardSerializer, **ERRORS},
        tags=["leaderboards"],
        summary="Friends leaderboard",
    )
    def get(self, request: Request) -> Response:
        board = friends_leaderboard(user=request.user, **_board_query(request))
        return Response(leaderboard_out(board))


class ClassroomLeaderboardView(APIView):
    """A classroom's students. Its students (while the teacher has the board switched on) and
    its teachers (always); anyone else gets 403."""

    @extend_schema(
        parameters=[LeaderboardQuerySerializer],
        responses={
            200: LeaderboardSerializer,
            **ERRORS,
            403: OpenApiResponse(description="Not a member, or a student while the board is off."),
            404: OpenApiResponse(description="No such classroom."),
        },
        tags=["leaderboards"],
        summary="Classroom leaderboard",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        board = classroom_leaderboard(user=request.user, classroom_id=classroom_id, **_board_query(request))
        return Response(leaderboard_out(board))
