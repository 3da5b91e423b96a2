from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Length, Lower
from django.utils import timezone as django_timezone

from gamification.constants import (
    AVATAR_IMAGES,
    BACKGROUND_COLORS,
    CHARACTER_COLORS,
    EMAIL_MAX_LENGTH,
    EXTERNAL_ID_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TIMEZONE_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
)


def normalize_email(email: str) -> str:
    """Emails are matched ignoring case: they are stored lower-cased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    """Look-ups only. Accounts are created by ``gamification.services.users.user_create`` (a
    generated username, a matching avatar, the password rules), which the API, the admin, the
    ``createsuperuser`` command of this app and the test factories all call."""

    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=normalize_email(email))


class ExactCharField(models.CharField):
    """A CharField compared exactly (case and accents) on every backend: MariaDB's default
    collation ignores both, SQLite's compares bytes; on MariaDB the column gets ``utf8mb4_bin``."""

    def db_parameters(self, connection) -> dict:
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql":
            parameters["collation"] = "utf8mb4_bin"
        return parameters


class User(AbstractBaseUser, PermissionsMixin):
    # Users the platform provisions (SPEC §11.1) may have no email; several NULLs never clash.
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, unique=True, null=True, blank=True)
    # The platform's own id of the user, when it provisioned them: unique when set, compared
    # exactly, never shown to other learners.
    external_id = ExactCharField(max_length=EXTERNAL_ID_MAX_LENGTH, unique=True, null=True, blank=True)
    username = models.CharField(max_length=USERNAME_MAX_LENGTH)
    # The database keeps usernames unique ignoring case on every backend through this column
    # (MariaDB has no expression indexes, so UniqueConstraint(Lower("username")) would be skipped).
    username_key = models.GeneratedField(
        expression=Lower("username"),
        output_field=models.CharField(max_length=USERNAME_MAX_LENGTH),
        db_persist=True,
        unique=True,
    )
    # User search's order of the usernames starting with a term (SPEC §6.3: shorter first, then
    # by code point of the lower-cased name), read in that order from the ``user_search_order``
    # index and stopped at the first candidates, whatever the number of matches: the length, and
    # the lower-cased username compared by code point (on MariaDB the column is ``utf8mb4_bin``,
    # migration 0023; SQLite compares by code point already).
    username_length = models.GeneratedField(
        expression=Length(Lower("username")), output_field=models.IntegerField(), db_persist=True
    )
    username_order = models.GeneratedField(
        expression=Lower("username"), output_field=models.CharField(max_length=USERNAME_MAX_LENGTH), db_persist=True
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    timezone = models.CharField(max_length=TIMEZONE_MAX_LENGTH, default="UTC")
    avatar_image = models.CharField(max_length=20, choices=[(image, image) for image in AVATAR_IMAGES])
    avatar_character_color = models.CharField(max_length=7, choices=[(color, color) for color in CHARACTER_COLORS])
    avatar_background_color = models.CharField(max_length=7, choices=[(color, color) for color in BACKGROUND_COLORS])
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=django_timezone.now)
    # When the profile (email, name, username, time zone, avatar) last changed, for the platform's
    # reconciliation (``?updated_since=``); services set it with every such change.
    updated_at = models.DateTimeField(default=django_timezone.now, db_index=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["username_key"]
        indexes = [models.Index(fields=["username_length", "username_order"], name="user_search_order")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(username=""), name="user_username_not_blank"),
            models.CheckConstraint(condition=~models.Q(external_id=""), name="user_external_id_not_blank"),
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]

    def __str__(self) -> str:
        return self.username
