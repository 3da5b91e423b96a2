"""The "Badge editors" group: staff in it may view, add, change and delete activity types and
badges in the admin, and nothing else (SPEC §7)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Badge editors"
CODENAMES = [f"{action}_{model}" for model in ("activitytype", "badge") for action in ("view", "add", "change", "delete")]


def create_badge_editors(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); on a fresh
    # database they do not exist yet, so create this app's permissions now.
    app_config = apps.get_app_config("gamification")
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.set(Permission.objects.filter(content_type__app_label="gamification", codename__in=CODENAMES))


def remove_badge_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gamification", "0003_activityevent_report_events_for_others"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_badge_editors, remove_badge_editors)]
