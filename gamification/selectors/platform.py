"""Reads of the platform API (SPEC §11.1): the users the platform provisioned."""

from django.db.models import QuerySet

from gamification.models import User


def platform_users() -> QuerySet[User]:
    """Every user with an external id (users who signed up here have none, and the platform has
    nothing to reconcile them with), groups prefetched for their feature flags."""
    return User.objects.filter(external_id__isnull=False).prefetch_related("groups")
