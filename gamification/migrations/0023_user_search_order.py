"""User search's order as an index: (username length, lower-cased username by code point).

On MariaDB/MySQL ``username_order`` is made ``utf8mb4_bin`` (the default collation ignores accents
and sorts punctuation by its own rules); SQLite compares text by code point already. MariaDB
rebuilds the users table for each stored generated column (writes to it wait meanwhile).
"""

import django.db.models.functions.text
from django.db import migrations, models


def _username_order_collation(schema_editor, collation: str) -> None:
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            f"ALTER TABLE gamification_user MODIFY username_order varchar(50){collation}"
            " GENERATED ALWAYS AS (LOWER(username)) STORED"
        )


def order_by_code_point(apps, schema_editor):
    _username_order_collation(schema_editor, " COLLATE utf8mb4_bin")


def order_by_collation(apps, schema_editor):
    _username_order_collation(schema_editor, "")


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('gamification', '0022_board_index_kind_first'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='username_length',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Length(django.db.models.functions.text.Lower('username')), output_field=models.IntegerField()),
        ),
        migrations.AddField(
            model_name='user',
            name='username_order',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Lower('username'), output_field=models.CharField(max_length=50)),
        ),
        migrations.RunPython(order_by_code_point, order_by_collation, atomic=False, elidable=False),
        migrations.AddIndex(
            model_name='user',
            index=models.Index(fields=['username_length', 'username_order'], name='user_search_order'),
        ),
    ]
