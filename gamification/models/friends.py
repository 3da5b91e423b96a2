from django.conf import settings
from django.db import models
from django.db.models import F, Q


class FriendRequest(models.Model):
    """A pending request. Accept, reject and cancel delete the row.

    ``user_low``/``user_high`` are the pair in id order: their unique constraint allows one
    pending request per unordered pair, whichever direction it was sent.
    """

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_friend_requests")
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="received_friend_requests"
    )
    # The reverse names let a query of users join a viewer's request on either side
    # (``selectors.users``: the search's relationships); nothing else goes through them.
    user_low = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="friend_requests_as_low"
    )
    user_high = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="friend_requests_as_high"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high"], name="friendrequest_one_per_pair"),
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="friendrequest_pair_ordered"),
            models.CheckConstraint(
                condition=Q(user_low=F("sender"), user_high=F("receiver"))
                | Q(user_low=F("receiver"), user_high=F("sender")),
                name="friendrequest_pair_matches_users",
            ),
        ]
        indexes = [
            models.Index(fields=["receiver", "-created_at"], name="friendrequest_receiver_new"),
            models.Index(fields=["sender", "-created_at"], name="friendrequest_sender_new"),
        ]

    def __str__(self) -> str:
        return f"friend request from {self.sender} to {self.receiver}"


class Friendship(models.Model):
    """One row per friendship, the pair in id order. Unfriending sets ``ended_at`` and clears
    ``active``; friends again later is a new row.

    ``active`` is TRUE while the friendship lasts and NULL once it ended: NULLs are distinct in
    unique indexes, so (user_low, user_high, active) allows one active row per pair and any number
    of ended ones on SQLite and MariaDB alike (MariaDB has no partial indexes).
    """

    # Reverse names as FriendRequest's (the search's join of a viewer's friendship).
    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="friendships_as_low")
    user_high = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="friendships_as_high"
    )
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(null=True, default=True, editable=False)
    # Friend streak (SPEC §4.2; rule in docs/streaks.md), maintained by
    # gamification.services.streaks. Days are day numbers of the friendship: day n is each
    # friend's n-th local date from their own local date of ``created_at`` (day 0), so the two
    # friends' day n may be different calendar dates. The run is the latest run of days on which
    # both friends had a counted day: ``streak_length`` of them, from ``streak_first_day`` to
    # ``streak_last_day``. (The length is stored apart from the span so that days that neither
    # break nor grow a run can lie inside it.)
    streak_length = models.PositiveIntegerField(default=0)
    streak_first_day = models.PositiveIntegerField(null=True, blank=True, editable=False)
    streak_last_day = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # For each friend, the last day up to which they counted every day after the run
    # (``streak_last_day`` when they have not counted the next one), at most
    # ``timeutils.MAX_DAY_NUMBER_LAG`` days after it. One friend may have finished a day the other
    # has not reached yet: reading needs these to tell "waiting for the other friend" from "missed
    # a day" without a query.
    streak_low_through_day = models.PositiveIntegerField(null=True, blank=True, editable=False)
    streak_high_through_day = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high", "active"], name="friendship_one_active_per_pair"),
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="friendship_pair_ordered"),
            models.CheckConstraint(
                condition=Q(active=True, ended_at__isnull=True) | Q(active__isnull=True, ended_at__isnull=False),
                name="friendship_active_iff_not_ended",
            ),
            models.CheckConstraint(
                condition=Q(streak_length=0)
                | Q(
                    streak_first_day__isnull=False,
                    streak_last_day__isnull=False,
                    streak_low_through_day__isnull=False,
                    streak_high_through_day__isnull=False,
                    streak_first_day__lte=F("streak_last_day"),
                    streak_low_through_day__gte=F("streak_last_day"),
                    streak_high_through_day__gte=F("streak_last_day"),
                ),
                name="friendship_streak_run_whole",
            ),
        ]
        indexes = [
            models.Index(fields=["user_high", "user_low"], name="friendship_high_low"),
        ]

    def __str__(self) -> str:
        state = f"ended {self.ended_at:%Y-%m-%d}" if self.ended_at else "active"
        return f"{self.user_low} and {self.user_high}, friends since {self.created_at:%Y-%m-%d} ({state})"
