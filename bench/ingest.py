"""Ingestion benchmark: events recorded per second through ``events_record``, against the floor.

Target: at least 200 events/s on MariaDB with durable commits, and
within 2x of a bare ``UPDATE usermetric SET value = value + 1`` loop on the same database.

Run from the project root:

    # MariaDB: the server and credentials come from DATABASE_URL; the bench works in its own
    # database, bench_zeeguu_ingest (--database), which it creates, migrates and drops at the end:
    # never the development or the test databases.
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/ingest.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/ingest.py --type practice

    # SQLite (DATABASE_URL unset): a fresh database file in a temporary directory, deleted after.
    .venv/bin/python bench/ingest.py --events 5000 --type exercise_answered

What is timed: ``--events`` calls of ``events_record`` with one event each (``--type``:
word_translated (default; every word new, so each event claims a first occurrence and
increments), exercise_answered (correct answers), practice (stored, then handed to the streaks
service), or mixed (all six types in turn)), round-robin over ``--users`` learners, each call its
own transaction committed durably (MariaDB: innodb_flush_log_at_trx_commit as configured, 1 by
default; SQLite: the project's WAL settings). Each event carries an idempotency key, as the
platform sends them (``--no-keys`` to leave them out). Before timing, a warm-up of 20 events per
user creates the metric rows a regular user has. ``--batch N`` sends N events per call instead
(the platform's batches; the floor stays one statement per transaction).

``--webhook``: afterwards, the same single-event ingestion with one webhook endpoint subscribed to
every event type, a black hole (a loopback port that accepts connections and never answers), and
``manage.py run_worker`` running beside the bench against the same database (so the worker
really tries it and times out), against no endpoint at all, in the same run: ``--rounds``
alternating blocks of each (``--events`` events per mode in all), then both rates and their ratio
(target: within 10 %), the deliveries written and the worker's attempts.

The floor: the same number of bare ``UPDATE gamification_usermetric SET value = value + 1 WHERE
id = %s`` statements in autocommit mode (one transaction and one durable commit each) on the same
connection. The script prints events/s, latency percentiles, queries per event, the floor's
statements/s and the ratio (events take that many times the floor's time; target <= 2).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import mariadb_server, recreate_database, with_database

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "bench_zeeguu_ingest"
EVENT_TYPES = ("word_translated", "exercise_answered", "practice", "mixed")
WARM_UP_PER_USER = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events to record (default 2000)")
    parser.add_argument("--users", type=int, default=5, help="learners the events are spread over (default 5)")
    parser.add_argument(
        "--type", choices=EVENT_TYPES, default="word_translated", help="event type (default word_translated)"
    )
    parser.add_argument("--batch", type=int, default=1, help="events per call (default 1; the API takes up to 500)")
    parser.add_argument("--no-keys", action="store_true", help="send events without idempotency keys")
    parser.add_argument("--database", default=BENCH_DATABASE, help="MariaDB only: the bench's own database (dropped)")
    parser.add_argument(
        "--webhook", action="store_true", help="also compare ingestion with a black-hole webhook subscribed and none"
    )
    parser.add_argument("--rounds", type=int, default=6, help="--webhook: alternating blocks per mode (default 6)")
    args = parser.parse_args()
    if args.events < 1 or args.users < 1 or not 1 <= args.batch <= 500:
        parser.error("--events and --users must be at least 1, --batch 1 to 500")
    return args


def configure_django(args: argparse.Namespace) -> tuple[str, dict | None]:
    """Point Django at a database of the bench's own; return its description and, for MariaDB,
    the server settings to create it with."""
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "zeeguu_site.settings"
    os.environ["THROTTLING"] = "off"
    os.environ.pop("DEBUG", None)  # no query log: it would slow the loop down
    sys.path.insert(0, str(ROOT))
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        directory = tempfile.mkdtemp(prefix="bench_ingest_")
        os.environ["SQLITE_PATH"] = str(Path(directory) / "bench.sqlite3")
        return f"SQLite {os.environ['SQLITE_PATH']}", None
    parts = urlsplit(url)
    if parts.scheme not in {"mysql", "mariadb"}:
        sys.exit("DATABASE_URL must be mysql://USER[:PASSWORD]@HOST:PORT/any (or unset for SQLite)")
    if args.database.startswith("test_") or args.database == parts.path.strip("/"):
        sys.exit(f"Refusing to use {args.database!r}: the bench needs a database of its own.")
    os.environ["DATABASE_URL"] = with_database(parts, args.database)
    server = mariadb_server(parts)
    return f"MariaDB {server['host']}:{server['port']}/{args.database}", server


def make_event(event_type: str, index: int, *, keys: bool) -> dict:
    from django.utils import timezone

    if event_type == "mixed":
        event_type = ("word_translated", "exercise_answered", "practice", "word_learned", "article_read")[index % 5]
        if index % 10 == 9:
            event_type = "audio_lesson_completed"
    event = {"type": event_type, "language": "de", "occurred_at": timezone.now()}
    if keys:
        event["idempotency_key"] = f"bench-{index}"
    if event_type in ("word_translated", "word_learned"):
        event["word"] = f"Wort{index}"
    elif event_type == "exercise_answered":
        event["correct"] = True
    elif event_type == "practice":
        event.update(kind="reading", duration_seconds=60)
    elif event_type == "article_read":
        event["article_id"] = str(index)
    elif event_type == "audio_lesson_completed":
        event["lesson_id"] = index
    return event


class QueryCounter:
    """Counts the statements Django sends (an execute wrapper: no query log needed)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def webhook_comparison(args: argparse.Namespace, users: list, *, keys: bool) -> None:
    """Single-event ingestion with a black-hole endpoint subscribed (and the worker trying it)
    against none, in alternating blocks of the same run."""
    import signal
    import socket
    import subprocess

    from gamification.models import WebhookAttempt, WebhookDelivery, WebhookEventType
    from gamification.services.events import events_record
    from gamification.services.webhooks import webhook_endpoint_put, webhook_endpoint_update

    black_hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(1024)  # accepts (the kernel's backlog does), never answers
    url = f"http://127.0.0.1:{black_hole.getsockname()[1]}/hook"
    endpoint, _ = webhook_endpoint_put(url=url, secret="bench-secret", event_types=list(WebhookEventType.values))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="zeeguu_site.settings")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--database"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    per_block = max(1, args.events // (2 * args.rounds))
    elapsed = {"none": 0.0, "black hole": 0.0}
    counts = {"none": 0, "black hole": 0}
    index = 10_000_000
    try:
        time.sleep(2)  # the worker is up and polling
        for round_number in range(2 * args.rounds):
            mode = "black hole" if round_number % 2 else "none"
            webhook_endpoint_update(endpoint=endpoint, active=mode == "black hole")
            started = time.perf_counter()
            for call in range(per_block):
                events_record(reporter=users[call % args.users], events=[make_event(args.type, index, keys=keys)])
                index += 1
            elapsed[mode] += time.perf_counter() - started
            counts[mode] += per_block
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        black_hole.close()
    rates = {mode: counts[mode] / elapsed[mode] for mode in elapsed}
    ratio = rates["black hole"] / rates["none"]
    attempts = WebhookAttempt.objects.count()
    timeouts = WebhookAttempt.objects.filter(error__startswith="timeout").count()
    print(f"Webhooks: {args.rounds} alternating blocks of {per_block} single-event calls per mode ({args.type})")
    print(f"  no endpoint:                 {rates['none']:8.1f} events/s")
    print(f"  black-hole endpoint + worker: {rates['black hole']:8.1f} events/s")
    verdict = "within" if ratio >= 0.9 else "beyond"
    print(f"  ratio: {ratio:.3f} of the rate without ({verdict} the 10 % target)")
    print(
        f"  deliveries written: {WebhookDelivery.objects.count()}, worker attempts during the run: {attempts}"
        f" ({timeouts} timeouts)"
    )


