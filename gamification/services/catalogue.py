"""The catalogue's version token (activity types and badges), which tells every process that its
cached copy of the catalogue is out of date (gamification.selectors.catalogue).

``catalogue_changed`` writes a fresh random token in the current transaction: readers in other
processes see the new token exactly when they can see the change (read committed), never before.
It runs from the post_save and post_delete signals of ActivityType and Badge (the admin, fixtures,
the shell) and from the services that change badges with a queryset ``update`` (no signal).
"""

import uuid

from gamification.models import CatalogueVersion


def catalogue_changed() -> None:
    """Give the catalogue a new version token (in the current transaction, if any)."""
    token = uuid.uuid4().hex
    if not CatalogueVersion.objects.filter(pk=1).update(token=token):
        CatalogueVersion.objects.update_or_create(pk=1, defaults={"token": token})
