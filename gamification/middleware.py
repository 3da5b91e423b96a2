"""Request middleware."""

import logging
import time
from http import HTTPStatus

from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.common import CommonMiddleware

from gamification.client_address import client_address
from gamification.services.db import is_database_unavailable
from gamification.views.errors import database_unavailable, error_body, is_json_path

# Headers an error keeps when its body is replaced.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


class CommonMiddlewareWithoutApiSlashRedirect(CommonMiddleware):
    """Django's CommonMiddleware, except that API paths are never redirected to add a slash.

    A redirect would turn a POST into a GET (and, with DEBUG on, Django raises instead): an API
    client that forgets the slash gets the JSON 404 instead.
    """

    def should_redirect_with_slash(self, request) -> bool:
        if is_json_path(request.path_info):
            return False
        return super().should_redirect_with_slash(request)


def error_detail(status: int) -> str:
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad request: the host, headers or body were refused."
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request failed."


class JsonErrorsMiddleware:
    """Under the API's paths, an error answered by anything but the API's own views (Django's
    HTML pages for a disallowed ``Host`` or an oversized body, a 405 from the docs view, the debug
    page) becomes ``{"detail": "..."}`` with the same status (``{"message": "..."}`` under the
    Zeeguu-compatible paths: ``views.errors.error_body``). Outermost but for the request log and
    CORS, so that it also sees the errors raised by the other middleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not is_json_path(request.path_info)
            or response.streaming
            or "json" in response.get("Content-Type", "")
        ):
            return response
        replacement = JsonResponse(
            error_body(request.path_info, error_detail(response.status_code)), status=response.status_code
        )
        for header in KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement


request_logger = logging.getLogger("gamification.request")


class RequestLogMiddleware:
    """One log line per request: method, path, status, duration and the client's address (as the
    rate limits see it). Never the query string (it may carry a session) nor any body."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
        request_logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "client": client_address(request),
                "user_id": user_id,
            },
        )
        return response


class DatabaseUnavailableMiddleware:
    """A view that loses the database answers 503 with ``Retry-After`` instead of a 500 (SPEC §14).

    DRF views included: the API's exception handler leaves such errors alone, so they reach
    ``process_exception``. The broken connection is dropped at once (rather than at the end of
    the request), so the next request opens a fresh one as soon as the database is back.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception: Exception):
        if not is_database_unavailable(exception):
            return None
        for connection in connections.all(initialized_only=True):
            # Outside any transaction only (the view's have ended; a test's has not).
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
        return database_unavailable(request)
