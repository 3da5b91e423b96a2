"""HTTP load benchmark: the REST API under gunicorn, driven by locust, on loopback.

Target: under load, p95 <= 150 ms for reads and <= 250 ms for posting
events, and 0 errors.

Run from the project root; about 3 minutes in all on MariaDB (~2 minutes to fill, 60 s of load):

    .venv/bin/python bench/http_load.py                       # MariaDB (DATABASE_URL or the default)
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/http_load.py
    .venv/bin/python bench/http_load.py --users 64 --wait 0,0.1 --duration 2m   # near saturation
    .venv/bin/python bench/http_load.py --sqlite              # SQLite in a temporary directory
    .venv/bin/python bench/http_load.py --keep                # keep the database afterwards ...
    .venv/bin/python bench/http_load.py --reuse --keep        # ... and load it again without refilling

It needs the dev requirements (locust is pinned there, gunicorn in requirements.txt). Exit
status 0 when every target is met, 1 when one is missed, anything else when the run failed.

What it does:

1. Database: MariaDB takes the server and credentials from ``DATABASE_URL`` (default
   ``mysql://root@127.0.0.1:3306/zeeguu``) but works only in its own database,
   ``bench_zeeguu_http``, which it drops, creates and migrates (never the development or test
   databases); ``--sqlite`` uses a fresh file in a temporary directory. ``loaddata
   default_badges``.
2. Fill: ``--learners`` 2,000 learners (usernames as the service makes them, six timezones, one
   or two languages each); a random friendship graph of ~``--friends`` 20
   active friendships per learner and ~1,000 pending requests; ``--classrooms`` 5 classrooms of
   ``--classroom-size`` 40 students and a teacher, leaderboards on; ``--events`` 100,000 events
   over the last ``--weeks`` 4 weeks (all six types, some learners much busier than others,
   idempotency keys). The older 95 % are bulk-inserted and what ingestion derives from them
   (first occurrences, metrics, daily and friend streaks, the FRIENDS gauge, badges) is rebuilt
   by the service ``gamification.services.rebuild.metrics_rebuild`` (most of the fill time:
   friend streaks are refreshed per learner); the most recent ``--live-share`` 5 % then go
   through ``events_record`` in batches of up to 10, as the API records them. Then ``ANALYZE``,
   and an API token for each learner, issued afresh on every run (the database keeps digests
   only, so a kept database cannot give back the keys of an earlier run).
3. Server: ``gunicorn zeeguu_site.wsgi -w 4 -b 127.0.0.1:<free port>`` (sync workers) with a
   ``SECRET_KEY`` generated for the run, ``DEBUG`` unset, ``THROTTLING=off``,
   ``ALLOWED_HOSTS=127.0.0.1`` and ``DATABASE_URL`` (or ``SQLITE_PATH``) naming the bench
   database; a warm-up of a few requests per endpoint, so that no worker is measured cold.
4. Load: ``locust -f bench/locustfile.py --headless -u 32 -r 8 -t 60s`` (``--users``,
   ``--spawn-rate``, ``--duration``) with a think time of ``--wait`` 0.1-0.5 s between two
   requests of a simulated user: ~100 requests/s, about half of what this machine serves at
   saturation. Each simulated user acts as a random learner (by token, switching now and then)
   and mixes GET ``/api/me/``, ``/api/badges/``, ``/api/friends/``, ``/api/streaks/``,
   ``/api/leaderboards/friends/?metric=reading_time``,
   ``/api/leaderboards/classrooms/<id>/?metric=translated_words`` (members only),
   ``/api/users/?search=<prefix>``, ``/api/friend-requests/count/`` (77 % of requests) and POST
   ``/api/events/`` with 1-10 events (23 %; idempotency keys; 3 % of batches are sent again and
   must come back as duplicates). Any other status than the expected one counts as a failure.
5. Report: locust's CSV statistics as a table per endpoint (requests, failures, p50, p95, p99,
   requests/s, verdict), then all reads and all events together (exact percentiles from every
   response time), the verdict against the targets, the failures, error lines of gunicorn's
   log, and the CPU time gunicorn, MariaDB and locust used. Then gunicorn stops and the
   database is dropped (``--keep`` keeps it).

Bounds: only 127.0.0.1 is contacted. The fill is bounded by its sizes; the load by
``--duration`` (locust stops itself, and is killed if it overruns by 60 s); the server start by
a 60 s deadline. gunicorn and locust get SIGTERM if this script dies, and a SIGTERM or Ctrl-C to
it still stops the server and drops the database. Files (locust's CSV and log, gunicorn's log,
every response time, a JSON summary) go to ``bench/results/http_load-<time>/`` (not versioned).

What it measures, and the machine caveat: latency as a client on the same machine sees it,
queueing included, with 4 sync workers. The machines here have 2 shared cores: locust, the 4
workers and MariaDB all run on them, so the load generator takes CPU from the server it
measures (the report shows how much), and other work on the machine adds noise (the load
average is printed before and after). Near saturation every request waits for a core, and the
percentiles say more about the machine than about the code. Figures are upper bounds for a
server with cores of its own; compare runs on the same machine, not across machines.

Badge icons: ``collectstatic`` is not run (the bench writes nothing into the project), so the
production static storage has no manifest and ``icon_url`` is null in badge lists; that path
costs ~9 µs per icon here, under 0.5 ms per badge list.
"""

