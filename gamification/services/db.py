"""The services' transaction and locking toolbox: every service that writes uses these.

- Transactions: ``atomic_with_retry`` owns a transaction and retries it whole on a deadlock;
  ``atomic_join_or_retry`` joins the caller's transaction as it is (no savepoint) or owns one.
- Errors: ``is_unique_violation`` (a unique constraint deciding a race, optionally a named one),
  ``is_retryable``, ``is_database_unavailable`` (a 503, SPEC §14).
- Row locks: the (user, activity type) metric rows, locked in one global order so that no two
  writers deadlock (``metrics_lock``, ``metrics_lock_or_create``).
"""

import datetime as dt
import random
import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models.constants import OnConflict

from gamification.models import UserMetric

T = TypeVar("T")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
RETRYABLE_MYSQL_CODES = {1213, 1205}
MAX_ATTEMPTS = 6

# The database cannot be reached or dropped the connection (SPEC §14: answered with a 503):
# 2002/2003 cannot connect (socket, TCP), 2005 unknown host, 2006 server gone away, 2013 and 2055
# connection lost, 1040 too many connections, 1053 server shutting down, 1927 connection killed
# (MariaDB), 4031 disconnected as idle (MySQL 8). Syntax errors, unknown tables or columns and
# constraint violations are bugs or bad input, never this.
UNAVAILABLE_MYSQL_CODES = {2002, 2003, 2005, 2006, 2013, 2055, 1040, 1053, 1927, 4031}
UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database file", "disk i/o error", "database is locked")


def is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(error)


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database is down or the connection to it broke (rather than
    that the query or the data was wrong). Such a request did nothing: its transaction never
    committed or, if the connection broke during COMMIT, its outcome is unknown to us; either
    way the client may repeat it (with its idempotency keys, a repeat changes nothing twice)."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    code = error.args[0] if error.args else None
    if isinstance(code, int):
        return code in UNAVAILABLE_MYSQL_CODES
    message = str(error).lower()
    return any(text in message for text in UNAVAILABLE_SQLITE_MESSAGES)


def atomic_with_retry(fn: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``fn`` in a transaction; retry the whole transaction on a deadlock.

    Retries only when this call owns the outermost transaction: inside someone else's
    transaction, the error propagates so that the owner retries (or fails) as a whole.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            return fn()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")


def atomic_join_or_retry(fn: Callable[[], T]) -> T:
    """Inside the caller's transaction, run ``fn`` as part of it, without a savepoint: nothing in
    ``fn`` catches a database error, so a failure is the caller's whole transaction's failure and
    the caller retries. Alone, own a transaction retried on deadlocks."""
    if connection.in_atomic_block:
        return fn()
    return atomic_with_retry(fn)


# MariaDB: (1062, "Duplicate entry 'x' for key 'index_name'"); SQLite: "UNIQUE constraint failed:
# table.column[, table.column]" (the columns, not the constraint's name).
_MYSQL_DUPLICATE_KEY = re.compile(r"for key '([^']+)'")
_SQLITE_UNIQUE = "UNIQUE constraint failed: "


def is_unique_violation(error: IntegrityError, *, on: str | None = None) -> bool:
    """Whether ``error`` is a duplicate key (a unique constraint deciding a race) rather than
    another integrity failure; with ``on``, only when the violated index or one of its columns
    names ``on`` (e.g. ``"username_key"``, ``"invite_code"``)."""
    code = error.args[0] if error.args else None
    text = str(error.args[1]) if code == 1062 and len(error.args) > 1 else str(error)
    if code == 1062:
        if on is None:
            return True
        match = _MYSQL_DUPLICATE_KEY.search(text)
        return bool(match) and on in match.group(1)
    if _SQLITE_UNIQUE not in text:
        return False
    if on is None:
        return True
    columns = text.split(_SQLITE_UNIQUE, 1)[1]
    return any(on in column.strip().split(".")[-1] for column in columns.split(","))


# Metric rows ------------------------------------------------------------------------------------
# The hot path of ingestion locks metric rows on every event: plain, portable SQL here, since the
# ORM's query building cost ~0.6 ms of Python per statement, several times the statement itself
# (bench/ingest.py).
def quoted_table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def metrics_lock(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], UserMetric]:
    """Lock the existing metric rows of (user id, activity type id) pairs in one query, in
    (user, type) order, and return them by pair; missing rows are left out.

    The caller owns the transaction. On SQLite (no row locks) IMMEDIATE transactions serialise
    writers, so the rows read are as good as locked.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    user_ids = sorted({u for u, _ in wanted})
    type_ids = sorted({t for _, t in wanted})
    sql = (
        f"SELECT id, user_id, activity_type_id, value FROM {quoted_table(UserMetric)}"  # noqa: S608 (no user input)
        f" WHERE user_id IN ({', '.join(['%s'] * len(user_ids))})"
        f" AND activity_type_id IN ({', '.join(['%s'] * len(type_ids))})"
        " ORDER BY user_id, activity_type_id"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*user_ids, *type_ids])
        rows = cursor.fetchall()
    return {
        (user_id, type_id): UserMetric(id=pk, user_id=user_id, activity_type_id=type_id, value=value)
        for pk, user_id, type_id, value in rows
        if (user_id, type_id) in wanted
    }


def metrics_lock_or_create(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], UserMetric]:
    """Lock the metric rows of (user id, activity type id) pairs, creating missing ones (value 0),
    in one global order. The caller owns the transaction.

    The existing rows are locked first: on MariaDB an INSERT IGNORE that meets an existing row
    takes a shared lock, and two transactions upgrading shared locks on one hot row to exclusive
    deadlock each other. Only then are the missing rows inserted (insert-if-absent on the (user,
    type) unique constraint) and locked: ours, or a concurrent transaction's.
    """
    wanted = sorted(set(pairs))
    locked = metrics_lock(pairs=wanted)
    missing = [pair for pair in wanted if pair not in locked]
    if missing:
        UserMetric.objects.bulk_create(
            [UserMetric(user_id=user_id, activity_type_id=type_id, value=0) for user_id, type_id in missing],
            ignore_conflicts=True,
        )
        locked.update(metrics_lock(pairs=missing))
    return locked


def utc_datetime_adapter() -> Callable[[dt.datetime], Any]:
    """A function that adapts an aware datetime for the default connection, as
    ``connection.ops.adapt_datetimefield_value`` does, for bulk statements of raw rows.

    When the connection stores UTC (the default), it is a plain ``astimezone`` and ``str``:
    the same text as Django's adapter (naive UTC, ``YYYY-MM-DD HH:MM:SS[.ffffff]``), at a tenth
    of its cost, which shows at a million rows. Otherwise it is Django's adapter."""
    ops = connection.ops
    if not settings.USE_TZ or connection.timezone_name != "UTC" or connection.vendor not in {"mysql", "sqlite"}:
        return ops.adapt_datetimefield_value

    def adapt(value: dt.datetime) -> Any:
        if value.tzinfo is None:
            return ops.adapt_datetimefield_value(value)  # Django's error for a naive time
        return str(value.astimezone(dt.UTC).replace(tzinfo=None))

    return adapt


