from django.conf import settings
from django.db import models
from django.db.models import F, Q

from gamification.constants import FRONTEND_BADGE_ICON_NAMES


class AwardMechanism(models.TextChoices):
    COUNTER = "COUNTER", "Counter (only grows)"
    GAUGE = "GAUGE", "Gauge (mirrors a current state, can fall)"
    ONE_TIME = "ONE_TIME", "One time (achieved or not)"


class ActivityTypeManager(models.Manager):
    def get_by_natural_key(self, code: str) -> "ActivityType":
        return self.get(code=code)


class ActivityType(models.Model):
    """What is measured. The set of codes is known to the code (gamification.rules)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=255, blank=True)
    award_mechanism = models.CharField(max_length=10, choices=AwardMechanism.choices)
    # The badge icon the Zeeguu web frontend ships for this type (its ``icon_name`` in the
    # Zeeguu-compatible API); blank when it ships none (the API answers null).
    frontend_icon_name = models.CharField(
        max_length=40,
        blank=True,
        default="",
        choices=[(name, name) for name in FRONTEND_BADGE_ICON_NAMES],
        verbose_name="Zeeguu frontend icon",
        help_text="The icon file the Zeeguu web frontend shows for this type's badges; blank: its default logo.",
    )

    objects = ActivityTypeManager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class BadgeManager(models.Manager):
    def get_by_natural_key(self, activity_type_code: str, level: int) -> "Badge":
        return self.get(activity_type__code=activity_type_code, level=level)


class Badge(models.Model):
    """One level of an activity type."""

    activity_type = models.ForeignKey(ActivityType, on_delete=models.CASCADE, related_name="badges")
    level = models.PositiveSmallIntegerField()
    threshold = models.PositiveIntegerField()
    name = models.CharField(max_length=60)
    unachieved_description = models.CharField(max_length=255)
    achieved_description = models.CharField(max_length=255)
    # Base name of a bundled SVG in static/gamification/badges/, or empty when uploaded.
    icon = models.CharField(max_length=60, blank=True)
    icon_upload = models.ImageField(upload_to="badge-icons/", blank=True)

    objects = BadgeManager()

    class Meta:
        ordering = ["activity_type_id", "level"]
        constraints = [
            models.UniqueConstraint(fields=["activity_type", "level"], name="badge_unique_level"),
            models.CheckConstraint(condition=Q(level__gte=1), name="badge_level_positive"),
            models.CheckConstraint(condition=Q(threshold__gte=1), name="badge_threshold_positive"),
        ]

    def __str__(self) -> str:
        # Lists that show badges load their activity type with them (select_related).
        return f"{self.name} ({self.activity_type.name}, level {self.level})"

    def natural_key(self) -> tuple[str, int]:
        return (*self.activity_type.natural_key(), self.level)

    natural_key.dependencies = ["gamification.activitytype"]


class UserMetric(models.Model):
    """How far a user got in one activity type. One row per (user, type)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="metrics")
    activity_type = models.ForeignKey(ActivityType, on_delete=models.CASCADE, related_name="metrics")
    value = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "activity_type"], name="usermetric_unique_pair"),
            models.CheckConstraint(condition=Q(value__gte=0), name="usermetric_value_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.value} in {self.activity_type.name}"


class UserBadge(models.Model):
    """A badge a user achieved. One row per (user, badge)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_badges")
    badge = models.ForeignKey(Badge, on_delete=models.CASCADE, related_name="user_badges")
    achieved_at = models.DateTimeField()
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "badge"], name="userbadge_unique_pair"),
            models.CheckConstraint(
                condition=Q(seen_at__isnull=True) | Q(seen_at__gte=F("achieved_at")),
                name="userbadge_seen_after_achieved",
            ),
        ]
        indexes = [models.Index(fields=["user", "seen_at"], name="userbadge_user_seen")]

    def __str__(self) -> str:
        return f"{self.user} holds {self.badge}"


class BadgeAuditEntry(models.Model):
    """A badge that staff awarded or revoked by hand: who, when, why (SPEC §7).

    Awards earned through activity are not listed here (their ``UserBadge.achieved_at`` says
    when); every manual award and every revocation is, through
    ``gamification.services.badges``. ``badge_label`` keeps the badge's name as it was, so the
    entry still reads right after the level is renamed or deleted.
    """

    class Action(models.TextChoices):
        AWARDED = "awarded", "awarded"
        REVOKED = "revoked", "revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badge_audit_entries")
    badge = models.ForeignKey(Badge, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries")
    badge_label = models.CharField(max_length=150)
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=500)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acted_at = models.DateTimeField()

    class Meta:
        ordering = ["-acted_at", "-id"]
        verbose_name = "manual award or revocation"
        verbose_name_plural = "manual awards and revocations"
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="badgeauditentry_reason_not_blank"),
        ]
        indexes = [models.Index(fields=["user", "-acted_at"], name="badgeaudit_user_at")]

    def __str__(self) -> str:
        preposition = "to" if self.action == self.Action.AWARDED else "from"
        by = self.acted_by or "a deleted account"
        return f"{by} {self.action} {self.badge_label} {preposition} {self.user} on {self.acted_at:%Y-%m-%d}"


class CatalogueVersion(models.Model):
    """One row: a token that changes whenever staff change the catalogue (activity types and
    badges). Processes cache the catalogue under the token they read and reload it when the token
    differs (gamification.selectors.catalogue). A fresh random token per change, written in the
    change's transaction, so that two states of the catalogue never share a token, not even after
    a rollback."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "catalogue version"

    def __str__(self) -> str:
        return f"catalogue {self.token}"