import argparse
import contextlib
import csv
import ctypes
import datetime as dt
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from common import (
    EVENT_MIX,
    LANGUAGES,
    TIMEZONES,
    insert_rows,
    log,
    mariadb_execute,
    mariadb_server,
    percentile,
    random_event_details,
    recreate_database,
    with_database,
)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
RESULTS = ROOT / "bench" / "results"
BENCH_DATABASE = "bench_zeeguu_http"
BENCH_CLIENT_NAME = "bench/http_load"  # the client name of the tokens each run issues
HOST = "127.0.0.1"
READ_TARGET_MS = 150.0
EVENTS_TARGET_MS = 250.0
FIRST_NAMES = (
    "Ada", "Bruno", "Chen", "Dora", "Emil", "Fatima", "Gustav", "Hana", "Ivan", "Jonas", "Karin", "Lars",
    "Maja", "Nils", "Olga", "Pia", "Rasmus", "Sofia", "Tobias", "Ulla", "Viktor", "Yuki", "Zara", "Mette",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nielsen", "Olsen", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber",
)  # fmt: skip
LIVE_BATCH = 10  # events per events_record call for the live share of the fill
SERVER_START_DEADLINE = 60.0
LOCUST_GRACE = 60.0  # seconds locust may run past --duration before it is killed
WARM_UP_ROUNDS = 6
PR_SET_PDEATHSIG = 1  # prctl(2)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load = parser.add_argument_group("load")
    load.add_argument("--users", type=int, default=32, help="simulated users (locust -u; default 32)")
    load.add_argument("--spawn-rate", type=float, default=8, help="users started per second (locust -r; default 8)")
    load.add_argument("--duration", default="60s", help="load duration (locust -t, e.g. 60s, 2m; default 60s)")
    load.add_argument("--wait", default="0.1,0.5", help="think time MIN,MAX seconds between requests of a user")
    load.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    data = parser.add_argument_group("data")
    data.add_argument("--learners", type=int, default=2000)
    data.add_argument("--friends", type=int, default=20, help="average active friendships per learner")
    data.add_argument("--classrooms", type=int, default=5)
    data.add_argument("--classroom-size", type=int, default=40)
    data.add_argument("--events", type=int, default=100_000)
    data.add_argument("--weeks", type=int, default=4, help="events spread over the last N weeks")
    data.add_argument("--live-share", type=float, default=0.05, help="share of events recorded via events_record")
    data.add_argument("--seed", type=int, default=7)
    where = parser.add_argument_group("database")
    where.add_argument("--sqlite", action="store_true", help="SQLite in a temporary directory instead of MariaDB")
    where.add_argument("--database", default=BENCH_DATABASE, help="MariaDB: the bench's own database (dropped)")
    where.add_argument(
        "--keep", action="store_true", help="keep the database at the end (MariaDB: see --reuse; SQLite: its directory)"
    )
    where.add_argument("--reuse", action="store_true", help="MariaDB: load the kept database without refilling")
    parser.add_argument("--results", type=Path, help="directory for the CSV files and logs (default bench/results/)")
    args = parser.parse_args()
    if not args.database.startswith(BENCH_DATABASE):
        parser.error(f"--database must start with {BENCH_DATABASE} (it is dropped and refilled).")
    try:
        if duration_seconds(args.duration) <= 0:
            raise ValueError(args.duration)
    except ValueError:
        parser.error("--duration takes locust's syntax: 60s, 2m, 1m30s")
    if args.sqlite and args.reuse:
        parser.error("--reuse works with MariaDB only.")
    if args.learners < args.classrooms * (args.classroom_size + 1) or args.learners < 10:
        parser.error("--learners too small for the classrooms.")
    if not 0 <= args.live_share <= 1 or args.users < 1 or args.workers < 1:
        parser.error("--live-share must be within 0..1, --users and --workers at least 1.")
    try:
        low, high = (float(part) for part in args.wait.split(","))
    except ValueError:
        parser.error("--wait takes MIN,MAX in seconds, e.g. 0.2,1.0")
    if not 0 <= low <= high:
        parser.error("--wait: 0 <= MIN <= MAX")
    return args


