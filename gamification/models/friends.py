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
    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
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
        return f"{self.sender_id} -> {self.receiver_id}"


class Friendship(models.Model):
    """One row per friendship, the pair in id order. Unfriending sets ``ended_at`` and clears
    ``active``; friends again later is a new row.

    ``active`` is TRUE while the friendship lasts and NULL once it ended: NULLs are distinct in
    unique indexes, so (user_low, user_high, active) allows one active row per pair and any number
    of ended ones on SQLite and MariaDB alike (MariaDB has no partial indexes).
    """

    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(null=True, default=True, editable=False)
    # Friend streak (SPEC §4.2; rule in docs/streaks.md), maintained by
    # gamification.services.streaks: the latest run of calendar dates on which both friends had a
    # counted day, each on their own local date; its length and its last date.
    streak_length = models.PositiveIntegerField(default=0)
    streak_last_date = models.DateField(null=True, blank=True)
    # For each friend, the last date up to which they have a counted day on every date after the
    # run (``streak_last_date`` itself when they have not counted the next date yet). A friend
    # ahead in time (UTC+14 against UTC-11) may have finished a date the other has not reached:
    # reading needs these to tell "waiting for the other friend" from "missed a day".
    streak_low_through = models.DateField(null=True, blank=True, editable=False)
    streak_high_through = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high", "active"], name="friendship_one_active_per_pair"),
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="friendship_pair_ordered"),
            models.CheckConstraint(
                condition=Q(active=True, ended_at__isnull=True) | Q(active__isnull=True, ended_at__isnull=False),
                name="friendship_active_iff_not_ended",
            ),
        ]
        indexes = [
            models.Index(fields=["user_high", "user_low"], name="friendship_high_low"),
        ]

    def __str__(self) -> str:
        return f"{self.user_low_id} & {self.user_high_id}"
