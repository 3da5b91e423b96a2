"""Fixed vocabularies: username words and the avatar palette.

The frontend reads the avatar values from ``GET /api/avatar-options/``; nothing else should
hard-code them.
"""

ADJECTIVES: tuple[str, ...] = (
    "agile", "bold", "brave", "bright", "calm", "clever", "cosy", "curious", "daring", "eager",
    "fancy", "gentle", "happy", "jolly", "keen", "kind", "lively", "lucky", "merry", "nimble",
    "proud", "quick", "quiet", "sunny", "swift", "witty",
)  # fmt: skip

ANIMALS: tuple[str, ...] = (
    "badger", "beaver", "bear", "cat", "deer", "dolphin", "eagle", "fox", "hedgehog", "koala",
    "lynx", "otter", "owl", "panda", "penguin", "rabbit", "seal", "tiger", "turtle", "wolf",
)  # fmt: skip

# Avatar images are the animals of the username generator.
AVATAR_IMAGES: tuple[str, ...] = ANIMALS

# Character colours are saturated; background colours are light tints that keep contrast.
CHARACTER_COLORS: tuple[str, ...] = (
    "#E4572E", "#F3A712", "#2E86AB", "#3BB273", "#7768AE", "#D64598", "#1B998B", "#5D4037",
)  # fmt: skip
BACKGROUND_COLORS: tuple[str, ...] = (
    "#FDE8E1", "#FEF3D9", "#DDEFF7", "#E0F4E8", "#ECE9F6", "#F9E1EF", "#D9F2EF", "#F1ECE9",
)  # fmt: skip

# A new user gets a character colour with the background made for it (same index).
MATCHING_COLOR_PAIRS: tuple[tuple[str, str], ...] = tuple(zip(CHARACTER_COLORS, BACKGROUND_COLORS, strict=True))

# A user has at most this many friends at once: the friends lists are returned whole (no
# pagination), so this bounds them. Enforced when a request is sent and when it is accepted.
FRIENDS_MAX = 1000

USERNAME_MAX_LENGTH = 50
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
EXTERNAL_ID_MAX_LENGTH = 64
TIMEZONE_MAX_LENGTH = 64
