"""Each activity type names the badge icon the Zeeguu web frontend ships for it (``icon_name`` of
the Zeeguu-compatible API), staff-editable; the seven tiered types get theirs."""

from django.db import migrations, models

FRONTEND_BADGE_ICON_NAMES = (
    "translated-words.svg",
    "correct-exercises.svg",
    "completed-audio-lessons.svg",
    "streak-days.svg",
    "learned-words.svg",
    "read-articles.svg",
    "friends.svg",
)
ICON_OF_TYPE = {
    "TRANSLATED_WORDS": "translated-words.svg",
    "CORRECT_EXERCISES": "correct-exercises.svg",
    "COMPLETED_AUDIO_LESSONS": "completed-audio-lessons.svg",
    "STREAK_DAYS": "streak-days.svg",
    "LEARNED_WORDS": "learned-words.svg",
    "READ_ARTICLES": "read-articles.svg",
    "FRIENDS": "friends.svg",
}


def fill_icon_names(apps, schema_editor):
    ActivityType = apps.get_model("gamification", "ActivityType")
    for code, icon_name in ICON_OF_TYPE.items():
        ActivityType.objects.filter(code=code, frontend_icon_name="").update(frontend_icon_name=icon_name)


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0013_avatar_vocabulary_of_the_frontend"),
    ]

    operations = [
        migrations.AddField(
            model_name="activitytype",
            name="frontend_icon_name",
            field=models.CharField(
                blank=True,
                choices=[(name, name) for name in FRONTEND_BADGE_ICON_NAMES],
                default="",
                help_text="The icon file the Zeeguu web frontend shows for this type's badges; blank: its default logo.",
                max_length=40,
                verbose_name="Zeeguu frontend icon",
            ),
        ),
        migrations.RunPython(fill_icon_names, migrations.RunPython.noop),
    ]
