"""Tokens issued before per-client tokens keep working until they expire.

DRF's authtoken kept one plain 40-character key per user. Each becomes a ClientToken holding the
digest of that key (knox's ``hash_token``; the look-up is by digest, and no length rule applies
to incoming keys, so the old key authenticates as it is), expiring TOKEN_TTL after the upgrade.
The plain keys are then deleted from authtoken's table.

Not reversible: the keys are gone (migrating back leaves everyone to log in again).
When authtoken is no longer installed there is nothing to convert, and this migration still
loads: its dependency on authtoken is added only while authtoken is installed.
"""

from django.apps import apps as global_apps
from django.conf import settings
from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token

TOKEN_KEY_LENGTH = 15  # knox.settings.CONSTANTS.TOKEN_KEY_LENGTH
BATCH = 1000
CLIENT_NAME = "token from before per-client tokens"


def convert_authtoken_tokens(apps, schema_editor):
    try:
        Token = apps.get_model("authtoken", "Token")
    except LookupError:
        return
    ClientToken = apps.get_model("gamification", "ClientToken")
    alias = schema_editor.connection.alias if schema_editor is not None else "default"
    expiry = timezone.now() + settings.TOKEN_TTL
    converted = []
    for token in Token.objects.using(alias).order_by("pk").iterator(chunk_size=BATCH):
        converted.append(
            ClientToken(
                digest=hash_token(token.key),
                token_key=token.key[:TOKEN_KEY_LENGTH],
                user_id=token.user_id,
                created=token.created,
                expiry=expiry,
                client_name=CLIENT_NAME,
            )
        )
        if len(converted) == BATCH:
            ClientToken.objects.using(alias).bulk_create(converted, ignore_conflicts=True)
            converted = []
    ClientToken.objects.using(alias).bulk_create(converted, ignore_conflicts=True)
    Token.objects.using(alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [("gamification", "0008_clienttoken")] + (
        [("authtoken", "0004_alter_tokenproxy_options")] if global_apps.is_installed("rest_framework.authtoken") else []
    )

    operations = [migrations.RunPython(convert_authtoken_tokens, migrations.RunPython.noop)]
