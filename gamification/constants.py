"""Fixed vocabularies: username words, the avatar palette, badge icon names of the frontend.

The avatar vocabulary is the one the Zeeguu web frontend draws (SPEC §1.3): it ships one SVG per
animal and compares every value exactly, drawing a default for anything else, so these strings
are stored and returned spelled exactly as below (mixed case included). The frontend reads them
from ``GET /api/avatar-options/``; nothing else should hard-code them.
"""

ADJECTIVES: tuple[str, ...] = (
    "agile", "bold", "brave", "bright", "calm", "clever", "cosy", "curious", "daring", "eager",
    "fancy", "gentle", "happy", "jolly", "keen", "kind", "lively", "lucky", "merry", "nimble",
    "proud", "quick", "quiet", "sunny", "swift", "witty",
)  # fmt: skip

# The frontend's animals, in its order (also the animals of generated usernames).
ANIMALS: tuple[str, ...] = (
    "otter", "elephant", "wolf", "fox", "owl", "panther", "lion", "tiger", "bear", "eagle",
    "rabbit", "deer", "leopard", "cheetah", "badger", "beaver", "lynx", "moose",
)  # fmt: skip

# Avatar images are the animals of the username generator.
AVATAR_IMAGES: tuple[str, ...] = ANIMALS

# The same index in both lists is a matching pair (a character colour and the background drawn
# for it). Spelled exactly as the frontend spells them: it compares the strings byte for byte.
CHARACTER_COLORS: tuple[str, ...] = (
    "#F6D110", "#f09000", "#EA2F14", "#6367FF", "#0D1A63", "#008BFF", "#005F02",
)  # fmt: skip
BACKGROUND_COLORS: tuple[str, ...] = (
    "#FFF9C7", "#ffe0b3", "#ffc3b3", "#C9BEFF", "#81A6C6", "#9CD5FF", "#BCD9A2",
)  # fmt: skip

# A new user gets a character colour with the background made for it (same index).
MATCHING_COLOR_PAIRS: tuple[tuple[str, str], ...] = tuple(zip(CHARACTER_COLORS, BACKGROUND_COLORS, strict=True))

# Badge icon files the Zeeguu web frontend ships (under its own /static/badges/): the
# Zeeguu-compatible API names one of them per activity type as ``icon_name``, or null.
FRONTEND_BADGE_ICON_NAMES: tuple[str, ...] = (
    "translated-words.svg",
    "correct-exercises.svg",
    "completed-audio-lessons.svg",
    "streak-days.svg",
    "learned-words.svg",
    "read-articles.svg",
    "friends.svg",
)

# Feature flags (django-waffle) reported to the user (``features`` of GET /api/me/ and of the
# Zeeguu-compatible get_user_details).
FEATURE_FLAGS: tuple[str, ...] = ("gamification",)

# A user has at most this many friends at once: the friends lists are returned whole (no
# pagination), so this bounds them. Enforced when a request is sent and when it is accepted.
FRIENDS_MAX = 1000

# A user blocks at most this many users at once: ``GET /api/blocks/`` returns them whole.
BLOCKS_MAX = 1000

USERNAME_MAX_LENGTH = 50
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
EXTERNAL_ID_MAX_LENGTH = 64
TIMEZONE_MAX_LENGTH = 64
