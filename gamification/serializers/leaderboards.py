"""Leaderboard query parameters and responses (SPEC §8)."""

import datetime as dt

from rest_framework import serializers

from gamification.selectors.leaderboards import METRICS
from gamification.serializers.fields import QueryIntegerField
from gamification.serializers.users import UserSummarySerializer, user_summary_out
from gamification.timeutils import PERIOD_WEEK, PERIODS

MAX_OFFSET_BACK = 520
MAX_LIMIT = 100
DEFAULT_LIMIT = 50


class LeaderboardQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(
        choices=METRICS,
        help_text="Times are in seconds (reading_time, listening_time, exercise_time); the rest are counts.",
    )
    period = serializers.ChoiceField(
        choices=PERIODS,
        default=PERIOD_WEEK,
        help_text="week: ISO week from Monday 00:00; month: calendar month; in the caller's timezone.",
    )
    offset = QueryIntegerField(
        min_value=-MAX_OFFSET_BACK,
        max_value=0,
        default=0,
        help_text=f"0 = the current period, -1 = the previous one, ... (at most {MAX_OFFSET_BACK} back).",
    )
    limit = QueryIntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601 in the zone the datetime carries (the caller's), not the server's."""

    def to_representation(self, value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None


class StandingSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    value = serializers.IntegerField()


class LeaderboardRowSerializer(StandingSerializer):
    user = UserSummarySerializer()
    is_self = serializers.BooleanField()
    is_friend = serializers.BooleanField(help_text="Whether this user is the caller's friend now; false on own row.")


class LeaderboardSerializer(serializers.Serializer):
    metric = serializers.CharField()
    period = serializers.CharField()
    period_start = LocalDateTimeField(allow_null=True, help_text="Inclusive; null for period=all.")
    period_end = LocalDateTimeField(allow_null=True, help_text="Exclusive; null for period=all.")
    rows = LeaderboardRowSerializer(many=True)
    me = StandingSerializer(allow_null=True, help_text="The caller's rank, also beyond limit; null for a teacher.")


def _local_datetime_out(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def leaderboard_out(board) -> dict:
    """``LeaderboardSerializer(board).data`` as a plain dict (hand-built: boards list up to 100
    rows on every request; see serializers.fields)."""
    return {
        "metric": board.metric,
        "period": board.period,
        "period_start": _local_datetime_out(board.period_start),
        "period_end": _local_datetime_out(board.period_end),
        "rows": [
            {
                "rank": row.rank,
                "value": row.value,
                "user": user_summary_out(row.user),
                "is_self": row.is_self,
                "is_friend": row.is_friend,
            }
            for row in board.rows
        ],
        "me": None if board.me is None else {"rank": board.me.rank, "value": board.me.value},
    }
