"""Friend requests and friendships (SPEC §6)."""

from django.db.models import Count, Q

from gamification.models import Friendship, User
from gamification.services.metrics import gauge_set_by_code


def active_friend_ids(*, user_id: int) -> list[int]:
    rows = Friendship.objects.filter(Q(user_low_id=user_id) | Q(user_high_id=user_id), active=True).values_list(
        "user_low_id", "user_high_id"
    )
    return [high if low == user_id else low for low, high in rows]


def friends_count_many(*, user_ids: list[int]) -> dict[int, int]:
    """Number of active friendships of each user, in two grouped queries."""
    counts = dict.fromkeys(user_ids, 0)
    active = Friendship.objects.filter(active=True)
    for field in ("user_low_id", "user_high_id"):
        for user_id, n in (
            active.filter(**{f"{field}__in": user_ids})
            .values_list(field)
            .annotate(n=Count("id"))
            .values_list(field, "n")
        ):
            counts[user_id] += n
    return counts


def friends_metric_refresh(*, user_ids: list[int]) -> None:
    """Make the FRIENDS gauge of each user equal their number of active friendships."""
    if user_ids:
        gauge_set_by_code(code="FRIENDS", values=friends_count_many(user_ids=user_ids))


def friends_recount_after_user_delete(*, user: User) -> None:
    """Delete ``user`` (cascading their friendships) and lower their former friends' FRIENDS
    metric. The caller owns the transaction."""
    former_friend_ids = active_friend_ids(user_id=user.pk)
    user.delete()
    friends_metric_refresh(user_ids=former_friend_ids)
