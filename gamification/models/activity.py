from django.conf import settings
from django.db import models
from django.db.models import Q

from gamification.models.languages import Language


class EventType(models.TextChoices):
    WORD_TRANSLATED = "word_translated"
    EXERCISE_ANSWERED = "exercise_answered"
    AUDIO_LESSON_COMPLETED = "audio_lesson_completed"
    WORD_LEARNED = "word_learned"
    ARTICLE_READ = "article_read"
    PRACTICE = "practice"


class PracticeKind(models.TextChoices):
    READING = "reading"
    EXERCISES = "exercises"
    LISTENING = "listening"
    WATCHING = "watching"
    BROWSING = "browsing"


class ActivityEvent(models.Model):
    """The append-only activity log. Metrics, streaks and leaderboards derive from it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    # The key as sent, and its SHA-256 (hex) which carries the uniqueness: hashing keeps the
    # comparison exact on MariaDB's case- and accent-insensitive collations.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    idempotency_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The service account that reported the event for the user, if any.",
    )
    # Type-specific fields.
    word = models.CharField(max_length=100, blank=True)
    correct = models.BooleanField(null=True, blank=True)
    item_id = models.CharField(max_length=100, blank=True, help_text="lesson_id or article_id, as a string.")
    kind = models.CharField(max_length=12, choices=PracticeKind.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [
            # Held by the platform's service account (``manage.py create_service_account``): its
            # events may name the ``user`` they happened to (SPEC §3).
            ("report_events_for_others", "Can report activity events for other users"),
        ]
        constraints = [
            # NULLs are distinct in unique indexes on SQLite and MariaDB: events without a key
            # never collide.
            models.UniqueConstraint(fields=["user", "idempotency_hash"], name="activityevent_unique_idempotency"),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=1, duration_seconds__lte=86400),
                name="activityevent_duration_range",
            ),
            # Only practice has a kind (the event checks store no other type's), so a board of
            # another type can name the kind and read one range of the covering index.
            models.CheckConstraint(
                condition=Q(type=EventType.PRACTICE) | Q(kind=""), name="activityevent_kind_only_for_practice"
            ),
        ]
        indexes = [
            # (user, type) lookups (rebuilds, streak replays) use the prefix of the covering index
            # below; a separate index would only slow every insert.
            models.Index(fields=["type", "occurred_at"], name="activityevent_type_at"),
            # A user's log newest first, all types (``/api/me/activity/`` and its cursor, the
            # export): without it every page sorts all of the user's events.
            models.Index(fields=["user", "occurred_at", "id"], name="activityevent_user_at"),
            # Leaderboards (gamification.selectors.leaderboards): every column a board reads, so
            # that a board's sums and counts come from the index alone, each member's rows side by
            # side, instead of one random row lookup per event. All-time friends board of 201
            # users, 1M events, MariaDB: p50 51-61 ms -> 8-9 ms (bench/leaderboard.py). The kind
            # before the time: a board of one practice kind reads only that kind's rows of the
            # period (a week's reading board: 149 entries instead of all 702 practice events).
            models.Index(
                fields=["user", "type", "kind", "occurred_at", "correct", "duration_seconds"],
                name="activityevent_board_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.user} at {self.occurred_at:%Y-%m-%d %H:%M} UTC"


class FirstOccurrence(models.Model):
    """The first time a user did something that counts once (a word, a lesson, an article).

    ``key_hash`` is the SHA-256 of the normalised key (e.g. ``"de:haus"`` for a word in German,
    ``"42"`` for an article): hashing keeps uniqueness exact on every collation.
    """

    class Kind(models.TextChoices):
        TRANSLATED_WORD = "translated_word"
        LEARNED_WORD = "learned_word"
        AUDIO_LESSON = "audio_lesson"
        ARTICLE = "article"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="first_occurrences")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=110)
    key_hash = models.CharField(max_length=64, editable=False)
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key_hash"], name="firstoccurrence_unique_key"),
        ]
        indexes = [
            models.Index(fields=["user", "kind", "occurred_at"], name="firstocc_user_kind_at"),
        ]

    def __str__(self) -> str:
        return f"first {self.get_kind_display().lower()} {self.key!r} by {self.user}"
