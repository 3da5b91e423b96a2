"""JSON errors in DRF's conventions, for every failure the API can meet."""

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from gamification.exceptions import ServiceError
from gamification.parsers import body_too_large_message
from gamification.services.db import is_database_unavailable

# Paths whose every answer is JSON, errors included (the admin keeps Django's HTML pages): the
# API, the Zeeguu-compatible paths (``/<ZEEGUU_COMPAT_PREFIX>/``, ``/zeeguu/`` by default) and the
# probes.
JSON_PATH_PREFIXES = ("/api/", f"/{settings.ZEEGUU_COMPAT_PREFIX}/", "/healthz", "/readyz")
# What a 503 asks clients to wait before repeating the request (seconds).
RETRY_AFTER_SECONDS = 5


def _validation_payload(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {field: _messages(errors) for field, errors in error.error_dict.items()}
    return {"detail": " ".join(error.messages)}


def _messages(errors: list) -> list:
    result: list = []
    for item in errors:
        if isinstance(item, DjangoValidationError):
            for message in item.messages if not hasattr(item, "error_dict") else [item]:
                result.append(message)
        else:
            result.append(item)
    # A nested dict of errors (e.g. avatar fields) is passed through as given.
    if len(result) == 1 and isinstance(result[0], dict):
        return result[0]  # type: ignore[return-value]
    return result


def compat_path_prefix() -> str:
    """Where the Zeeguu-compatible paths live (SPEC §12): ``/zeeguu/`` unless configured."""
    return f"/{settings.ZEEGUU_COMPAT_PREFIX}/"


def is_compat_path(path: str) -> bool:
    return path.startswith(compat_path_prefix())


def is_json_path(path: str) -> bool:
    return path.startswith(JSON_PATH_PREFIXES)


def error_body(path: str, message: str) -> dict[str, str]:
    """The body of an error answered outside a view (middleware, handlers): ``{"detail": ...}``
    as DRF words it, except under the Zeeguu-compatible paths, whose clients read
    ``{"message": ...}`` (SPEC §12). The one place that decides the key."""
    return {"message": message} if is_compat_path(path) else {"detail": message}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": body_too_large_message()}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError) and isinstance(getattr(exc, "errors", None), dict):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_payload(exc), status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.Throttled):
        response.data = {"detail": "Too many requests; try again later.", "retry_after": exc.wait}
    return response


def api_not_found(request, exception=None):
    if not is_json_path(request.path):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body(request.path, "Not found."), status=404)


def api_server_error(request):
    # Raised outside a view (in a middleware), a lost database still gets its 503.
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    if not is_json_path(request.path):
        return defaults.server_error(request)
    return JsonResponse(error_body(request.path, "Server error."), status=500)


def database_unavailable(request) -> HttpResponse:
    """The 503 for a request that met an unreachable database (SPEC §14): nothing was written,
    repeat after ``Retry-After`` seconds. JSON under the API's paths, a short page elsewhere."""
    if is_json_path(request.path):
        response: HttpResponse = JsonResponse(
            error_body(request.path, "The service is temporarily unavailable; try again shortly."), status=503
        )
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title>"
            "<h1>Service unavailable</h1><p>The database cannot be reached. Try again shortly.</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
