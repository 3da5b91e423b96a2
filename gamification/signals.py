"""Signals of the gamification app and the receivers connected in ``AppConfig.ready()``.

Receivers are one-liners that call a service.
"""

from django.dispatch import Signal

from gamification.services import badge_icons

# Sent after the transaction that awarded badges commits.
# Arguments: user_id, user_badges (a tuple of new UserBadge rows).
badges_awarded = Signal()


def badge_pre_save(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        badge_icons.badge_icon_remember_stored(badge=instance)


def badge_post_save(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        badge_icons.badge_icon_delete_replaced(badge=instance)


def badge_post_delete(sender, instance, **kwargs) -> None:
    badge_icons.badge_icon_delete_of_deleted(badge=instance)


def connect_receivers() -> None:
    from django.db.models.signals import post_delete, post_save, pre_save

    from gamification.models import Badge

    pre_save.connect(badge_pre_save, sender=Badge, dispatch_uid="badge_icon_pre_save")
    post_save.connect(badge_post_save, sender=Badge, dispatch_uid="badge_icon_post_save")
    post_delete.connect(badge_post_delete, sender=Badge, dispatch_uid="badge_icon_post_delete")
