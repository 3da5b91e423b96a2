"""Shapes of blocks and privacy settings. Never an email."""

from rest_framework import serializers

from gamification.constants import USERNAME_MAX_LENGTH
from gamification.models import ProgressVisibility
from gamification.serializers.fields import StrictBooleanField, StrictCharField
from gamification.serializers.users import UserSummarySerializer


class BlockCreateSerializer(serializers.Serializer):
    # Longer than any username: the service answers 404 for a name nobody can hold.
    username = StrictCharField(
        max_length=USERNAME_MAX_LENGTH * 4, help_text="Username of the person to block (matched ignoring case)."
    )


class BlockSerializer(serializers.Serializer):
    """A block I made: the user I block and since when."""

    user = UserSummarySerializer(source="blocked")
    created_at = serializers.DateTimeField()


class PrivacySettingsSerializer(serializers.Serializer):
    """My privacy settings; on PATCH, only the fields sent change."""

    progress_visible_to = serializers.ChoiceField(
        choices=ProgressVisibility.choices,
        help_text="Who besides me sees my friends list, badges and streaks: friends (default) or nobody.",
    )
    discoverable = StrictBooleanField(help_text="False: search finds me only by my exact username.")
    on_leaderboards = StrictBooleanField(
        help_text="False: I am left out of other learners' friends and classroom boards (teachers still see me)."
    )
