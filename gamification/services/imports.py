"""Historical import (SPEC §11.2): the writes behind ``import_users`` and ``import_events``.

``gamification.imports`` reads and validates the file; these functions store what it validated.

- Users: a chunk's new users are created together (``import_users_store``: one query for the
  users already known, one for taken emails and usernames, a few for generated usernames, one
  multi-row insert), with the rules of ``platform_user_put``, the platform API's own path;
  changed users, repeats within a chunk and anything a concurrent writer got to first go
  through ``platform_user_put`` itself, one by one.
- Events are stored in chunks, each one transaction, with multi-row ``INSERT``s that skip a
  key the user already holds (the (user, idempotency hash) unique constraint decides, also
  against a concurrent writer); the driver's row count tells the new from the duplicates. Nothing is derived per event: metrics, first occurrences, streaks and badges come
  from one rebuild of the touched users at the end (``import_derived_rebuild``), which gives what
  live ingestion of the same events gives (``services.rebuild``), with every badge stamped with
  the time its threshold was crossed. It works on batches of users, a fixed number of
  multi-row statements per batch (``rebuild.users_rebuild_batched``).
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gamification.models import ActivityEvent, User
from gamification.services.db import rows_insert, utc_datetime_adapter
from gamification.services.events import sha256_hex
from gamification.services.platform import platform_user_put
from gamification.services.rebuild import RebuildResult, users_rebuild_batched
from gamification.services.usernames import animal_of, usernames_generate
from gamification.services.users import avatar_random
from gamification.validators import external_id_validate

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


# What a user line may set, as platform_user_put compares it with the stored row.
_PROFILE_FIELDS = ("name", "email", "username", "timezone")
TAKEN_EMAIL = "An account with this email already exists."
TAKEN_USERNAME = "This username is taken."


def _unchanged(user: User, fields: dict[str, Any]) -> bool:
    return all(fields[name] == getattr(user, name) for name in _PROFILE_FIELDS if fields.get(name) is not None)


def import_users_store(*, users: list[dict[str, Any]]) -> list[bool | ValidationError]:
    """Create or update a chunk of validated user lines (``UserImportSerializer``), in order;
    for each: True (created or updated), False (already the same: a re-run), or the
    ValidationError that refused it (a taken email or username, as ``platform_user_put``
    says). Call it in a transaction: each line's writes are in a savepoint of their own.

    New users, each external id once in the chunk, are written with one multi-row insert
    (usernames generated for all of them together). A line that changes a known user, names an
    external id an earlier line of the chunk named, or meets a concurrent writer's row at insert
    goes through ``import_user_put``, one at a time."""
    results: list[bool | ValidationError | None] = [None] * len(users)
    for index, fields in enumerate(users):
        try:
            external_id_validate(fields["external_id"])
        except ValidationError as error:
            results[index] = ValidationError({"external_id": error.messages})
    known = {
        user.external_id: user
        for user in User.objects.filter(
            external_id__in={
                fields["external_id"] for fields, result in zip(users, results, strict=True) if result is None
            }
        )
    }
    one_by_one: list[int] = []
    new: list[int] = []
    seen: set[str] = set()
    for index, fields in enumerate(users):
        if results[index] is not None:
            continue
        external_id = fields["external_id"]
        if external_id in seen:
            one_by_one.append(index)
        elif external_id in known:
            if _unchanged(known[external_id], fields):
                results[index] = False
            else:
                one_by_one.append(index)
        else:
            new.append(index)
        seen.add(external_id)

    new = _refuse_taken(users, new, results)
    if new:
        try:
            with transaction.atomic():
                _users_insert([users[index] for index in new])
        except IntegrityError:  # a concurrent writer took an external id, email or username
            one_by_one.extend(new)
        else:
            for index in new:
                results[index] = True
    for index in sorted(one_by_one):
        try:
            with transaction.atomic():
                results[index] = import_user_put(**users[index])
        except ValidationError as error:
            results[index] = error
    return [result for result in results if result is not None]


def _refuse_taken(users: list[dict[str, Any]], new: list[int], results: list) -> list[int]:
    """Of the new users' lines, those whose email or chosen username is free (in the database and
    among the chunk's earlier lines); the others get their ValidationError in ``results``."""
    emails = {users[index]["email"] for index in new if users[index].get("email")}
    usernames = {users[index]["username"].lower() for index in new if users[index].get("username")}
    taken_emails = set(User.objects.filter(email__in=emails).values_list("email", flat=True)) if emails else set()
    taken_usernames = (
        set(User.objects.filter(username_key__in=usernames).values_list("username_key", flat=True))
        if usernames
        else set()
    )
    free: list[int] = []
    for index in new:
        email, username = users[index].get("email"), (users[index].get("username") or "").lower()
        if email and email in taken_emails:
            results[index] = ValidationError({"email": [TAKEN_EMAIL]})
        elif username and username in taken_usernames:
            results[index] = ValidationError({"username": [TAKEN_USERNAME]})
        else:
            free.append(index)
            taken_emails.add(email)
            taken_usernames.add(username)
    return free


