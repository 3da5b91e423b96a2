"""Benchmark-only URLs: the site's own URLs plus two hello-world baselines for
``bench/http_overhead.py``.

Only ``bench/settings_overhead.py`` (``DJANGO_SETTINGS_MODULE=bench.settings_overhead``, set by
the bench for the gunicorn it starts) routes here; production's ``ROOT_URLCONF`` never does.

- ``/bench/hello/``: a DRF view without authentication or permission checks.
- ``/bench/hello-auth/``: the same view behind the API's authentication (the token look-up) and
  ``IsAuthenticated``; no other query.
"""

from django.urls import include, path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class HelloView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"hello": "world"})


class AuthenticatedHelloView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"hello": "world"})


urlpatterns = [
    path("bench/hello/", HelloView.as_view()),
    path("bench/hello-auth/", AuthenticatedHelloView.as_view()),
    path("", include("zeeguu_site.urls")),
]

handler404 = "gamification.views.errors.api_not_found"
handler500 = "gamification.views.errors.api_server_error"
