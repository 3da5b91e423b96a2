from rest_framework import serializers


class LanguageStreakSerializer(serializers.Serializer):
    """One language of a user's streaks (SPEC §4.1)."""

    code = serializers.CharField(help_text="ISO 639-1 code of the language.")
    name = serializers.CharField()
    daily_streak = serializers.IntegerField(
        min_value=0, help_text="Current run of counted days; 0 once a local day was missed."
    )
    max_streak = serializers.IntegerField(min_value=0, help_text="Longest run of counted days ever.")
    max_streak_date = serializers.DateField(
        allow_null=True, help_text="Local date (YYYY-MM-DD) of the last day of the longest run; null before any."
    )
    practiced_today = serializers.BooleanField(help_text="Today (the user's local day) is already a counted day.")