# Database ---------------------------------------------------------------------------------------


@dataclass
class Database:
    description: str
    server_env: dict[str, str]  # what gunicorn gets: DATABASE_URL or SQLITE_PATH
    mariadb: dict | None = None  # server settings to create and drop it with
    name: str = ""
    tmpdir: Path | None = None


def configure(args: argparse.Namespace) -> Database:
    """Point this process's Django at the bench database and describe it for the server."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "zeeguu_site.settings"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["THROTTLING"] = "off"
    os.environ.pop("DEBUG", None)  # no query log: it would slow the fill down
    sys.path.insert(0, str(ROOT))
    if args.sqlite:
        tmpdir = Path(tempfile.mkdtemp(prefix="bench_http_"))
        path = str(tmpdir / "bench.sqlite3")
        os.environ.pop("DATABASE_URL", None)
        os.environ["SQLITE_PATH"] = path
        return Database(description=f"SQLite {path}", server_env={"SQLITE_PATH": path}, tmpdir=tmpdir)
    url = os.environ.get("DATABASE_URL", "").strip() or "mysql://root@127.0.0.1:3306/zeeguu"
    parts = urlsplit(url)
    if parts.scheme not in {"mysql", "mariadb"}:
        sys.exit("DATABASE_URL must be mysql://USER[:PASSWORD]@HOST:PORT/any (or use --sqlite)")
    if parts.path.strip("/") == args.database:
        sys.exit(f"Refusing to use {args.database!r}: DATABASE_URL names it; the bench needs a database of its own.")
    bench_url = with_database(parts, args.database)
    os.environ["DATABASE_URL"] = bench_url
    server = mariadb_server(parts)
    return Database(
        description=f"MariaDB {server['host']}:{server['port']}/{args.database}",
        server_env={"DATABASE_URL": bench_url},
        mariadb=server,
        name=args.database,
    )


def database_create(db: Database, *, drop: bool) -> None:
    if db.mariadb is None:
        return
    recreate_database(db.mariadb, db.name, drop=drop)


def database_drop(db: Database) -> None:
    from django.db import connections

    connections.close_all()
    if db.mariadb is not None:
        recreate_database(db.mariadb, db.name, create=False)
    elif db.tmpdir is not None:
        shutil.rmtree(db.tmpdir, ignore_errors=True)


# Fill -------------------------------------------------------------------------------------------


def usernames(count: int, rng: random.Random) -> list[str]:
    """``<adjective>_<animal>[digits]`` as the service makes them: every bare pair first, then
    random suffixes."""
    from gamification.constants import ADJECTIVES, ANIMALS

    bases = [f"{adjective}_{animal}" for adjective in ADJECTIVES for animal in ANIMALS]
    rng.shuffle(bases)
    names = bases[:count]
    taken = set(names)
    for n in range(len(names), count):
        base = bases[n % len(bases)]
        name = f"{base}{rng.randint(1, 999)}"
        for _ in range(20):
            if name not in taken:
                break
            name = f"{base}{rng.randint(1, 9999)}"
        if name in taken:
            name = f"{base}{n}"
        taken.add(name)
        names.append(name)
    return names


def user_rows(names: list[str], rng: random.Random, created: dt.datetime) -> Iterator[dict]:
    """The benches' learners as raw ``User`` rows for ``insert_rows``: the username's animal as
    avatar, a matching colour pair, an unusable password (the benches log in by token)."""
    from gamification.constants import MATCHING_COLOR_PAIRS

    for n, username in enumerate(names):
        character, background = MATCHING_COLOR_PAIRS[n % len(MATCHING_COLOR_PAIRS)]
        yield {
            "password": "!",
            "email": f"{username}@bench.example.com",
            "username": username,
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "timezone": TIMEZONES[n % len(TIMEZONES)],
            "avatar_image": username.split("_", 1)[1].rstrip("0123456789"),
            "avatar_character_color": character,
            "avatar_background_color": background,
            "is_superuser": False,
            "is_staff": False,
            "is_active": True,
            "created_at": created,
            "updated_at": created,
        }


def fill(args: argparse.Namespace, now: dt.datetime) -> None:
    from django.db import transaction

    from gamification.models import (
        ActivityEvent,
        Classroom,
        ClassroomMembership,
        FriendRequest,
        Friendship,
        LanguageStreak,
        User,
        UserBadge,
    )
    from gamification.services.events import events_record
    from gamification.services.rebuild import metrics_rebuild

    rng = random.Random(args.seed)
    span = dt.timedelta(weeks=args.weeks)
    start = now - span
    created = start - dt.timedelta(weeks=8)

    began = time.perf_counter()
    names = usernames(args.learners, rng)

    with transaction.atomic():
        insert_rows(User, user_rows(names, rng, created), adapt_datetimes=True)
    user_ids = list(User.objects.order_by("id").values_list("id", flat=True))
    # Most learners study one language, some a second one.
    languages = {user_id: LANGUAGES[i % len(LANGUAGES)] for i, user_id in enumerate(user_ids)}
    second = {user_id: rng.choice(LANGUAGES) for user_id in user_ids if rng.random() < 0.2}
    log(f"  {len(user_ids)} learners")

    # Friendships: a random graph of average degree --friends; a few pending requests.
    pairs: set[tuple[int, int]] = set()
    for user_id in user_ids:
        for other in rng.sample(user_ids, min(len(user_ids) - 1, args.friends // 2 + rng.randint(0, 1))):
            if other != user_id:
                pairs.add((min(user_id, other), max(user_id, other)))
    with transaction.atomic():
        insert_rows(
            Friendship,
            (
                {
                    "user_low_id": low,
                    "user_high_id": high,
                    "created_at": created + dt.timedelta(seconds=rng.random() * 8 * 7 * 86400),
                    "ended_at": None,
                    "active": True,
                    "streak_length": 0,
                }
                for low, high in sorted(pairs)
            ),
            adapt_datetimes=True,
        )
    requests: dict[tuple[int, int], tuple[int, int]] = {}
    for _ in range(args.learners // 2):
        sender, receiver = rng.sample(user_ids, 2)
        pair = (min(sender, receiver), max(sender, receiver))
        if pair not in pairs:
            requests.setdefault(pair, (sender, receiver))
    with transaction.atomic():
        insert_rows(
            FriendRequest,
            (
                {
                    "sender_id": sender,
                    "receiver_id": receiver,
                    "user_low_id": low,
                    "user_high_id": high,
                    "created_at": now - dt.timedelta(seconds=rng.random() * 14 * 86400),
                }
                for (low, high), (sender, receiver) in requests.items()
            ),
            adapt_datetimes=True,
        )
    log(f"  {len(pairs)} friendships, {len(requests)} pending friend requests")

    # Classrooms of students drawn at random, each with a teacher from outside it.
    shuffled = user_ids[:]
    rng.shuffle(shuffled)
    classrooms = Classroom.objects.bulk_create(
        [
            Classroom(
                name=f"Bench class {n + 1}",
                invite_code=f"BENCH{n:05d}",
                language_id=LANGUAGES[n % len(LANGUAGES)],
                leaderboard_enabled=True,
            )
            for n in range(args.classrooms)
        ]
    )
    memberships = []
    for n, classroom in enumerate(classrooms):
        group = shuffled[n * args.classroom_size : (n + 1) * args.classroom_size]
        memberships += [ClassroomMembership(classroom=classroom, user_id=u, role="student") for u in group]
        teacher = shuffled[-1 - n]
        memberships.append(ClassroomMembership(classroom=classroom, user_id=teacher, role="teacher"))
    ClassroomMembership.objects.bulk_create(memberships)
    log(f"  {len(classrooms)} classrooms of {args.classroom_size} students")

    # Events, in time order (the log's primary key follows time); some learners much busier.
    activity = [rng.paretovariate(1.5) for _ in user_ids]
    types = [name for name, _ in EVENT_MIX]
    weights = [share for _, share in EVENT_MIX]
    moments = sorted(rng.random() * span.total_seconds() for _ in range(args.events))
    owners = rng.choices(user_ids, weights=activity, k=args.events)
    kinds = rng.choices(types, weights=weights, k=args.events)
    live_from = round(args.events * (1 - args.live_share))

    def event(n: int) -> dict:
        user_id, event_type = owners[n], kinds[n]
        occurred = start + dt.timedelta(seconds=moments[n])
        language = second[user_id] if user_id in second and rng.random() < 0.3 else languages[user_id]
        row = {
            "user_id": user_id,
            "type": event_type,
            "occurred_at": occurred,
            "language_id": language,
            "idempotency_key": f"fill-{n}",
            **random_event_details(rng, event_type),
        }
        return row

    def bulk_events() -> Iterable[dict]:
        for n in range(live_from):
            row = event(n)
            row["received_at"] = row["occurred_at"]
            row["idempotency_hash"] = hashlib.sha256(row["idempotency_key"].encode()).hexdigest()
            yield row

    with transaction.atomic():
        inserted = insert_rows(ActivityEvent, bulk_events(), adapt_datetimes=True)
    log(f"  {inserted} events bulk-inserted over {args.weeks} weeks ({time.perf_counter() - began:.0f} s so far)")

    # What ingestion derives from them, through the service that rebuilds it from the log.
    rebuild_began = time.perf_counter()
    result = metrics_rebuild()
    log(
        f"  metrics_rebuild: {result.users} users, {result.metrics_changed} metric values set,"
        f" {UserBadge.objects.count()} badges held, in {time.perf_counter() - rebuild_began:.0f} s"
    )

    # The most recent events through events_record, as the API records them: per learner in
    # batches of up to LIVE_BATCH consecutive events, the batches in time order.
    live_began = time.perf_counter()
    users_by_id = User.objects.in_bulk(user_ids)
    batches: dict[int, list[list[dict]]] = {}
    for n in range(live_from, args.events):
        row = event(n)
        item = {
            "type": row["type"],
            "occurred_at": row["occurred_at"],
            "language": row["language_id"],
            "idempotency_key": row["idempotency_key"],
            "user": None,
            "word": row["word"],
            "correct": row["correct"],
            "kind": row["kind"],
            "duration_seconds": row["duration_seconds"],
        }
        if row["type"] == "article_read":
            item["article_id"] = row["item_id"]
        elif row["type"] == "audio_lesson_completed":
            item["lesson_id"] = row["item_id"]
        own = batches.setdefault(row["user_id"], [[]])
        if len(own[-1]) >= LIVE_BATCH:
            own.append([])
        own[-1].append(item)
    ordered = sorted(
        ((batch[0]["occurred_at"], user_id, batch) for user_id, own in batches.items() for batch in own),
        key=lambda entry: (entry[0], entry[1]),
    )
    recorded = badges = 0
    for _, user_id, batch in ordered:
        outcome = events_record(reporter=users_by_id[user_id], events=batch)
        recorded += outcome.accepted
        badges += len(outcome.new_badges)
    log(
        f"  {recorded} events through events_record in {len(ordered)} calls, {badges} new badges"
        f" in {time.perf_counter() - live_began:.0f} s"
    )
    log(
        f"  totals: {ActivityEvent.objects.count()} events, {UserBadge.objects.count()} badges held,"
        f" {LanguageStreak.objects.filter(length__gt=0).count()} language streaks,"
        f" {Friendship.objects.filter(streak_length__gt=0).count()} friend streaks"
    )


def analyze() -> None:
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            tables = [m._meta.db_table for m in apps.get_app_config("gamification").get_models()]
            cursor.execute(f"ANALYZE TABLE {', '.join(tables)}")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")


def write_plan(path: Path, rng: random.Random) -> int:
    """The learners the locust users act as (token, username, language, classroom) and the
    search terms, read from the database (so that a kept database can be loaded again). Each
    learner gets a new API token, as a login would give; the previous run's are deleted."""
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone
    from knox.crypto import create_token_string, hash_token

    from gamification.models import ActivityEvent, ClassroomMembership, ClientToken, User

    classroom_of = dict(ClassroomMembership.objects.filter(role="student").values_list("user_id", "classroom_id"))
    language_of: dict[int, str] = {}
    for user_id, language, _ in (
        ActivityEvent.objects.values_list("user_id", "language_id")
        .annotate(n=Count("id"))
        .order_by("user_id", "-n", "language_id")
    ):
        language_of.setdefault(user_id, language)
    members = list(User.objects.filter(is_staff=False).order_by("id").values_list("id", "username"))
    keys = {user_id: create_token_string() for user_id, _ in members}
    expiry = timezone.now() + settings.TOKEN_TTL
    ClientToken.objects.filter(client_name=BENCH_CLIENT_NAME).delete()
    ClientToken.objects.bulk_create(
        [
            ClientToken(
                digest=hash_token(key),
                token_key=key[:15],
                user_id=user_id,
                expiry=expiry,
                client_name=BENCH_CLIENT_NAME,
            )
            for user_id, key in keys.items()
        ],
        batch_size=1000,
    )
    learners = [
        {
            "token": keys[user_id],
            "username": username,
            "language": language_of.get(user_id, "de"),
            "classroom": classroom_of.get(user_id),
        }
        for user_id, username in members
    ]
    # What people type into a search box: the first 3-8 characters of a username, sometimes a
    # whole one, sometimes a display name.
    usernames = [learner["username"] for learner in learners]
    terms = [name[: rng.randint(3, 8)] for name in rng.sample(usernames, min(200, len(usernames)))]
    terms += rng.sample(usernames, min(20, len(usernames)))
    terms += [f"{first} {last}" for first, last in zip(FIRST_NAMES, LAST_NAMES, strict=False)][:10]
    path.write_text(json.dumps({"learners": learners, "search_terms": terms}))
    path.chmod(0o600)
    return len(learners)


