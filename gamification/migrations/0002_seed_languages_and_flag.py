"""Seed the known languages and the ``gamification`` feature flag (off until staff switch it)."""

from django.db import migrations

LANGUAGES = {
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fr": "French", "hu": "Hungarian", "it": "Italian", "nl": "Dutch", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish",
    "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}  # fmt: skip


def seed(apps, schema_editor):
    Language = apps.get_model("gamification", "Language")
    for code, name in LANGUAGES.items():
        Language.objects.get_or_create(code=code, defaults={"name": name})
    Flag = apps.get_model("waffle", "Flag")
    Flag.objects.get_or_create(
        name="gamification",
        defaults={"everyone": None, "note": "Shows friends, streaks, badges and leaderboards."},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0001_initial"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
