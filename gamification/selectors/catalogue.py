"""The catalogue (activity types and their badges), cached per process.

Staff change the catalogue rarely; learners read it on every badge list. Each process keeps the
catalogue it last loaded together with the version token it read first
(``CatalogueVersion``, one row). A read costs one query by primary key for the token; only when
the token differs (staff changed something in any process: gamification.services.catalogue
writes a new token in the change's transaction) are the types and badges loaded again, two
queries. Reading the token before the rows means a copy is never stored under a token newer
than its contents.

The cached ``ActivityType`` and ``Badge`` instances are shared by every request of the process:
read them, never change them.
"""

from dataclasses import dataclass

from gamification.models import ActivityType, Badge, CatalogueVersion
from gamification.prepared import PreparedQuery


@dataclass(frozen=True)
class CatalogueType:
    activity_type: ActivityType
    badges: tuple[Badge, ...]  # by level


@dataclass(frozen=True)
class Catalogue:
    token: str
    types: tuple[CatalogueType, ...]  # by id
    badges: dict[int, Badge]  # by id


_cached: Catalogue | None = None


# Read on every badge list: compiled once per process (gamification.prepared).
_TOKEN = PreparedQuery(lambda: CatalogueVersion.objects.filter(pk=1).values_list("token"))


def catalogue_token() -> str:
    """The catalogue's current version token. One query."""
    rows = _TOKEN.rows()
    return (rows[0][0] if rows else "") or ""


def _catalogue_load(token: str) -> Catalogue:
    types = list(ActivityType.objects.order_by("id"))
    types_by_id = {activity_type.pk: activity_type for activity_type in types}
    by_type: dict[int, list[Badge]] = {activity_type.pk: [] for activity_type in types}
    by_id: dict[int, Badge] = {}
    for badge in Badge.objects.order_by("activity_type_id", "level", "id"):
        activity_type = types_by_id.get(badge.activity_type_id)
        if activity_type is None:  # created after the types were read
            continue
        badge.activity_type = activity_type  # no query when a reader follows the relation
        by_type[activity_type.pk].append(badge)
        by_id[badge.pk] = badge
    return Catalogue(
        token=token,
        types=tuple(CatalogueType(activity_type=t, badges=tuple(by_type[t.pk])) for t in types),
        badges=by_id,
    )


def catalogue_get(*, token: str | None = None) -> Catalogue:
    """The current catalogue: one query when this process's copy is current, three otherwise.
    A caller that read the token itself (in the same round trip as its own rows, before this
    call) passes it, and then no query is needed while the copy is current."""
    global _cached
    if token is None:
        token = catalogue_token()
    cached = _cached
    if cached is not None and cached.token == token and token:
        return cached
    catalogue = _catalogue_load(token)
    _cached = catalogue
    return catalogue


def catalogue_forget() -> None:
    """Drop this process's copy (tests; the next read loads the catalogue again)."""
    global _cached
    _cached = None
