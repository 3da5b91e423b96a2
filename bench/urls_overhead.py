"""Benchmark-only URLs: the site's own URLs plus two hello-world baselines for
``bench/http_overhead.py``.

Only ``bench/settings_overhead.py`` (``DJANGO_SETTINGS_MODULE=bench.settings_overhead``, set by
the bench for the gunicorn it starts) routes here; production's ``ROOT_URLCONF`` never does.

- ``/bench/hello/``: a DRF view without authentication or permission checks.
- ``/bench/hello-auth/``: the same view behind the API's authentication (the token look-up) and
  ``IsAuthenticated``; no other query.
- ``/bench/least/<n>/``: the least work of the n-th member-list endpoint
  (``http_overhead.least_work()``, whose statements the bench writes to the JSON file
  ``BENCH_LEAST_WORK`` names): behind the same authentication, its statements run and their
  rows written as JSON, nothing else. What it serves is the most any implementation of that
  endpoint that reads the database on each request could serve.
"""

import json
import os
from functools import cache
from pathlib import Path

from django.db import connection
from django.urls import include, path
from rest_framework.exceptions import NotFound
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


@cache
def _least_work() -> list[list[str]]:
    path = os.environ.get("BENCH_LEAST_WORK")
    return json.loads(Path(path).read_text()) if path else []


class LeastWorkView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, number: int) -> Response:
        statements = _least_work()
        if number >= len(statements):
            raise NotFound("No such least work.")
        rows = []
        with connection.cursor() as cursor:
            for sql in statements[number]:
                cursor.execute(sql)
                rows.append(cursor.fetchall())
        return Response(rows)


urlpatterns = [
    path("bench/hello/", HelloView.as_view()),
    path("bench/hello-auth/", AuthenticatedHelloView.as_view()),
    path("bench/least/<int:number>/", LeastWorkView.as_view()),
    path("", include("zeeguu_site.urls")),
]

handler404 = "gamification.views.errors.api_not_found"
handler500 = "gamification.views.errors.api_server_error"
