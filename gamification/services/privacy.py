"""Changing a user's privacy settings."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from gamification.models import PrivacySettings, User
from gamification.selectors.relationships import privacy_settings_of
from gamification.services.db import atomic_with_retry, is_unique_violation

FIELDS = ("progress_visible_to", "discoverable", "on_leaderboards")


def privacy_settings_update(*, user: User, **changes: object) -> PrivacySettings:
    """Set the given settings of ``user`` (any of ``progress_visible_to``, ``discoverable``,
    ``on_leaderboards``, already validated); the others keep their value. The row is created
    on the first change (two first changes at once: the primary key lets one insert in, the
    other updates it)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown privacy settings: {sorted(unknown)}")

    if not changes:
        return privacy_settings_of(user_id=user.pk)

    def run() -> PrivacySettings:
        now = timezone.now()
        updated = PrivacySettings.objects.filter(user_id=user.pk).update(**changes, updated_at=now)
        if not updated:
            try:
                with transaction.atomic():
                    PrivacySettings.objects.create(user_id=user.pk, updated_at=now, **changes)
            except IntegrityError as error:
                if not is_unique_violation(error):
                    raise
                PrivacySettings.objects.filter(user_id=user.pk).update(**changes, updated_at=now)
        return privacy_settings_of(user_id=user.pk)

    return atomic_with_retry(run)
