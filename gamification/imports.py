"""Historical import (SPEC §11.2): stream a file of users or events line by line, validate each
line with the API's rules (``serializers.imports``) and store it (``services.imports``).

Memory stays flat whatever the file's length: lines are read one at a time and handled in
chunks; what is kept across chunks is the set of touched user ids (bounded by the number of
users, not of lines). Bad lines are handed to ``on_rejected`` with their number and the error
and never stop the import; a file that is not NDJSON (or CSV, for users) is refused
(``FileRefused``) before anything is written.

Outbound webhooks are suppressed for the whole import: a backfill of past activity is not news,
and a receiver flooded with ``badge.awarded`` for badges crossed years ago could not tell them
from live ones (``services.webhooks.webhook_events_suppressed``).
"""

import csv
import hashlib
import io
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from gamification.models import User
from gamification.selectors.languages import language_codes_read
from gamification.serializers.imports import USER_COLUMNS, EventImportSerializer, UserImportSerializer
from gamification.services.imports import import_derived_rebuild, import_events_store, import_users_store
from gamification.services.webhooks import webhook_events_suppressed

MAX_LINE_BYTES = 64 * 1024
EVENTS_CHUNK = 25000
USERS_CHUNK = 500
DERIVED_KEY_PREFIX = "import:"

Rejected = Callable[[int, dict[str, Any]], None]
Progress = Callable[[int], None]


class FileRefused(Exception):
    """The file as a whole cannot be imported (the message says why); nothing was written."""


@dataclass
class ImportSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    users_rebuilt: int = 0
    # Wall-clock seconds of the two phases of an events import (reading and storing the lines;
    # the rebuild of the touched users), for the command's summary line.
    store_seconds: float = 0.0
    rebuild_seconds: float = 0.0
    touched: set[int] = field(default_factory=set, repr=False)


def _lines(stream: BinaryIO, *, first_number: int = 1) -> Iterator[tuple[int, str | None, dict | None]]:
    """``(line number, text, None)`` for each non-blank line, or ``(number, None, error)`` for a
    line that is too long or not UTF-8. Reads at most MAX_LINE_BYTES at a time."""
    number = first_number - 1
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, None, {"detail": f"Line longer than {MAX_LINE_BYTES} bytes."}
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None, {"detail": "Not UTF-8."}
            continue
        if text.strip():
            yield number, text, None


# orjson reads a line five times faster than ``json``, with the same result for every line it
# accepts except integers beyond 64 bits (it makes them floats): a line with a run of 19 digits
# or more, and any line orjson refuses (NaN, lone surrogates, ...), is read by ``json``, whose
# result and error messages are the reference.
_LONG_DIGITS = re.compile(r"\d{19}")


def _json_object(text: str) -> tuple[Any, dict | None]:
    try:
        if _LONG_DIGITS.search(text):
            raise orjson.JSONDecodeError("long integer", text, 0)
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as error:
            return None, {"detail": f"Not valid JSON: {str(error)[:200]}"}
    if not isinstance(value, dict):
        return None, {"detail": "Each line must be a JSON object."}
    return value, None


def _first_line(stream: BinaryIO) -> tuple[bytes, int]:
    """The first non-blank line (raw) and its number; refuses an empty or unreadable file."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        number += 1
        if not raw:
            raise FileRefused("The file is empty.")
        if len(raw) > MAX_LINE_BYTES:
            raise FileRefused(f"The first line is longer than {MAX_LINE_BYTES} bytes: not NDJSON or CSV.")
        if raw.strip():
            return raw, number


def _error_detail(error: serializers.ValidationError | DjangoValidationError) -> dict:
    if isinstance(error, DjangoValidationError):
        return error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    detail = error.detail
    return detail if isinstance(detail, dict) else {"detail": detail}


def _plain(detail: Any) -> Any:
    """DRF's ErrorDetail strings and lists as plain JSON."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(item) for item in detail]
    return str(detail)


