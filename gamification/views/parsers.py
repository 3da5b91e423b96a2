"""Request parsing."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _has_unencodable_text(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_unencodable_text(key) or _has_unencodable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_unencodable_text(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    """JSON, refusing strings that are not valid Unicode text.

    JSON allows escapes such as a lone ``\\ud800``, which no database column and no UTF-8 response
    can hold: without this check they would fail deep down as a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_unencodable_text(data):
            raise ParseError("JSON parse error - strings must be valid Unicode (no lone surrogate escapes).")
        return data
