"""Daily streaks per language and friend streaks (SPEC §4).

INTERFACE STUB: the streaks work (issue 5) replaces these bodies. Event ingestion calls
``practice_record`` for every accepted practice event inside its transaction, and
``rebuild_metrics`` calls ``streaks_rebuild``.
"""

import datetime as dt

from gamification.models import User


def practice_record(*, user: User, language_id: str, occurred_at: dt.datetime, seconds: int) -> None:
    """Add practice time to the user's local day; update the language streak, STREAK_DAYS and
    the friend streaks when the day becomes counted. Fixed number of queries."""
    return None


def streaks_rebuild(*, user_id: int) -> None:
    """Recompute the user's practice days, language streaks, STREAK_DAYS and friend streaks from
    the activity log."""
    return None
