"""OpenAPI generation: the schema documents what the API really sends, as checked by fuzzing it
with schemathesis (bench/fuzz_api.py).

Two public drf-spectacular hooks, no private method overridden:

- ``ApiAutoSchema.get_operation`` (``DEFAULT_SCHEMA_CLASS``) finishes each operation: an error
  declared with a description only (``OpenApiResponse(description=...)``) gets the body the
  exception handler sends for it (field errors for a 400, ``{"detail"}`` otherwise); 401 is added
  to every operation that needs a login, 415 to every one that reads a body (the only parser is
  JSON), 429 to every rate-limited one; an optional query parameter sent blank (``?limit=``)
  counts as absent for a DRF serializer, so it is documented with ``allowEmptyValue``; a body
  with required properties is required.
- ``postprocess_request_strings`` (``POSTPROCESSING_HOOKS``): request strings carry the pattern
  that refuses NUL characters, as DRF's CharField does.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.hooks import postprocess_schema_enums
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from gamification.serializers.errors import VALIDATION_ERROR_SCHEMA, ErrorSerializer, ThrottledErrorSerializer

# "+", not "*": drf-spectacular documents a blank-allowing field as oneOf(this, a blank string),
# and the two must not both match "".
NO_NUL_PATTERN = r"^[^\u0000]+$"
BODY_METHODS = ("POST", "PUT", "PATCH")
STANDARD_ERRORS = {
    "401": "Not logged in, or the token is not valid.",
    "415": "The body is not application/json.",
    "429": "Rate-limited; try again after retry_after seconds.",
}
# String formats that DRF validates as CharFields (and so refuse NUL); dates and times are not.
CHAR_FORMATS = (None, "email", "uri")


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
    """A 400 whose body is field errors or ``{"detail"}`` (for ``@extend_schema(responses=...)``)."""
    return OpenApiResponse(VALIDATION_ERROR_SCHEMA, description=description)


class ApiAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry) -> dict | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._document_errors(operation)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required", False):
                parameter.setdefault("allowEmptyValue", True)
        body = operation.get("requestBody")
        # drf-spectacular infers "required" only from serializers; an inline schema with required
        # properties needs a body too.
        if body and any(media.get("schema", {}).get("required") for media in body["content"].values()):
            body["required"] = True
        return operation

    def _error_body(self, code: str) -> dict:
        if code == "400":
            schema: dict = VALIDATION_ERROR_SCHEMA
        else:
            serializer = ThrottledErrorSerializer if code == "429" else ErrorSerializer
            component = self.resolve_serializer(serializer, "response")
            schema = component.ref
        return {"application/json": {"schema": schema}}

    def _document_errors(self, operation: dict) -> None:
        responses = operation.setdefault("responses", {})
        needs_login = not any(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        wanted = {
            "401": needs_login,
            "415": self.method in BODY_METHODS and "requestBody" in operation,
            "429": any(self._throttles_method(throttle) for throttle in self.view.get_throttles()),
        }
        for code, applies in wanted.items():
            if applies and code not in responses:
                responses[code] = {"description": STANDARD_ERRORS[code]}
        for code, response in responses.items():
            if code.isdigit() and int(code) >= 400 and "content" not in response:
                response["content"] = self._error_body(code)

    def _throttles_method(self, throttle: Any) -> bool:
        methods = getattr(throttle, "throttled_methods", None)
        return methods is None or self.method in methods


def _refuse_nul(schema: Any) -> None:
    """Add the NUL-refusing pattern to the string properties of a request schema (not into $refs:
    those are components of their own)."""
    if not isinstance(schema, dict):
        return
    if (
        schema.get("type") == "string"
        and "pattern" not in schema
        and "enum" not in schema
        and schema.get("maxLength") != 0
        and schema.get("format") in CHAR_FORMATS
    ):
        if schema.get("minLength"):
            schema["pattern"] = NO_NUL_PATTERN
        else:
            # A blank string is allowed: exactly one of the alternatives matches it.
            branch = {**schema, "pattern": NO_NUL_PATTERN}
            schema.clear()
            schema["oneOf"] = [branch, {"type": "string", "maxLength": 0}]
        return
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            _refuse_nul(branch)
    for child in schema.get("properties", {}).values():
        _refuse_nul(child)
    _refuse_nul(schema.get("items"))


def postprocess_request_strings(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook (after the enum hook, which it keeps)."""
    result = postprocess_schema_enums(result, generator)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST names request components so
            _refuse_nul(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _refuse_nul(media.get("schema"))
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _refuse_nul(parameter.get("schema"))
    return result
