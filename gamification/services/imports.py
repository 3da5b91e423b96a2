"""Historical import (SPEC §11.2): the writes behind ``import_users`` and ``import_events``.

``gamification.imports`` reads and validates the file; these functions store what it validated.

- Users go through ``platform_user_put``, the platform API's own path: one rule for both.
- Events are stored in chunks, each one transaction, with multi-row ``INSERT``s that skip a
  key the user already holds (the (user, idempotency hash) unique constraint decides, also
  against a concurrent writer); the driver's row count tells the new from the duplicates. Nothing is derived per event: metrics, first occurrences, streaks and badges come
  from one rebuild of the touched users at the end (``import_derived_rebuild``), which gives what
  live ingestion of the same events gives (``services.rebuild``), with every badge stamped with
  the time its threshold was crossed. It works on batches of users, a fixed number of
  multi-row statements per batch (``rebuild.users_rebuild_batched``).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from gamification.models import ActivityEvent, User
from gamification.services.events import sha256_hex
from gamification.services.platform import platform_user_put
from gamification.services.rebuild import RebuildResult, users_rebuild_batched

INSERT_BATCH = 1000


@dataclass(frozen=True)
class ChunkResult:
    accepted: int
    duplicates: int


def import_user_put(*, external_id: str, **fields: Any) -> bool:
    """Create or update one imported user; True when something changed (created or updated),
    False when the row already said the same (a re-run)."""
    existing = User.objects.filter(external_id=external_id).values_list("updated_at", flat=True).first()
    user, created = platform_user_put(external_id=external_id, **fields)
    return created or user.updated_at != existing


def _event_values(event: dict[str, Any], *, received_at: str, adapt_datetime: Callable) -> dict[str, Any]:
    """The ``ActivityEvent`` columns of a validated event, as ``services.events._event_row`` maps
    them (the import's equality test with live ingestion holds the two together), built without
    a model instance: at a million events, instances and the ORM's insert compiler cost more
    than the database."""
    key = event["idempotency_key"]
    item_id = event.get("lesson_id") or event.get("article_id") or ""
    return {
        "user_id": event["user"].pk,
        "type": event["type"],
        "occurred_at": adapt_datetime(event["occurred_at"]),
        "received_at": received_at,
        "language_id": event["language"],
        "idempotency_key": key,
        "idempotency_hash": sha256_hex(key),
        "reported_by_id": None,
        "word": (event.get("word") or "").strip(),
        "correct": event.get("correct"),
        "item_id": str(item_id).strip(),
        "kind": event.get("kind") or "",
        "duration_seconds": event.get("duration_seconds"),
    }


def _insert_ignoring_duplicates(rows: list[dict[str, Any]]) -> int:
    """Multi-row ``INSERT IGNORE`` (MariaDB; ``INSERT OR IGNORE`` on SQLite) of event rows:
    MySQLdb's ``executemany`` sends one statement per batch of rows. A row whose (user,
    idempotency hash) the log already holds is skipped by the unique constraint. Returns how many
    rows were inserted (the driver's row count, which leaves the skipped ones out)."""
    fields = [field for field in ActivityEvent._meta.concrete_fields if not field.primary_key]
    names = [field.attname for field in fields]
    if set(names) != set(rows[0]):
        raise RuntimeError(f"ActivityEvent's columns changed: {sorted(names)}; update _event_values.")
    sql = "{} {} ({}) VALUES ({})".format(
        connection.ops.insert_statement(on_conflict=OnConflict.IGNORE),
        connection.ops.quote_name(ActivityEvent._meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(sql, [tuple(row[name] for name in names) for row in rows[start : start + INSERT_BATCH]])
            inserted += cursor.rowcount
    return inserted


def import_events_store(*, events: list[dict[str, Any]]) -> ChunkResult:
    """Store validated events (each naming its ``user``, each with an ``idempotency_key``) in the
    activity log, in one transaction; an event whose key its user already holds, in the log or
    earlier in the chunk, is a duplicate. No read of the keys already held: the insert skips
    them and counts the rest (a read of every touched user's keys grew with the log)."""
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    adapt_datetime = connection.ops.adapt_datetimefield_value
    for event in events:
        row = _event_values(event, received_at=received_at, adapt_datetime=adapt_datetime)
        rows.setdefault((row["user_id"], row["idempotency_hash"]), row)
    with transaction.atomic():
        accepted = _insert_ignoring_duplicates(list(rows.values())) if rows else 0
    return ChunkResult(accepted=accepted, duplicates=len(events) - accepted)


def import_derived_rebuild(
    *, user_ids: Iterable[int], on_progress: Callable[[int], None] | None = None
) -> RebuildResult:
    """Rebuild the touched users' first occurrences, metrics, streaks and friend streaks from the
    log, awarding each badge they newly reach with the time its threshold was crossed, also the
    streak levels reached by a streak that has lapsed since (as live ingestion awarded them)."""
    return users_rebuild_batched(user_ids=user_ids, on_progress=on_progress)
