"""Tokens from before per-client tokens (DRF's authtoken) keep working after the upgrade
(migration gamification 0009)."""

import datetime as dt
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import time_machine
from django.apps import apps as django_apps
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gamification.models import ClientToken
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]
_migration = importlib.import_module("gamification.migrations.0009_convert_authtoken_tokens")


def convert() -> None:
    _migration.convert_authtoken_tokens(django_apps, None)


def me_with(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/me/")


@pytest.mark.django_db
class TestConversion:
    def test_a_legacy_key_authenticates_after_the_conversion_and_is_no_longer_stored(self):
        user = UserFactory()
        legacy = Token.objects.create(user=user)
        assert len(legacy.key) == 40
        assert me_with(legacy.key).status_code == 401  # before: knox does not know it

        convert()

        response = me_with(legacy.key)
        assert response.status_code == 200
        assert response.json()["username"] == user.username
        assert not Token.objects.exists()
        token = ClientToken.objects.get(user=user)
        assert token.digest == hash_token(legacy.key)
        assert token.token_key == legacy.key[:15]
        assert token.created == legacy.created
        assert abs(token.expiry - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)

    def test_a_converted_token_expires_like_any_other(self):
        legacy = Token.objects.create(user=UserFactory())
        convert()
        with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
            assert me_with(legacy.key).status_code == 401

    def test_every_users_token_is_converted_and_a_second_run_changes_nothing(self):
        keys = [Token.objects.create(user=UserFactory()).key for _ in range(3)]
        convert()
        convert()

        assert ClientToken.objects.count() == 3
        assert all(me_with(key).status_code == 200 for key in keys)


def _run_python(code: str, tmp_path: Path, settings_module: str = "tests.settings") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_upgrading_a_database_with_legacy_tokens_keeps_them_working(tmp_path):
    """The real upgrade path on a scratch SQLite database: the schema as it was before tokens
    moved to knox, a user with an authtoken key, then `migrate`."""
    result = _run_python(
        """
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", "gamification", "0007", verbosity=0)
        call_command("migrate", "authtoken", verbosity=0)
        from django.db import connection
        from rest_framework.authtoken.models import Token
        # The user table as it was at 0007 (today's model has columns added since).
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO gamification_user (password, email, username, name, timezone, avatar_image,"
                " avatar_character_color, avatar_background_color, is_staff, is_active, is_superuser,"
                " created_at) VALUES ('!', 'old@example.com', 'old_timer', '', 'UTC', 'fox', '#E4572E',"
                " '#FDE8E1', 0, 1, 0, '2026-01-01 00:00:00')"
            )
            user_id = cursor.lastrowid
        key = Token.objects.create(user_id=user_id).key

        call_command("migrate", verbosity=0)

        from django.test import Client
        response = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
        print(response.status_code, response.json()["username"], Token.objects.count())
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "old_timer", "0"]


def test_the_migrations_still_load_and_run_once_authtoken_is_uninstalled(tmp_path):
    (tmp_path / "without_authtoken.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        "INSTALLED_APPS = [app for app in INSTALLED_APPS if app != 'rest_framework.authtoken']  # noqa: F405\n"
    )
    result = _run_python(
        """
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
        from django.contrib import admin
        admin.autodiscover()
        from gamification.models import ClientToken
        print(ClientToken.objects.count())
        """,
        tmp_path,
        settings_module="without_authtoken",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]
