"""Checks on text that other learners see (display names): one place, used by every way in."""

import unicodedata

from django.core.exceptions import ValidationError

# Unicode categories that draw nothing or reorder what follows: controls (NUL, BEL, ESC of ANSI
# escapes, tabs, newlines), format characters (zero-width spaces and joiners, bidi overrides and
# isolates, the soft hyphen), surrogates, private use, and line/paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Letters that render as blank space (Hangul fillers, the blank Braille pattern).
BLANK_LETTERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})

DISPLAY_NAME_REFUSED = (
    "Names cannot contain control, formatting, zero-width or text-direction characters (found U+{code:04X})."
)


def display_name_validate(name: str) -> None:
    """Refuse names with characters that are invisible or change how the text around them is
    drawn: on a leaderboard they make look-alikes of other learners' names (``Ali\\u200bce``) or
    flip the row (U+202E). ValidationError naming the first offending code point."""
    for char in name:
        if char in BLANK_LETTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            raise ValidationError(DISPLAY_NAME_REFUSED.format(code=ord(char)), code="invisible_character")