# Users -----------------------------------------------------------------------------------------
def _user_records(stream: BinaryIO) -> Iterator[tuple[int, dict | None, dict | None]]:
    """``(line number, fields, None)`` or ``(line number, None, error)`` per user line, from
    NDJSON or from CSV with a header of known columns (checked before anything is read on)."""
    raw, number = _first_line(stream)
    text = raw.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        value, error = _json_object(text)
        if error is not None:
            raise FileRefused(f"Line {number} is not a JSON object, so the file is not NDJSON: {error['detail']}")
        yield number, value, None
        for line_number, line, error in _lines(stream, first_number=number + 1):
            if error is not None:
                yield line_number, None, error
                continue
            value, error = _json_object(line)
            yield line_number, value, error
        return
    header = [column.strip().lower() for column in next(csv.reader([text]))]
    unknown = [column for column in header if column not in USER_COLUMNS]
    if unknown or "external_id" not in header or len(set(header)) != len(header):
        raise FileRefused(
            f"Not NDJSON, and not CSV with a header of {', '.join(USER_COLUMNS)} (external_id required): "
            f"line {number} has {', '.join(header)[:300]}."
        )
    reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""))
    try:
        for row in reader:
            line_number = number + reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield line_number, None, {"detail": f"Expected {len(header)} columns, found {len(row)}."}
                continue
            # A blank optional cell means "not given".
            yield (
                line_number,
                {k: v for k, v in zip(header, row, strict=True) if v != "" or k in ("external_id", "name")},
                None,
            )
    except csv.Error as error:
        yield number + reader.line_num, None, {"detail": f"Not valid CSV: {error}"}


def users_import(*, stream: BinaryIO, on_rejected: Rejected, on_progress: Progress | None = None) -> ImportSummary:
    """Create or update every user of the file by external id; a re-run changes nothing."""
    summary = ImportSummary()
    records = _user_records(stream)
    with webhook_events_suppressed():
        while True:
            chunk = list(itertools.islice(records, USERS_CHUNK))
            _users_chunk(chunk, summary=summary, on_rejected=on_rejected)
            if on_progress is not None and chunk:
                on_progress(len(chunk))
            if len(chunk) < USERS_CHUNK:
                return summary


def _users_chunk(
    chunk: list[tuple[int, dict | None, dict | None]], *, summary: ImportSummary, on_rejected: Rejected
) -> None:
    """Validate a chunk of user lines and store the valid ones in one transaction (one durable
    commit per chunk: the commits cost more than the rows); rejected lines are reported in order."""
    errors: dict[int, dict] = {}
    valid: list[tuple[int, dict[str, Any]]] = []
    serializer = UserImportSerializer()  # one instance for the chunk: building its fields costs more than a line
    for number, record, error in chunk:
        if error is None:
            try:
                valid.append((number, serializer.run_validation(record)))
                continue
            except serializers.ValidationError as failure:
                error = _error_detail(failure)
        errors[number] = error
    if valid:
        with transaction.atomic():
            outcomes = import_users_store(users=[fields for _, fields in valid])
        for (number, _), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, DjangoValidationError):
                errors[number] = _error_detail(outcome)
            else:
                summary.accepted += outcome
                summary.duplicates += not outcome
    for number in sorted(errors):
        summary.rejected += 1
        on_rejected(number, _plain(errors[number]))


