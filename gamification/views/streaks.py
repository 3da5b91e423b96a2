"""My streaks (SPEC §4, §5): ``GET /api/streaks/``. A friend's streaks are an action of
``views.users.UserViewSet``."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.selectors.streaks import streaks_of_user
from gamification.serializers.streaks import LanguageStreakSerializer, language_streaks_out


class MyStreaksView(APIView):
    """My daily streak in every language I have practised, by current streak then code.
    Logged-in users, for themselves."""

    @extend_schema(responses={200: LanguageStreakSerializer(many=True)}, tags=["streaks"])
    def get(self, request: Request) -> Response:
        return Response(language_streaks_out(streaks_of_user(user=request.user)))
