"""Blocks and privacy settings (safety between learners).

A block is one row per pair of users, like a friend request: ``user_low``/``user_high`` are the
pair in id order and their unique constraint allows one block per unordered pair, whoever made
it. That is the rule "blocking someone who already blocks me is refused" held by the database
(two users blocking each other at the same moment: one insert wins), and it lets every "is
this pair blocked" question use the pair's unique index, the one friendships use.

Privacy settings are a row per user that exists only once the user changed a setting; a user
without a row has the defaults (the columns' defaults below).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Block(models.Model):
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high"], name="block_one_per_pair"),
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="block_pair_ordered"),
            models.CheckConstraint(
                condition=Q(user_low=F("blocker"), user_high=F("blocked"))
                | Q(user_low=F("blocked"), user_high=F("blocker")),
                name="block_pair_matches_users",
            ),
        ]
        indexes = [
            models.Index(fields=["blocker", "-created_at"], name="block_blocker_new"),
            models.Index(fields=["user_high", "user_low"], name="block_high_low"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker} blocks {self.blocked}"


class ProgressVisibility(models.TextChoices):
    FRIENDS = "friends", "Friends"
    NOBODY = "nobody", "Nobody"


class PrivacySettings(models.Model):
    """A user's privacy choices; no row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="privacy_settings"
    )
    # Who besides the user sees their friends list, badges and streaks.
    progress_visible_to = models.CharField(
        max_length=10, choices=ProgressVisibility.choices, default=ProgressVisibility.FRIENDS
    )
    # False: search finds the user only by their exact username.
    discoverable = models.BooleanField(default=True)
    # False: left out of other learners' friends and classroom boards (teachers still see them).
    on_leaderboards = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "privacy settings"
        verbose_name_plural = "privacy settings"

    def __str__(self) -> str:
        return f"privacy settings of {self.user}"
