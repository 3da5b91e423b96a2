"""The API's JSON renderer: DRF's ``JSONRenderer`` output, written by orjson (several times
faster on the badge, friend and leaderboard lists).

For what the API answers with (dicts, lists, strings, integers, booleans, None; datetimes are
strings by the time they are rendered) the bytes are the ones DRF's renderer writes: compact
separators, UTF-8 without escaping, U+2028 and U+2029 escaped. Datetimes, dates, times, Decimals,
lazy strings and the other types orjson does not write itself take DRF's encoder
(``rest_framework.utils.encoders``), so they come out as DRF writes them. Pretty-printed answers
(``indent`` in the Accept header, the browsable API), keys that are not strings and integers
beyond 64 bits go through DRF's own renderer. The one difference: a float may be written in
another, equal form (``1e16`` where Python writes ``1e+16``; NaN as null where DRF writes the
invalid ``NaN``); the API's fields are integers.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in text or _PARAGRAPH_SEPARATOR in text:
            text = text.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return text
