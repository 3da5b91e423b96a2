"""Helpers shared by the benchmark scripts (``ingest.py``, ``leaderboard.py``, ``http_load.py``).

The scripts run as ``python bench/<name>.py``, so Python puts this folder on ``sys.path`` and they
import it as ``common``. Nothing here imports Django at module level: the scripts configure
Django first and the functions that need it import it when called.
"""

import random
import time
from collections.abc import Iterable
from urllib.parse import SplitResult, urlunsplit

TIMEZONES = ("UTC", "Europe/Copenhagen", "Europe/Berlin", "America/New_York", "Australia/Brisbane", "Asia/Tokyo")
LANGUAGES = ("de", "fr", "es", "it", "nl", "da")
# Event mix of the fills: (type, share).
EVENT_MIX = (
    ("practice", 0.36),
    ("exercise_answered", 0.34),
    ("word_translated", 0.15),
    ("word_learned", 0.05),
    ("article_read", 0.06),
    ("audio_lesson_completed", 0.04),
)
PRACTICE_KINDS = ("reading", "exercises", "listening", "watching", "browsing")
VOCABULARY = 3000
ARTICLES = 20000
LESSONS = 400
CHUNK = 5000


def log(message: str) -> None:
    """Print ``message`` with the wall-clock time, flushed at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# MariaDB ----------------------------------------------------------------------------------------


def mariadb_server(parts: SplitResult) -> dict:
    """The MySQLdb connection settings of a split ``mysql://`` URL (defaults: root@127.0.0.1:3306)."""
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }


def with_database(parts: SplitResult, database: str) -> str:
    """The URL of ``parts`` with its path replaced by ``database`` (and no fragment)."""
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def mariadb_execute(server: dict, *statements: str) -> list:
    """Run ``statements`` on a connection of their own; return the rows of the last one."""
    import MySQLdb

    connection = MySQLdb.connect(**server)
    try:
        cursor = connection.cursor()
        rows = []
        for statement in statements:
            cursor.execute(statement)
            rows = list(cursor.fetchall())
        return rows
    finally:
        connection.close()


def recreate_database(server: dict, database: str, *, drop: bool = True, create: bool = True) -> None:
    """Drop ``database`` if it exists (``drop``), then create it if absent (``create``), utf8mb4."""
    statements = [f"DROP DATABASE IF EXISTS `{database}`"] if drop else []
    if create:
        statements.append(
            f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    mariadb_execute(server, *statements)


# Fill -------------------------------------------------------------------------------------------


def insert_rows(model, rows: Iterable[dict], *, chunk: int = CHUNK, adapt_datetimes: bool = False) -> int:
    """Multi-row INSERTs in chunks through the DB-API's executemany, bypassing the ORM's model
    instances; return the number of rows. Columns a row does not name get the field's default
    (or NULL). With ``adapt_datetimes`` the backend adapts datetime values (aware in, the
    database's format out); without it they go to the driver as they are (naive UTC)."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED, DateTimeField

    fields = [f for f in model._meta.concrete_fields if not f.primary_key and not f.generated]
    names = [f.attname for f in fields]
    datetimes = {f.attname for f in fields if isinstance(f, DateTimeField)} if adapt_datetimes else set()
    defaults = {
        f.attname: (f.default if f.default is not NOT_PROVIDED and not callable(f.default) else None) for f in fields
    }
    adapt = connection.ops.adapt_datetimefield_value
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    total, batch = 0, []
    with connection.cursor() as cursor:
        for row in rows:
            values = []
            for name in names:
                value = row.get(name, defaults[name])
                values.append(adapt(value) if name in datetimes and value is not None else value)
            batch.append(tuple(values))
            if len(batch) >= chunk:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            total += len(batch)
    return total


def random_event_details(rng: random.Random, event_type: str) -> dict:
    """The type-specific columns of a random activity-event row (``word``, ``correct``,
    ``item_id``, ``kind``, ``duration_seconds``; the ones a type does not use are empty):
    practice of a random kind for 30 s to 30 min, 70 % correct answers, words skewed towards
    the frequent end of ``VOCABULARY``, random articles and lessons."""
    details = {"word": "", "correct": None, "item_id": "", "kind": "", "duration_seconds": None}
    if event_type == "practice":
        details["kind"] = rng.choice(PRACTICE_KINDS)
        details["duration_seconds"] = rng.randint(30, 1800)
    elif event_type == "exercise_answered":
        details["correct"] = rng.random() < 0.7
    elif event_type in ("word_translated", "word_learned"):
        details["word"] = f"word{int(rng.triangular(0, VOCABULARY, 0))}"
    elif event_type == "article_read":
        details["item_id"] = str(rng.randrange(ARTICLES))
    else:
        details["item_id"] = str(rng.randrange(LESSONS))
    return details


# Report -----------------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0..1); NaN when there are none."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
