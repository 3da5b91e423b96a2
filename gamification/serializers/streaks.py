from collections.abc import Iterable

from rest_framework import serializers

from gamification.serializers.fields import date_out


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
    freezes_held = serializers.IntegerField(
        min_value=0, help_text="Streak freezes held now, after the days already missed (at most 2)."
    )
    frozen_days = serializers.ListField(
        child=serializers.DateField(),
        help_text="Local dates (YYYY-MM-DD) bridged by a freeze in the current run, oldest first.",
    )
    seconds_today = serializers.IntegerField(min_value=0, help_text="Practice seconds today in this language.")
    seconds_to_count = serializers.IntegerField(
        min_value=0, help_text="Seconds still needed for today to count; 0 once it counts, and on a rest day."
    )
    at_risk = serializers.BooleanField(help_text="The streak is above 0 and today, not a rest day, does not count yet.")


def language_streaks_out(rows: Iterable) -> list[dict]:
    """``LanguageStreakSerializer(rows, many=True).data`` as plain dicts (hand-built: the
    streaks are read on every app start; see serializers.fields)."""
    return [
        {
            "code": row.code,
            "name": row.name,
            "daily_streak": row.daily_streak,
            "max_streak": row.max_streak,
            "max_streak_date": date_out(row.max_streak_date),
            "practiced_today": row.practiced_today,
            "freezes_held": row.freezes_held,
            "frozen_days": [date_out(day) for day in row.frozen_days],
            "seconds_today": row.seconds_today,
            "seconds_to_count": row.seconds_to_count,
            "at_risk": row.at_risk,
        }
        for row in rows
    ]
