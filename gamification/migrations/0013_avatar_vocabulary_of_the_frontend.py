"""Avatars take the Zeeguu web frontend's vocabulary (SPEC §1.3): its 18 animals and its 7 + 7
colours, spelled exactly as it spells them. Existing avatars are mapped into it keeping each
user's choice as close as possible:

- an animal still in the list stays (in its canonical spelling); one that is not becomes the
  animal of the user's username when that one is in the list, else its nearest kin (cat → lynx,
  seal → otter, ...), else a pick derived from the user's id (the same on every run);
- a colour already in the list stays (canonical spelling); one of the former palette keeps its
  index when that index exists in the new one; anything else becomes the nearest colour by RGB
  distance; a pair that matched (same index in both lists) still matches.

Self-contained: the palettes are written out here, not imported, so that later changes to
``gamification.constants`` cannot change what this migration does.
"""

import re
import zlib

from django.db import migrations, models

ANIMALS = (
    "otter", "elephant", "wolf", "fox", "owl", "panther", "lion", "tiger", "bear", "eagle",
    "rabbit", "deer", "leopard", "cheetah", "badger", "beaver", "lynx", "moose",
)  # fmt: skip
CHARACTER_COLORS = ("#F6D110", "#f09000", "#EA2F14", "#6367FF", "#0D1A63", "#008BFF", "#005F02")
BACKGROUND_COLORS = ("#FFF9C7", "#ffe0b3", "#ffc3b3", "#C9BEFF", "#81A6C6", "#9CD5FF", "#BCD9A2")
# The palettes before this migration.
FORMER_CHARACTER_COLORS = ("#E4572E", "#F3A712", "#2E86AB", "#3BB273", "#7768AE", "#D64598", "#1B998B", "#5D4037")
FORMER_BACKGROUND_COLORS = ("#FDE8E1", "#FEF3D9", "#DDEFF7", "#E0F4E8", "#ECE9F6", "#F9E1EF", "#D9F2EF", "#F1ECE9")
# Former animals that the frontend does not draw, and the one of its animals closest to each.
NEAREST_KIN = {
    "cat": "lynx",
    "dolphin": "otter",
    "seal": "otter",
    "hedgehog": "badger",
    "koala": "bear",
    "panda": "bear",
    "penguin": "owl",
    "turtle": "beaver",
}
# The frontend's default colours (its index 1) for a value that is not a colour at all.
DEFAULT_COLOR_INDEX = 1
GENERATED_USERNAME = re.compile(r"[a-z]+_([a-z]+?)\d*", re.ASCII)
BATCH = 500


def _index_ignoring_case(value, values):
    lowered = [item.lower() for item in values]
    key = (value or "").strip().lower()
    return lowered.index(key) if key in lowered else None


def _rgb(value):
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", (value or "").strip())
    if match is None:
        return None
    digits = match.group(1)
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


def _nearest_index(value, values):
    rgb = _rgb(value)
    if rgb is None:
        return None
    return min(range(len(values)), key=lambda i: (sum((a - b) ** 2 for a, b in zip(rgb, _rgb(values[i]))), i))


def animal_for(*, image, username, user_id):
    """The animal of the new list closest to the stored ``image``."""
    known = _index_ignoring_case(image, ANIMALS)
    if known is not None:
        return ANIMALS[known]
    match = GENERATED_USERNAME.fullmatch(username or "")
    if match and match.group(1) in ANIMALS:
        return match.group(1)
    kin = NEAREST_KIN.get((image or "").strip().lower())
    if kin is not None:
        return kin
    return ANIMALS[zlib.crc32(str(user_id).encode()) % len(ANIMALS)]


def _color_index(value, values, former):
    """The index in ``values`` for a stored colour: itself, its former index, or the nearest."""
    index = _index_ignoring_case(value, values)
    if index is not None:
        return index
    former_index = _index_ignoring_case(value, former)
    if former_index is not None and former_index < len(values):
        return former_index
    return _nearest_index(value, values)


def colors_for(*, character, background):
    """``(character_color, background_color)`` in the new palette for a stored pair."""
    char_index = _color_index(character, CHARACTER_COLORS, FORMER_CHARACTER_COLORS)
    back_index = _color_index(background, BACKGROUND_COLORS, FORMER_BACKGROUND_COLORS)
    matched = any(
        _index_ignoring_case(character, chars) is not None
        and _index_ignoring_case(character, chars) == _index_ignoring_case(background, backs)
        for chars, backs in ((CHARACTER_COLORS, BACKGROUND_COLORS), (FORMER_CHARACTER_COLORS, FORMER_BACKGROUND_COLORS))
    )
    if char_index is None:
        char_index = back_index if back_index is not None else DEFAULT_COLOR_INDEX
    if back_index is None or matched:
        back_index = char_index
    return CHARACTER_COLORS[char_index], BACKGROUND_COLORS[back_index]


def map_avatars(apps, schema_editor):
    User = apps.get_model("gamification", "User")
    fields = ["avatar_image", "avatar_character_color", "avatar_background_color"]
    changed = []
    for user in User.objects.only("id", "username", *fields).order_by("id").iterator(chunk_size=BATCH):
        image = animal_for(image=user.avatar_image, username=user.username, user_id=user.pk)
        character, background = colors_for(
            character=user.avatar_character_color, background=user.avatar_background_color
        )
        if (image, character, background) != (
            user.avatar_image,
            user.avatar_character_color,
            user.avatar_background_color,
        ):
            user.avatar_image, user.avatar_character_color, user.avatar_background_color = image, character, background
            changed.append(user)
        if len(changed) >= BATCH:
            User.objects.bulk_update(changed, fields)
            changed = []
    if changed:
        User.objects.bulk_update(changed, fields)


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0012_badge_audit_entry"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="avatar_image",
            field=models.CharField(choices=[(animal, animal) for animal in ANIMALS], max_length=20),
        ),
        migrations.AlterField(
            model_name="user",
            name="avatar_character_color",
            field=models.CharField(choices=[(color, color) for color in CHARACTER_COLORS], max_length=7),
        ),
        migrations.AlterField(
            model_name="user",
            name="avatar_background_color",
            field=models.CharField(choices=[(color, color) for color in BACKGROUND_COLORS], max_length=7),
        ),
        # Not reversible in meaning (the former values are gone); going back leaves the new ones.
        migrations.RunPython(map_avatars, migrations.RunPython.noop),
    ]
