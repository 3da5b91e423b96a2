"""OpenAPI generation (``DEFAULT_SCHEMA_CLASS``): the schema documents what the API really sends,
as checked by fuzzing it with schemathesis (bench/fuzz_api.py).

Every documented error has a body schema, and the errors any endpoint can meet (401, 415, 429)
are documented here once instead of on every view. The hooks overridden are drf-spectacular's
own ``_get_*``/``_map_*`` methods (drf-spectacular is pinned in requirements.txt).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from gamification.serializers.errors import VALIDATION_ERROR_SCHEMA, ErrorSerializer, ThrottledErrorSerializer

UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="Not logged in, or the token is not valid.")
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(ErrorSerializer, description="The body is not application/json.")
THROTTLED = OpenApiResponse(ThrottledErrorSerializer, description="Rate-limited; try again after retry_after seconds.")


# DRF's CharField refuses NUL characters (ProhibitNullCharactersValidator); say so in the schema.
# "+", not "*": drf-spectacular documents a blank-allowing field as oneOf(this, a blank string),
# and the two must not both match "".
NO_NUL_PATTERN = r"^[^\u0000]+$"
BODY_METHODS = ("POST", "PUT", "PATCH")
ERROR_BODIES: dict[int, Any] = {400: VALIDATION_ERROR_SCHEMA, 429: ThrottledErrorSerializer}


class ClientTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>``. drf-spectacular's own knox extension matches knox's class
    only, not subclasses."""

    target_class = "gamification.authentication.ClientTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )


def validation_error(description: str) -> OpenApiResponse:
    return OpenApiResponse(VALIDATION_ERROR_SCHEMA, description=description)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the errors our exception handler produces.

    An error response declared with a description only (``OpenApiResponse(description=...)``)
    gets the body the exception handler sends for it: field errors for a 400, ``{"detail"}``
    otherwise. 401 is added to every operation that needs a login, 415 to every one that reads a
    body (the only parser is JSON), 429 to every rate-limited one.
    Request strings carry the pattern that refuses NUL characters, as DRF does. An optional query
    parameter sent blank (``?limit=``) counts as absent for a DRF serializer, so it is documented
    with ``allowEmptyValue``.
    """

    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and not parameter.get("required", False):
                parameter.setdefault("allowEmptyValue", True)
        return parameters

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "enum" not in schema
        ):
            schema["pattern"] = NO_NUL_PATTERN
        return schema

    def _get_request_body(self, direction: str = "request") -> dict | None:
        body = super()._get_request_body(direction)
        # drf-spectacular infers "required" only from serializers; an inline schema with required
        # properties needs a body too.
        if body and any(media.get("schema", {}).get("required") for media in body["content"].values()):
            body["required"] = True
        return body

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code, response in list(responses.items()):
            if code.isdigit() and int(code) >= 400 and "content" not in response:
                body = ERROR_BODIES.get(int(code), ErrorSerializer)
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(body, description=response.get("description", "")), code, direction=direction
                )
        needs_login = not any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        if needs_login and "401" not in responses:
            responses["401"] = self._get_response_for_code(UNAUTHENTICATED, "401", direction=direction)
        if "415" not in responses and self.method in BODY_METHODS and self.get_request_serializer() is not None:
            responses["415"] = self._get_response_for_code(UNSUPPORTED_MEDIA_TYPE, "415", direction=direction)
        if "429" not in responses and any(self._throttles_method(throttle) for throttle in self.view.get_throttles()):
            responses["429"] = self._get_response_for_code(THROTTLED, "429", direction=direction)
        return responses

    def _throttles_method(self, throttle: Any) -> bool:
        methods = getattr(throttle, "throttled_methods", None)
        return methods is None or self.method in methods
