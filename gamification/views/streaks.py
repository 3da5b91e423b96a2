"""Streaks API (SPEC §4, §5): my per-language daily streaks and those of a friend."""

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.streaks import streaks_of_user
from gamification.selectors.users import user_get_private
from gamification.serializers.streaks import LanguageStreakSerializer

STREAKS_PRIVATE = "Only this user and their friends can see their streaks."


class MyStreaksView(APIView):
    """My daily streak in every language I have practised, by current streak then code.
    Logged-in users, for themselves."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: LanguageStreakSerializer(many=True)}, tags=["streaks"])
    def get(self, request: Request) -> Response:
        return Response(LanguageStreakSerializer(streaks_of_user(user=request.user), many=True).data)


class UserStreaksView(APIView):
    """A user's daily streaks, in the shape of ``/api/streaks/``, computed on their own local
    calendar. Logged-in users, for themselves or a current friend (403 otherwise, 404 for an
    unknown username)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: LanguageStreakSerializer(many=True),
            403: OpenApiResponse(description="Not this user's friend"),
            404: OpenApiResponse(description="No such user"),
        },
        tags=["streaks"],
    )
    def get(self, request: Request, username: str) -> Response:
        target = user_get_private(viewer=request.user, username=username, denied_message=STREAKS_PRIVATE)
        return Response(LanguageStreakSerializer(streaks_of_user(user=target), many=True).data)


urlpatterns: list[URLPattern] = [
    path("streaks/", MyStreaksView.as_view(), name="streaks"),
    path("users/<str:username>/streaks/", UserStreaksView.as_view(), name="user-streaks"),
]
