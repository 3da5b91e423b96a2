"""Helpers for leaderboard tests: raw activity rows straight in the database."""

import hashlib

from gamification.models import ActivityEvent, FirstOccurrence
from tests.factories import EventFactory


def practice(user, kind: str, seconds: int, at) -> ActivityEvent:
    return EventFactory(user=user, type="practice", kind=kind, duration_seconds=seconds, occurred_at=at)


def answer(user, at, *, correct: bool = True) -> ActivityEvent:
    return EventFactory(user=user, type="exercise_answered", correct=correct, occurred_at=at)


def first(user, kind: str, at, key: str) -> FirstOccurrence:
    return FirstOccurrence.objects.create(
        user=user,
        kind=kind,
        key=key,
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
        language_id="de",
        occurred_at=at,
    )


def board_values(board) -> dict[str, int]:
    return {row.user.username: row.value for row in board.rows}