def main() -> None:
    args = parse_args()
    where, server = configure_django(args)
    if server is not None:
        recreate_database(server, args.database)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from gamification.models import ActivityEvent, ActivityType, UserMetric
    from gamification.services.events import events_record
    from gamification.services.users import user_create

    print(f"Database: {where}", flush=True)
    call_command("migrate", verbosity=0)
    call_command("loaddata", "default_badges", verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SELECT @@version, @@innodb_flush_log_at_trx_commit")
            version, flush = cursor.fetchone()
            print(f"Server: MariaDB {version}, innodb_flush_log_at_trx_commit={flush}")
        else:
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(cursor.fetchone()[0])
            print(f"Server: SQLite, journal_mode={journal}, synchronous={synchronous}")

    users = [
        user_create(email=f"bench{i}@example.com", password=None, username=f"bench_learner{i}")
        for i in range(args.users)
    ]
    keys = not args.no_keys
    for i in range(WARM_UP_PER_USER * args.users):
        events_record(reporter=users[i % args.users], events=[make_event(args.type, -1 - i, keys=keys)])

    # Timed: --batch events per call (one by default), each call its own durable transaction.
    counter = QueryCounter()
    latencies: list[float] = []
    with connection.execute_wrapper(counter):
        cpu_started = time.process_time()
        started = time.perf_counter()
        for call, first in enumerate(range(0, args.events, args.batch)):
            batch = [make_event(args.type, i, keys=keys) for i in range(first, min(first + args.batch, args.events))]
            t0 = time.perf_counter()
            events_record(reporter=users[call % args.users], events=batch)
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    assert ActivityEvent.objects.count() == args.events + WARM_UP_PER_USER * args.users, "every event is stored"

    # The floor: bare increments of one metric row, each its own transaction (autocommit).
    metric = UserMetric.objects.create(
        user=users[0], activity_type=ActivityType.objects.get(code="PROFILE_CUSTOMISED"), value=0
    )
    table = UserMetric._meta.db_table
    floor_latencies: list[float] = []
    with connection.cursor() as cursor:
        floor_started = time.perf_counter()
        for _ in range(args.events):
            t0 = time.perf_counter()
            cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE id = %s", [metric.pk])
            floor_latencies.append(time.perf_counter() - t0)
        floor_elapsed = time.perf_counter() - floor_started
    metric.refresh_from_db()
    assert metric.value == args.events

    rate = args.events / elapsed
    floor_rate = args.events / floor_elapsed
    print(
        f"Events: {args.events} x {args.type} over {args.users} users, {args.batch} event(s) per call,"
        f" keys={'on' if keys else 'off'}"
    )
    print(
        f"  events_record: {rate:8.1f} events/s   per call: mean {statistics.mean(latencies) * 1000:.2f} ms"
        f"   p50 {percentile(latencies, 0.5) * 1000:.2f} ms   p95 {percentile(latencies, 0.95) * 1000:.2f} ms"
        f"   {counter.count / args.events:.1f} queries/event   {cpu / args.events * 1000:.2f} ms CPU/event here"
    )
    print(
        f"  floor (UPDATE value = value + 1, autocommit): {floor_rate:8.1f} statements/s"
        f"   mean {statistics.mean(floor_latencies) * 1000:.2f} ms"
    )
    print(f"  machine load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    ratio = floor_rate / rate
    verdict = "within" if ratio <= 2 else "beyond"
    print(f"  ratio: events take {ratio:.2f}x the floor's time ({verdict} the 2x target)")
    if connection.vendor == "mysql":
        print(f"  target >= 200 events/s: {'met' if rate >= 200 else 'NOT met'}")
    if args.webhook:
        webhook_comparison(args, users, keys=keys)
    if connection.vendor == "mysql":
        connection.close()
        recreate_database(server, args.database, create=False)
    else:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(os.environ["SQLITE_PATH"] + suffix).unlink(missing_ok=True)
        Path(os.environ["SQLITE_PATH"]).parent.rmdir()


if __name__ == "__main__":
    main()
