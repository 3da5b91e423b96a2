"""Reading streaks (SPEC §4). Reading never writes.

INTERFACE STUB: the streaks work (issue 5) replaces these bodies; the friends API already
calls them, so their signatures stay.
"""

from collections.abc import Iterable

from gamification.models import Friendship


def friend_streaks(*, friendships: Iterable[Friendship]) -> dict[int, int]:
    """Current friend streak of each friendship, by friendship id, without extra queries per row
    (the friendships come with both users' timezones loaded)."""
    return {friendship.pk: 0 for friendship in friendships}


def languages_for_users(*, user_ids: Iterable[int]) -> dict[int, list[dict]]:
    """For each user: ``[{code, name, daily_streak, max_streak}]`` of the languages they
    practised, in one or two queries whatever the number of users."""
    return {user_id: [] for user_id in user_ids}
