"""Signals of the gamification app and the receivers connected in ``AppConfig.ready()``.

Receivers are one-liners that call a service.
"""

from django.dispatch import Signal

from gamification.selectors import languages
from gamification.services import badge_icons, event_queue
from gamification.services.catalogue import catalogue_changed

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


def catalogue_row_changed(sender, **kwargs) -> None:
    catalogue_changed()


def request_started_receiver(sender, **kwargs) -> None:
    event_queue.request_began()


def request_finished_receiver(sender, **kwargs) -> None:
    event_queue.request_ended()


def language_row_changed(sender, **kwargs) -> None:
    languages.forget()


def connect_receivers() -> None:
    from django.core.signals import request_finished, request_started
    from django.db.models.signals import post_delete, post_save, pre_save

    from gamification.models import ActivityType, Badge, Language

    pre_save.connect(badge_pre_save, sender=Badge, dispatch_uid="badge_icon_pre_save")
    post_save.connect(badge_post_save, sender=Badge, dispatch_uid="badge_icon_post_save")
    post_delete.connect(badge_post_delete, sender=Badge, dispatch_uid="badge_icon_post_delete")
    # Every process's cached catalogue (gamification.selectors.catalogue) follows the change.
    for model in (ActivityType, Badge):
        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(catalogue_row_changed, sender=model, dispatch_uid=f"catalogue_{model.__name__}_{name}")
    # This process's copy of the known language codes (gamification.selectors.languages).
    for signal, name in ((post_save, "save"), (post_delete, "delete")):
        signal.connect(language_row_changed, sender=Language, dispatch_uid=f"language_codes_{name}")
    # Queued ingestion signals the broker once the 202 has been sent (services.event_queue).
    request_started.connect(request_started_receiver, dispatch_uid="event_queue_request_started")
    request_finished.connect(request_finished_receiver, dispatch_uid="event_queue_request_finished")
