"""Who may see whose private data (SPEC §6.2)."""

from django.db.models import Q

from gamification.models import Friendship


def are_friends(user_id: int, other_id: int) -> bool:
    low, high = sorted((user_id, other_id))
    return Friendship.objects.filter(user_low_id=low, user_high_id=high, active=True).exists()


def can_view_private(*, viewer_id: int, target_id: int) -> bool:
    """Friends lists, badges and streaks: the user themself and their current friends only."""
    return viewer_id == target_id or are_friends(viewer_id, target_id)


def active_friendships_of(user_id: int):
    return Friendship.objects.filter(Q(user_low_id=user_id) | Q(user_high_id=user_id), active=True)