# Server and load --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """In the child before exec (Linux): receive SIGTERM when this script dies, however it dies,
    so that neither gunicorn nor locust outlives the benchmark."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def server_environment(db: Database) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "SQLITE_PATH", "REDIS_URL"}}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        THROTTLING="off",
        ALLOWED_HOSTS=HOST,
        DJANGO_SETTINGS_MODULE="zeeguu_site.settings",
        LOG_LEVEL="WARNING",
        **db.server_env,
    )
    return env


def http_get(url: str, token: str | None = None, timeout: float = 10.0) -> int:
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def server_start(db: Database, args: argparse.Namespace, port: int, log_path: Path) -> subprocess.Popen:
    command = [
        str(VENV_BIN / "gunicorn"),
        "zeeguu_site.wsgi",
        "-w",
        str(args.workers),
        "-b",
        f"{HOST}:{port}",
        "--timeout",
        "30",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
    ]
    with log_path.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 (fixed command, our own venv)
            command,
            cwd=ROOT,
            env=server_environment(db),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this script only; it stops the server itself
            preexec_fn=die_with_parent,
        )
    deadline = time.monotonic() + SERVER_START_DEADLINE
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            if http_get(f"http://{HOST}:{port}/api/avatar-options/", timeout=2) == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server_stop(server)
    raise RuntimeError(f"gunicorn did not answer within {SERVER_START_DEADLINE:.0f} s; see {log_path}")