# Events ----------------------------------------------------------------------------------------
def derived_idempotency_key(event: dict[str, Any]) -> str:
    """The key of an event sent without one: a digest of its content, so that importing the same
    line again is a duplicate."""
    content = {key: value for key, value in event.items() if key != "idempotency_key"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return DERIVED_KEY_PREFIX + digest


class LearnerCache:
    """The users an events file names, by username key and by external id, looked up once for the
    whole import: each chunk queries only the names it is the first to mention (two queries at
    most), so the lookups cost as many rows as the file has learners, not lines. Memory is bounded
    by the number of users."""

    FIELDS = ("id", "username", "timezone", "external_id")

    def __init__(self) -> None:
        self.by_key: dict[str, User] = {}
        self.by_external_id: dict[str, User] = {}

    def load(self, records: list[dict[str, Any]]) -> None:
        keys = {r["user"].strip().lower() for r in records if isinstance(r.get("user"), str)} - self.by_key.keys()
        external_ids = {
            r["external_user_id"] for r in records if isinstance(r.get("external_user_id"), str)
        } - self.by_external_id.keys()
        if keys:
            self.by_key.update(
                (u.username_key, u) for u in User.objects.filter(username_key__in=keys).only(*self.FIELDS)
            )
        if external_ids:
            self.by_external_id.update(
                (u.external_id, u) for u in User.objects.filter(external_id__in=external_ids).only(*self.FIELDS)
            )


def events_import_context(
    *, records: list[dict[str, Any]], language_codes: frozenset[str], learners: LearnerCache
) -> dict[str, Any]:
    """What ``EventImportSerializer`` looks up for a chunk."""
    learners.load(records)
    return {
        "now": timezone.now(),
        "language_codes": language_codes,
        "users_by_key": learners.by_key,
        "users_by_external_id": learners.by_external_id,
    }


def _events_chunk(
    chunk: list[tuple[int, dict[str, Any]]],
    *,
    language_codes: frozenset[str],
    learners: LearnerCache,
    summary: ImportSummary,
    on_rejected: Rejected,
) -> None:
    context = events_import_context(
        records=[record for _, record, _ in chunk if record is not None],
        language_codes=language_codes,
        learners=learners,
    )
    serializer = EventImportSerializer(context=context)
    valid: list[dict[str, Any]] = []
    for number, record, unreadable in chunk:
        if unreadable is not None:
            summary.rejected += 1
            on_rejected(number, unreadable)
            continue
        try:
            event = serializer.fast_internal_value(record)
        except serializers.ValidationError as error:
            summary.rejected += 1
            on_rejected(number, _plain(_error_detail(error)))
            continue
        if event.get("idempotency_key") is None:
            event["idempotency_key"] = derived_idempotency_key(record)
        summary.touched.add(event["user"].pk)
        valid.append(event)
    if valid:
        stored = import_events_store(events=valid)
        summary.accepted += stored.accepted
        summary.duplicates += stored.duplicates


def events_import(
    *,
    stream: BinaryIO,
    on_rejected: Rejected,
    on_progress: Progress | None = None,
    on_rebuild_progress: Progress | None = None,
    on_rebuild_start: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Store every valid event of the NDJSON file, then rebuild what the touched users' events
    derive. Users named by a line are rebuilt even when all its events were duplicates, so a
    re-run after an interrupted import finishes the job (and otherwise changes nothing)."""
    raw, number = _first_line(stream)
    first, error = _json_object(raw.decode("utf-8", errors="replace"))
    if error is not None:
        raise FileRefused(f"Line {number} is not a JSON object, so the file is not NDJSON: {error['detail']}")
    lookups = {
        "language_codes": language_codes_read(),
        "learners": LearnerCache(),
    }
    summary = ImportSummary()
    started = time.monotonic()
    with webhook_events_suppressed():
        # Unreadable lines stay in the chunk, so the rejected file lists lines in order.
        chunk: list[tuple[int, dict[str, Any] | None, dict | None]] = [(number, first, None)]
        for line_number, line, error in _lines(stream, first_number=number + 1):
            record = None
            if error is None:
                record, error = _json_object(line)
            chunk.append((line_number, record, error))
            if len(chunk) >= EVENTS_CHUNK:
                _events_chunk(chunk, summary=summary, on_rejected=on_rejected, **lookups)
                if on_progress is not None:
                    on_progress(len(chunk))
                chunk = []
        if chunk:
            _events_chunk(chunk, summary=summary, on_rejected=on_rejected, **lookups)
            if on_progress is not None:
                on_progress(len(chunk))
        summary.store_seconds = time.monotonic() - started
        if on_rebuild_start is not None:
            on_rebuild_start(len(summary.touched))
        result = import_derived_rebuild(user_ids=summary.touched, on_progress=on_rebuild_progress)
    summary.users_rebuilt = result.users
    summary.rebuild_seconds = time.monotonic() - started - summary.store_seconds
    return summary
