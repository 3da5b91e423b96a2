"""Reading validated input in views: the request body or the query string through an input
serializer, raising DRF's ValidationError (400 with field errors) otherwise."""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


def validated_body(serializer_class: type, request: Request, **kwargs: Any) -> dict:
    """The body as ``serializer_class`` validates it; a body that is not a JSON object is a 400."""
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_query(serializer_class: type, request: Request, **kwargs: Any) -> dict:
    serializer = serializer_class(data=request.query_params, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
