"""Avatars move to the Zeeguu web frontend's vocabulary (SPEC §1.3; migration gamification 0013),
and activity types get the frontend's icon names (0014)."""

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS

ROOT = Path(__file__).resolve().parents[1]
migration = importlib.import_module("gamification.migrations.0013_avatar_vocabulary_of_the_frontend")


def test_the_migration_writes_the_vocabulary_of_the_constants():
    # The migration keeps its own copy (it must not change when the constants do): today they agree.
    assert (migration.ANIMALS, migration.CHARACTER_COLORS, migration.BACKGROUND_COLORS) == (
        AVATAR_IMAGES,
        CHARACTER_COLORS,
        BACKGROUND_COLORS,
    )


class TestAnimals:
    @pytest.mark.parametrize("animal", AVATAR_IMAGES)
    def test_an_animal_of_the_list_stays_in_its_spelling(self, animal):
        assert migration.animal_for(image=animal, username="x", user_id=1) == animal
        assert migration.animal_for(image=animal.upper(), username="x", user_id=1) == animal

    def test_otherwise_the_animal_of_the_username(self):
        assert migration.animal_for(image="cat", username="calm_fox12", user_id=1) == "fox"
        assert migration.animal_for(image="dolphin", username="brave_moose", user_id=1) == "moose"

    @pytest.mark.parametrize(
        "former, kin",
        [("cat", "lynx"), ("dolphin", "otter"), ("seal", "otter"), ("hedgehog", "badger"), ("panda", "bear")],
    )
    def test_otherwise_the_nearest_kin(self, former, kin):
        # The username's animal is a former one too.
        assert migration.animal_for(image=former, username=f"calm_{former}7", user_id=1) == kin

    def test_otherwise_a_pick_that_is_the_same_on_every_run(self):
        picks = {migration.animal_for(image="unicorn", username="ada", user_id=42) for _ in range(3)}
        assert len(picks) == 1 and picks <= set(AVATAR_IMAGES)
        assert {migration.animal_for(image="", username="", user_id=n) for n in range(200)} == set(AVATAR_IMAGES)


class TestColours:
    @pytest.mark.parametrize("index", range(7))
    def test_a_former_pair_keeps_its_index(self, index):
        former = (migration.FORMER_CHARACTER_COLORS[index], migration.FORMER_BACKGROUND_COLORS[index])
        assert migration.colors_for(character=former[0], background=former[1]) == (
            CHARACTER_COLORS[index],
            BACKGROUND_COLORS[index],
        )

    def test_a_former_index_beyond_the_new_palette_takes_the_nearest_colour_and_stays_a_pair(self):
        # #5D4037 (a dark brown) is nearest to #0D1A63 (navy) of the seven, by RGB distance.
        character, background = migration.colors_for(character="#5D4037", background="#F1ECE9")
        assert character == "#0D1A63"
        assert background == BACKGROUND_COLORS[CHARACTER_COLORS.index(character)]

    def test_an_unmatched_pair_stays_unmatched(self):
        assert migration.colors_for(character="#E4572E", background="#D9F2EF") == ("#F6D110", "#BCD9A2")

    def test_values_of_the_new_palette_are_kept_in_their_spelling(self):
        assert migration.colors_for(character="#f6d110", background="#FFE0B3") == ("#F6D110", "#ffe0b3")

    def test_other_colours_take_the_nearest(self):
        assert migration.colors_for(character="#000000", background="#FFFFFF") == ("#005F02", "#FFF9C7")

    def test_a_value_that_is_no_colour_at_all_takes_its_partners_index_or_the_default(self):
        assert migration.colors_for(character="red", background="#9CD5FF") == ("#008BFF", "#9CD5FF")
        assert migration.colors_for(character="", background="") == ("#f09000", "#ffe0b3")

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12), st.text(max_size=30))
    def test_whatever_was_stored_ends_in_the_vocabulary(self, image, character, background, username):
        assert migration.animal_for(image=image, username=username, user_id=7) in AVATAR_IMAGES
        new_character, new_background = migration.colors_for(character=character, background=background)
        assert new_character in CHARACTER_COLORS and new_background in BACKGROUND_COLORS


def test_upgrading_a_database_maps_avatars_and_fills_icon_names(tmp_path):
    """The real upgrade on a scratch SQLite database: users and activity types as they were at
    0012, then ``migrate``."""
    code = """
        import django
        django.setup()
        from django.core.management import call_command
        from django.db import connection
        call_command("migrate", "gamification", "0012", verbosity=0)
        rows = [
            ("a@example.com", "calm_cat1", "cat", "#2E86AB", "#DDEFF7"),
            ("b@example.com", "keen_fox2", "seal", "#5D4037", "#F1ECE9"),
            ("c@example.com", "chosen", "OTTER", "#e4572e", "#D9F2EF"),
        ]
        with connection.cursor() as cursor:
            for email, username, image, character, background in rows:
                cursor.execute(
                    "INSERT INTO gamification_user (password, email, username, name, timezone, avatar_image,"
                    " avatar_character_color, avatar_background_color, is_staff, is_active, is_superuser,"
                    " created_at, updated_at) VALUES ('!', %s, %s, '', 'UTC', %s, %s, %s, 0, 1, 0,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                    [email, username, image, character, background],
                )
            for code, mechanism in (("TRANSLATED_WORDS", "COUNTER"), ("FRIENDS", "GAUGE"), ("PROFILE_CUSTOMISED", "ONE_TIME")):
                cursor.execute(
                    "INSERT INTO gamification_activitytype (code, name, description, award_mechanism)"
                    " VALUES (%s, %s, '', %s)",
                    [code, code.title(), mechanism],
                )
        call_command("migrate", verbosity=0)
        from gamification.models import ActivityType, User
        for user in User.objects.order_by("email"):
            print(user.username, user.avatar_image, user.avatar_character_color, user.avatar_background_color)
        for activity_type in ActivityType.objects.order_by("code"):
            print(activity_type.code, activity_type.frontend_icon_name or "-")
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(SQLITE_PATH=str(tmp_path / "db.sqlite3"), DJANGO_SETTINGS_MODULE="tests.settings")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "calm_cat1 lynx #EA2F14 #ffc3b3",
        "keen_fox2 fox #0D1A63 #81A6C6",
        "chosen otter #F6D110 #BCD9A2",
        "FRIENDS friends.svg",
        "PROFILE_CUSTOMISED -",
        "TRANSLATED_WORDS translated-words.svg",
    ]
