import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from gamification.models.languages import Language


class PracticeDay(models.Model):
    """Practice time of one user in one language on one of the user's local days."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_days")
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(help_text="The user's local date.")
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "language", "date"], name="practiceday_unique_day"),
        ]
        indexes = [models.Index(fields=["user", "date"], name="practiceday_user_date")]

    def __str__(self) -> str:
        return f"{self.user} practised {self.language_id} for {self.seconds} s on {self.date}"


class LanguageStreak(models.Model):
    """A user's daily streak in one language, as of its last counted day.

    One row per language the user ever practised, from the first practice in it (zeros until a
    day counts). ``length``/``last_date``: the run of consecutive counted days containing the
    latest counted day; ``max_length``/``max_date``: the longest run (the earliest of equally
    long ones) and its last day. The current streak is derived on read: ``length`` if
    ``last_date`` is the user's local today or yesterday, or when the freezes held cover the
    days missed since (rest days are never missed), else 0. Reading never writes.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_streaks")
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    length = models.PositiveIntegerField(default=0)
    last_date = models.DateField(null=True, blank=True)
    max_length = models.PositiveIntegerField(default=0)
    max_date = models.DateField(null=True, blank=True)
    # Streak protection: freezes held after ``last_date`` and the dates they bridged inside the
    # run (ISO dates, oldest first; at most one per ``STREAK_FREEZE_EVERY_DAYS`` counted days
    # plus the ones carried over from the run before).
    freezes_held = models.PositiveSmallIntegerField(default=0)
    frozen_days = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "language"], name="languagestreak_unique_pair"),
            models.CheckConstraint(
                condition=Q(max_length__gte=models.F("length")), name="languagestreak_max_ge_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}'s {self.language_id} streak: {self.length} day{'s' if self.length != 1 else ''}"


class RestDay(models.Model):
    """A booking of rest days: the user's local dates ``start`` to ``end`` (inclusive), booked in
    advance. On a rest day no streak of the user breaks and nothing is added to one; friend
    streaks stand still. Bookings of one user never overlap (``services.rest_days``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rest_days")
    start = models.DateField(help_text="First rest day, the user's local date.")
    end = models.DateField(help_text="Last rest day (inclusive), the user's local date.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="restday_end_not_before_start"),
        ]
        indexes = [models.Index(fields=["user", "end"], name="restday_user_end")]

    def __str__(self) -> str:
        return f"{self.user} rests {self.start} to {self.end}"

    def dates(self) -> list:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]
