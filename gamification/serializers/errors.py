"""Shapes of error responses, for the OpenAPI schema (the exception handler builds them)."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """DRF's ``{"detail": "..."}``: 401, 403, 404, 409, and 400s that concern no single field."""

    detail = serializers.CharField()


class ThrottledErrorSerializer(ErrorSerializer):
    retry_after = serializers.FloatField(allow_null=True, help_text="Seconds until a retry may succeed.")


# A 400 is either {"detail": "..."} or field errors, {"field": ["message", ...]}; nested inputs
# (an avatar, a batch of events) nest their field errors the same way.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": 'Either {"detail": "..."} or field errors: {"<field>": ["<message>", ...]}, nested for nested '
    "inputs.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