def server_stop(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the group of the gunicorn master this script started
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def warm_up(base: str, plan: dict) -> None:
    """A few requests per read endpoint, so that every worker has imported, connected and
    resolved its URLs before the clock runs (gunicorn hands connections to any free worker)."""
    rng = random.Random(1)
    for _ in range(WARM_UP_ROUNDS):
        learner = rng.choice(plan["learners"])
        member = rng.choice([entry for entry in plan["learners"] if entry["classroom"]])
        for path, token in (
            ("/api/me/", learner["token"]),
            ("/api/badges/", learner["token"]),
            ("/api/friends/", learner["token"]),
            ("/api/streaks/", learner["token"]),
            ("/api/friend-requests/count/", learner["token"]),
            ("/api/leaderboards/friends/?metric=reading_time", learner["token"]),
            (f"/api/leaderboards/classrooms/{member['classroom']}/?metric=translated_words", member["token"]),
            (f"/api/users/?search={quote(rng.choice(plan['search_terms']))}", learner["token"]),
        ):
            status = http_get(base + path, token)
            if status != 200:
                raise RuntimeError(f"warm-up: GET {path} answered {status}")


def process_tree_cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process and its children (gunicorn's master and
    workers, the database server); NaN when psutil (a dependency of locust) is missing."""
    try:
        import psutil
    except ImportError:
        return dict.fromkeys(pids, float("nan"))
    used = {}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            used[name] = sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            used[name] = float("nan")
    return used


def machine_cpu() -> tuple[float, float, int]:
    """CPU seconds the whole machine spent busy and stolen by the hypervisor so far, and its
    number of cores (NaN without psutil)."""
    try:
        import psutil
    except ImportError:
        return float("nan"), float("nan"), os.cpu_count() or 1
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    steal = getattr(times, "steal", 0.0)
    return sum(times) - idle - steal, steal, psutil.cpu_count() or 1


def database_server_pid(db: Database) -> int | None:
    """The local MariaDB server's pid (for its CPU time), if it runs on this machine."""
    if db.mariadb is None or db.mariadb["host"] not in {"127.0.0.1", "localhost"}:
        return None
    try:
        import psutil
    except ImportError:
        return None
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in {"mariadbd", "mysqld"}:
            return process.pid
    return None


def locust_run(args: argparse.Namespace, base: str, plan_path: Path, run_dir: Path) -> tuple[int, float]:
    """Run locust headless; return its exit status and the CPU seconds it used."""
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        args.duration,
        "--host",
        base,
        "--csv",
        str(run_dir / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = dict(
        os.environ,
        BENCH_HTTP_PLAN=str(plan_path),
        BENCH_HTTP_SAMPLES=str(run_dir / "samples.json"),
        BENCH_HTTP_WAIT=args.wait,
        BENCH_HTTP_FINAL_CSV=str(run_dir / "final"),
    )
    limit = duration_seconds(args.duration) + LOCUST_GRACE
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust is the only child reaped meanwhile
    with (run_dir / "locust.log").open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 (fixed command, our own venv)
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"locust ran {limit:.0f} s without stopping: killed") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the group of the locust this script started
                process.wait(timeout=10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return process.returncode, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def duration_seconds(text: str) -> float:
    """Locust's ``-t`` syntax: ``90``, ``90s``, ``2m``, ``1h30m``."""
    total, number = 0.0, ""
    for char in text.strip():
        if char.isdigit():
            number += char
        elif char in "hms" and number:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
        else:
            raise ValueError(f"bad duration {text!r}")
    return total + (int(number) if number else 0)


# Report -----------------------------------------------------------------------------------------


def target_of(method: str) -> float:
    return EVENTS_TARGET_MS if method == "POST" else READ_TARGET_MS


def report(run_dir: Path, seconds: float, cpu_used: dict[str, float], server_errors: list[str]) -> dict:
    # The final tables the locustfile wrote at the end (locust's own files miss the last second).
    prefix = "final" if (run_dir / "final_stats.csv").exists() else "locust"
    rows = list(csv.DictReader((run_dir / f"{prefix}_stats.csv").open()))
    samples = json.loads((run_dir / "samples.json").read_text())
    failures_csv = list(csv.DictReader((run_dir / f"{prefix}_failures.csv").open()))
    header = (
        f"{'endpoint':<64} {'requests':>8} {'fails':>6} {'p50':>5} {'p95':>5} {'p99':>5} {'req/s':>6}"
        f" {'target':>7}  verdict"
    )
    print()
    print(header)
    print("-" * len(header))
    verdicts = []
    summary_rows = []
    for row in sorted((r for r in rows if r["Name"] != "Aggregated"), key=lambda r: (r["Type"] == "POST", r["Name"])):
        name = row["Name"]
        requests, fails = int(row["Request Count"]), int(row["Failure Count"])
        p50, p95, p99 = (float(row[k]) if row[k] not in ("N/A", "") else float("nan") for k in ("50%", "95%", "99%"))
        target = target_of(row["Type"])
        ok = fails == 0 and p95 <= target
        verdicts.append(ok)
        label = f"{row['Type']} {name}"
        print(
            f"{label:<64} {requests:>8} {fails:>6} {p50:>5.0f} {p95:>5.0f} {p99:>5.0f} {float(row['Requests/s']):>6.1f}"
            f" {target:>5.0f}ms  {'ok' if ok else 'MISSED'}"
        )
        summary_rows.append({"endpoint": label, "requests": requests, "failures": fails, "p50": p50, "p95": p95})
    print("-" * len(header))
    failed_by_group = {"reads": 0, "events": 0}
    for row in rows:
        if row["Name"] != "Aggregated":
            failed_by_group["events" if row["Type"] == "POST" else "reads"] += int(row["Failure Count"])
    groups = {}
    for group, target in (("reads", READ_TARGET_MS), ("events", EVENTS_TARGET_MS)):
        values = samples["samples"][group]
        p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
        fails = failed_by_group[group]
        ok = fails == 0 and p95 <= target and bool(values)
        verdicts.append(ok)
        groups[group] = {"requests": len(values), "failures": fails, "p50": p50, "p95": p95, "p99": p99}
        label = "all reads (GET)" if group == "reads" else "all events (POST /api/events/)"
        print(
            f"{label:<64} {len(values):>8} {fails:>6} {p50:>5.0f} {p95:>5.0f} {p99:>5.0f} {len(values) / seconds:>6.1f}"
            f" {target:>5.0f}ms  {'ok' if ok else 'MISSED'}"
        )
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(
        f"{'all requests':<64} {int(total['Request Count']):>8} {int(total['Failure Count']):>6}"
        f" {float(total['50%']):>5.0f} {float(total['95%']):>5.0f} {float(total['99%']):>5.0f}"
        f" {float(total['Requests/s']):>6.1f}"
    )
    print("(times in ms; per-endpoint percentiles are locust's, rounded as locust buckets them;")
    print(" the group rows are exact, from every response time)")
    if failures_csv:
        print(f"\nFailures ({prefix}_failures.csv):")
        for failure in failures_csv[:20]:
            print(f"  {failure['Occurrences']:>5} x {failure['Method']} {failure['Name']}: {failure['Error'][:150]}")
    if server_errors:
        print(f"\nServer log: {len(server_errors)} error line(s), first ones:")
        for line in server_errors[:10]:
            print(f"  {line[:200]}")
    history = rolling_p95(run_dir / "locust_stats_history.csv")
    if history:
        print(f"\nAll requests, p95 of the last 10 s, every 10 s (ms): {' '.join(history)}")
    if cpu_used:
        cores = int(cpu_used.get("cores", 2))
        ours = {k: v for k, v in cpu_used.items() if k in ("gunicorn", "mariadb", "locust") and v == v}
        parts = ", ".join(f"{name} {value:.0f} s" for name, value in ours.items())
        print(f"CPU time during the load ({seconds:.0f} s x {cores} cores = {cores * seconds:.0f} s): {parts}", end="")
        busy = cpu_used.get("machine busy", float("nan"))
        if busy == busy:
            others = busy - sum(ours.values())
            print(f"; whole machine busy {busy:.0f} s, of which other processes {max(others, 0):.0f} s", end="")
            print(f"; stolen by the hypervisor {cpu_used.get('machine steal', 0):.0f} s", end="")
        print()
    met = all(verdicts) and not server_errors
    print(
        f"\nVerdict: {'targets MET' if met else 'targets MISSED'} "
        f"(reads p95 <= {READ_TARGET_MS:.0f} ms, events p95 <= {EVENTS_TARGET_MS:.0f} ms, 0 errors)"
    )
    return {"endpoints": summary_rows, "groups": groups, "met": met, "server_errors": len(server_errors)}


def rolling_p95(history_csv: Path) -> list[str]:
    """Locust's rolling p95 of all requests (its window is the last 10 s), every 10 s: a
    disturbance (another process, the database flushing) shows as a bump."""
    if not history_csv.exists():
        return []
    rows = [r for r in csv.DictReader(history_csv.open()) if r["Name"] == "Aggregated" and r["95%"] != "N/A"]
    return [rows[i]["95%"] for i in range(9, len(rows), 10)]


def server_error_lines(log_path: Path) -> list[str]:
    """Lines of gunicorn's log that tell of a failure (tracebacks, worker timeouts, 5xx)."""
    markers = ("Traceback", "ERROR", "CRITICAL", "WORKER TIMEOUT", "Internal Server Error", "Exception")
    return [
        line.rstrip() for line in log_path.read_text(errors="replace").splitlines() if any(m in line for m in markers)
    ]


# Main -------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    # A plain `kill` runs the clean-up below too (stop gunicorn, drop the database).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    db = configure(args)
    run_dir = (args.results or RESULTS) / f"http_load-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    server = None
    loads = [os.getloadavg()]
    try:
        reuse = False
        if args.reuse:
            exists = mariadb_execute(
                db.mariadb, f"SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{db.name}'"
            )
            reuse = exists[0][0] > 0
            if not reuse:
                log(f"--reuse: no database {db.name} yet; filling one")
        database_create(db, drop=not reuse)

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.utils import timezone

        log(f"database: {db.description}")
        call_command("migrate", verbosity=0)
        if not reuse:
            call_command("loaddata", "default_badges", verbosity=0)
            began = time.perf_counter()
            log("filling")
            fill(args, timezone.now())
            log(f"filled in {time.perf_counter() - began:.0f} s")
        analyze()
        plan_path = run_dir / "plan.json"
        learners = write_plan(plan_path, random.Random(args.seed))
        connections.close_all()

        port = free_port()
        base = f"http://{HOST}:{port}"
        log(f"gunicorn: {args.workers} workers on {base}")
        server = server_start(db, args, port, run_dir / "gunicorn.log")
        warm_up(base, json.loads(plan_path.read_text()))

        measured = {"gunicorn": server.pid}
        database_pid = database_server_pid(db)
        if database_pid is not None:
            measured["mariadb"] = database_pid
        cpu_before = process_tree_cpu(measured)
        machine_before = machine_cpu()
        log(
            f"locust: {args.users} users (spawn rate {args.spawn_rate}/s) for {args.duration}, think time"
            f" {args.wait} s, as {learners} learners; load average {loads[0][0]:.2f}"
        )
        began = time.monotonic()
        code, locust_cpu = locust_run(args, base, plan_path, run_dir)
        seconds = time.monotonic() - began
        loads.append(os.getloadavg())
        used = {name: value - cpu_before[name] for name, value in process_tree_cpu(measured).items()}
        used["locust"] = locust_cpu
        machine_after = machine_cpu()
        used["machine busy"] = machine_after[0] - machine_before[0]
        used["machine steal"] = machine_after[1] - machine_before[1]
        used["cores"] = machine_after[2]
        log(f"locust exited with {code} after {seconds:.0f} s; load average {loads[-1][0]:.2f}")
        if not (run_dir / "locust_stats.csv").exists() or not (run_dir / "samples.json").exists():
            print((run_dir / "locust.log").read_text()[-3000:])
            raise RuntimeError("locust wrote no results")
        server_stop(server)
        server = None
        summary = report(run_dir, duration_seconds(args.duration), used, server_error_lines(run_dir / "gunicorn.log"))
        summary.update(
            database=db.description,
            users=args.users,
            duration=args.duration,
            wait=args.wait,
            workers=args.workers,
            load_average=[load[0] for load in loads],
            cpu_seconds=used,
        )
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        print(f"Files: {run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir}")
        return 0 if summary["met"] else 1
    finally:
        server_stop(server)
        plan = run_dir / "plan.json"
        if plan.exists():
            plan.unlink()  # tokens
        if args.keep:
            kept = f"database {db.name} (--reuse to load it again)" if db.mariadb else f"directory {db.tmpdir}"
            log(f"kept {kept}")
        else:
            database_drop(db)
            log("database dropped")


if __name__ == "__main__":
    sys.exit(main())