def rows_insert(
    model: type, columns: list[str], rows: list[tuple], *, ignore_conflicts: bool = False, batch: int = 1000
) -> int:
    """Multi-row ``INSERT`` (``ignore_conflicts``: ``INSERT IGNORE`` on MariaDB, ``INSERT OR
    IGNORE`` on SQLite, so a row a unique constraint refuses is skipped) of plain tuples whose
    values are already adapted for the database (ints, strings, None, booleans: see
    ``utc_datetime_adapter``), ``batch`` rows a statement. Returns how many rows were inserted.

    For bulk work (imports, rebuilds): at tens of thousands of rows, model instances and
    ``bulk_create`` cost more than the database. On MariaDB the statement's text is built here,
    every string escaped by the client library's own ``string_literal`` (the connection's
    character set): MySQLdb's ``executemany`` escapes each value through Python-level converter
    look-ups that cost ~60 µs a row, more than the server's work."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    head = "{} {} ({}) VALUES ".format(
        connection.ops.insert_statement(on_conflict=OnConflict.IGNORE if ignore_conflicts else None),
        quote(model._meta.db_table),
        ", ".join(quote(column) for column in columns),
    )
    inserted = 0
    with connection.cursor() as cursor:
        if connection.vendor != "mysql":
            sql = head + "({})".format(", ".join(["%s"] * len(columns)))
            for start in range(0, len(rows), batch):
                cursor.executemany(sql, rows[start : start + batch])
                inserted += cursor.rowcount
            return inserted
        connection.ensure_connection()
        literal = connection.connection.string_literal
        for start in range(0, len(rows), batch):
            values = ",".join(
                "(" + ",".join(map(partial(_mysql_literal, literal), row)) + ")" for row in rows[start : start + batch]
            )
            cursor.execute(head + values)
            inserted += cursor.rowcount
    return inserted


def _mysql_literal(literal: Callable[[bytes], bytes], value: Any) -> str:
    kind = type(value)
    if kind is str or isinstance(value, str):  # str subclasses too (TextChoices members)
        return literal(str.encode(value, "utf-8")).decode("utf-8")
    if value is None:
        return "NULL"
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return str(value)
    raise TypeError(f"rows_insert takes adapted values (int, str, bool, None), not {kind.__name__}.")
