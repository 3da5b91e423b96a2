"""The request parsers moved to ``gamification.parsers`` (shared by /api/ and the
Zeeguu-compatible paths); these names stay importable from here."""

from gamification.parsers import MAX_JSON_DEPTH, StrictJSONParser, body_too_large_message

__all__ = ["MAX_JSON_DEPTH", "StrictJSONParser", "body_too_large_message"]
