"""Request parsing, for /api/ and the Zeeguu-compatible paths."""

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No request of this API nests deeper than 4 levels ({"events": [{"user": ...}]}, or an avatar
# inside a PATCH); 32 leaves room for any client while keeping every recursive walk over the data
# (ours, DRF's, the serializers') far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def _check_structure(data: Any) -> None:
    """Refuse data nested deeper than ``MAX_JSON_DEPTH`` and strings that are not valid Unicode
    text (JSON allows escapes such as a lone ``\\ud800``, which no database column and no UTF-8
    response can hold). Iterative, so that no nesting depth can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError(
                    "JSON parse error - strings must be valid Unicode (no lone surrogate escapes)."
                ) from None
            continue
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))


def body_too_large_message() -> str:
    return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """JSON with bounds: at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, at most ``MAX_JSON_DEPTH``
    levels of nesting, and valid Unicode text only; 400 otherwise.

    Python's ``json`` raises ``RecursionError`` on deep nesting, which would otherwise be a 500.
    (DRF hands JSON parsers ``request.body``, where Django checks the size first; the exception
    handler answers that with a JSON 400. The check here covers streams that bypass it.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            raw = b""
        elif limit is None:
            raw = stream.read()
        else:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise ParseError(body_too_large_message())
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from None
        _check_structure(data)
        return data
