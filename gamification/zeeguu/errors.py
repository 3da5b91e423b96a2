"""Errors of the Zeeguu-compatible views: every one is JSON ``{"message": "..."}`` with the
status upstream uses, 401 included (upstream answers some with an HTML page; SPEC §12).

Errors raised outside these views (an unknown path, a refused ``Host``, a lost database) get the
same key from ``gamification.views.errors.error_body``.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from gamification.exceptions import ServiceError
from gamification.parsers import body_too_large_message

# What a 503 asks clients to wait before trying again (seconds), as the rest of the service does.
RETRY_AFTER_SECONDS = 5


class CompatError(exceptions.APIException):
    """An answer upstream gives with a status and a message of its own (e.g. 400 "Receiver user
    not found" where ``/api/`` answers 404)."""

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(detail=message)


class PlatformUnavailable(exceptions.APIException):
    """The platform could not tell who a session belongs to (unreachable, too slow, or an answer
    that is not the agreed one): the request is refused with a 503, never served as anyone."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The learning platform cannot confirm this session right now; try again shortly."


def message_of(data: Any) -> str:
    """One readable line from DRF's error data (``{"detail": ...}``, field errors, lists)."""
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            text = message_of(value)
            parts.append(text if key in ("detail", "non_field_errors", "message") else f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(data, list | tuple):
        return " ".join(message_of(item) for item in data)
    return str(data)


def _django_validation_message(error: DjangoValidationError) -> str:
    if hasattr(error, "error_dict"):
        return message_of(
            {field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()}
        )
    return " ".join(error.messages)


def compat_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response({"message": body_too_large_message()}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceError):
        return Response({"message": exc.message}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"message": _django_validation_message(exc)}, status=status.HTTP_400_BAD_REQUEST)
    # DRF's handler sets the headers (WWW-Authenticate, Retry-After of a throttle) and leaves
    # anything else, a lost database included, to the middleware (a JSON 503 there too).
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        message = "Too many requests; try again later."
    else:
        message = message_of(response.data)
    response.data = {"message": message}
    if isinstance(exc, PlatformUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