def _unusable_password() -> str:
    """What ``make_password(None)`` stores (the unusable prefix and a random suffix), from one
    call to the system's random source instead of forty."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _users_insert(users: list[dict[str, Any]]) -> None:
    """Insert new users as ``user_create`` makes them for the platform: no usable password, the
    given or a generated username with its animal's avatar, UTC unless a time zone is given."""
    chosen = [fields["username"] for fields in users if fields.get("username")]
    generated = iter(usernames_generate(sum(1 for f in users if not f.get("username")), reserved=chosen))
    rows = []
    for fields in users:
        username = fields.get("username") or next(generated)
        rows.append(
            User(
                external_id=fields["external_id"],
                email=fields.get("email"),
                name=fields.get("name") or "",
                timezone=fields.get("timezone") or "UTC",
                username=username,
                password=_unusable_password(),
                **avatar_random(animal=animal_of(username)),
            )
        )
    User.objects.bulk_create(rows, batch_size=INSERT_BATCH)


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
    """Multi-row ``INSERT IGNORE`` (``db.rows_insert``) of event rows: a row whose (user,
    idempotency hash) the log already holds is skipped by the unique constraint. Returns how many
    rows were inserted (the driver's row count, which leaves the skipped ones out)."""
    fields = [field for field in ActivityEvent._meta.concrete_fields if not field.primary_key]
    names = [field.attname for field in fields]
    if set(names) != set(rows[0]):
        raise RuntimeError(f"ActivityEvent's columns changed: {sorted(names)}; update _event_values.")
    return rows_insert(
        ActivityEvent,
        [field.column for field in fields],
        [tuple(row[name] for name in names) for row in rows],
        ignore_conflicts=True,
        batch=INSERT_BATCH,
    )


def import_events_store(*, events: list[dict[str, Any]]) -> ChunkResult:
    """Store validated events (each naming its ``user``, each with an ``idempotency_key``) in the
    activity log, in one transaction; an event whose key its user already holds, in the log or
    earlier in the chunk, is a duplicate. No read of the keys already held: the insert skips
    them and counts the rest (a read of every touched user's keys grew with the log)."""
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    adapt_datetime = utc_datetime_adapter()
    for event in events:
        row = _event_values(event, received_at=received_at, adapt_datetime=adapt_datetime)
        rows.setdefault((row["user_id"], row["idempotency_hash"]), row)
    # By learner (a stable sort: each learner's events stay in file order): consecutive rows then
    # land on the same pages of the indexes that lead with the learner, which a buffer pool
    # smaller than those indexes otherwise reads and writes once per row.
    ordered = sorted(rows.values(), key=itemgetter("user_id"))
    with transaction.atomic():
        accepted = _insert_ignoring_duplicates(ordered) if ordered else 0
    return ChunkResult(accepted=accepted, duplicates=len(events) - accepted)


def import_derived_rebuild(
    *, user_ids: Iterable[int], on_progress: Callable[[int], None] | None = None
) -> RebuildResult:
    """Rebuild the touched users' first occurrences, metrics, streaks and friend streaks from the
    log, awarding each badge they newly reach with the time its threshold was crossed, also the
    streak levels reached by a streak that has lapsed since (as live ingestion awarded them)."""
    return users_rebuild_batched(user_ids=user_ids, on_progress=on_progress)
