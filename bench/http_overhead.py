"""HTTP overhead benchmark: each read endpoint's requests/s against hello-world baselines served
by the same gunicorn, in the same run.

Target: every read endpoint serves at least 50 % of the requests/s of an
authenticated hello-world DRF view (token look-up, no other query), with realistic data: a
learner with 100 friends, the full badge catalogue, a 100-member classroom board, a 101-member
friends board and search over 20,000 users.

Run from the project root (about 8 minutes on MariaDB: ~1 minute to fill, the rest is load):

    .venv/bin/python bench/http_overhead.py                    # MariaDB (DATABASE_URL or the default)
    .venv/bin/python bench/http_overhead.py --sqlite           # SQLite in a temporary directory
    .venv/bin/python bench/http_overhead.py --keep             # keep the database ...
    .venv/bin/python bench/http_overhead.py --reuse --keep     # ... and measure it again without refilling
    .venv/bin/python bench/http_overhead.py --profile          # also profile each endpoint in-process
    .venv/bin/python bench/http_overhead.py --reuse --keep --in-process   # only CPU ms/request in-process
    .venv/bin/python bench/http_overhead.py --reuse --keep --in-process --floors   # and each one's queries alone
    .venv/bin/python bench/http_overhead.py --redis redis://127.0.0.1:6379/0   # with a shared cache

It needs ``wrk`` (Debian package ``wrk``: installed with apt-get when missing, as the Makefile
does for chromium) and, for ``--profile``, pyinstrument (pinned in requirements-dev.txt).

1. Database: MariaDB takes the server and credentials from ``DATABASE_URL`` but works only in its
   own database ``bench_http`` (dropped, created, migrated; dropped again at the end unless
   ``--keep``); ``--sqlite`` uses a fresh file in a temporary directory. ``loaddata
   default_badges`` (the full catalogue).
2. Fill: ``--users`` 20,000 learners (usernames as the service makes them); the probe learner has
   ``--friends`` 100 friends, 5 pending requests and is one of a ``--board-size`` 100-student
   classroom with its leaderboard on; 20,000 background friendships, 1,000 pending requests;
   ``--events-per-member`` 150 events for each of the probe, their friends and classmates over
   the last 4 weeks plus 100,000 background events; derived data (metrics, streaks, friend
   streaks, badges) rebuilt for the members by ``metrics_rebuild``; ``ANALYZE``; a token.
3. Server: ``gunicorn zeeguu_site.wsgi -w 4`` (sync workers) with
   ``DJANGO_SETTINGS_MODULE=bench.settings_overhead``, which adds the two baselines of
   ``bench/urls_overhead.py`` (``/bench/hello/`` without authentication, ``/bench/hello-auth/``
   behind it); ``THROTTLING=off``, ``DEBUG`` unset. On MariaDB also ``/bench/least/<n>/``: each
   member-list endpoint's least work served alone (``least_work()``'s statements, which the
   script writes to ``least_work.json`` in the run's directory; the rows written as JSON).
4. Load: ``wrk -t2 -c16 -d<--duration>`` per endpoint, every endpoint once per round, the order
   rotated each round, ``--rounds`` 3 rounds: the baselines and the endpoints share the
   machine's state. Every response must be 2xx.
5. Report per endpoint: response size, requests/s (all rounds), median p50 and p99 of the rounds,
   the ratio to the authenticated baseline, CPU milliseconds per request of gunicorn and of the
   database server, and the verdict (ratio >= 50 %). On MariaDB, then each member-list
   endpoint's ceiling: the ratio it would reach doing only its least work (``least_work()``:
   the rows its answer shows, from the best index, nothing else) on top of the baseline's
   measured CPU per request, beside the ratio that least work reached when served (the
   ``least:`` rows of the report, measured like the endpoints; not counted in the verdict).

The machine caveat: wrk, the workers and the database share 2 cores with whatever else runs;
absolute figures are noisy, ratios within one run are what this measures.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import http_load
from common import EVENT_MIX, LANGUAGES, insert_rows, log, mariadb_execute, random_event_details

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent  # gunicorn of the interpreter running this (the venv)
RESULTS = ROOT / "bench" / "results"
BENCH_DATABASE = "bench_http"
BENCH_CLIENT_NAME = "bench/http_overhead"
SETTINGS_MODULE = "bench.settings_overhead"
HOST = "127.0.0.1"
TARGET_RATIO = 0.5
AUTH_BASELINE = "hello (authenticated)"
ANON_BASELINE = "hello (no auth)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load = parser.add_argument_group("load")
    load.add_argument("--duration", type=int, default=6, help="seconds of wrk per endpoint and round (default 6)")
    load.add_argument("--rounds", type=int, default=3, help="rounds over every endpoint (default 3)")
    load.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    load.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    load.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    load.add_argument("--only", action="append", help="measure only endpoints whose name contains this (repeatable)")
    data = parser.add_argument_group("data")
    data.add_argument("--users", type=int, default=20000)
    data.add_argument("--friends", type=int, default=100, help="friends of the probe learner")
    data.add_argument("--board-size", type=int, default=100, help="students of the probe's classroom")
    data.add_argument("--events-per-member", type=int, default=150)
    data.add_argument("--background-events", type=int, default=100_000)
    data.add_argument("--seed", type=int, default=11)
    where = parser.add_argument_group("database")
    where.add_argument("--sqlite", action="store_true", help="SQLite in a temporary directory instead of MariaDB")
    where.add_argument("--database", default=BENCH_DATABASE, help="MariaDB: the bench's own database (dropped)")
    where.add_argument("--keep", action="store_true", help="keep the database at the end")
    where.add_argument("--reuse", action="store_true", help="MariaDB: measure the kept database without refilling")
    where.add_argument("--redis", default="", help="REDIS_URL for the server (a key prefix of its own); default none")
    parser.add_argument("--profile", action="store_true", help="profile each endpoint in-process with pyinstrument")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="only the CPU ms/request of each endpoint through Django's test client (no profiler, no gunicorn, no wrk)",
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="with --in-process: also each endpoint's queries run alone on MariaDB (its CPU per request), "
        "and the ratio the endpoint could reach at best with that Python and that database work",
    )
    parser.add_argument("--results", type=Path, help="directory for the logs and summary (default bench/results/)")
    args = parser.parse_args()
    if not args.database.startswith(BENCH_DATABASE):
        parser.error(f"--database must start with {BENCH_DATABASE} (it is dropped and refilled).")
    if args.sqlite and args.reuse:
        parser.error("--reuse works with MariaDB only.")
    if args.floors and (args.sqlite or not args.in_process):
        parser.error("--floors needs --in-process and MariaDB (it reads the database server's CPU).")
    if args.users < args.friends + args.board_size + 10:
        parser.error("--users too small for --friends and --board-size.")
    if min(args.duration, args.rounds, args.connections, args.threads, args.workers) < 1:
        parser.error("--duration, --rounds, --connections, --threads and --workers must be at least 1.")
    return args


# Fill -------------------------------------------------------------------------------------------


def fill(args: argparse.Namespace, now: dt.datetime) -> None:
    from django.db import transaction

    from gamification.models import (
        ActivityEvent,
        Classroom,
        ClassroomMembership,
        FriendRequest,
        Friendship,
        User,
        UserBadge,
    )
    from gamification.services.rebuild import metrics_rebuild

    rng = random.Random(args.seed)
    created = now - dt.timedelta(weeks=12)
    names = http_load.usernames(args.users, rng)

    with transaction.atomic():
        insert_rows(User, http_load.user_rows(names, rng, created), adapt_datetimes=True)
    ids = list(User.objects.order_by("id").values_list("id", flat=True))
    probe, friends = ids[0], ids[1 : 1 + args.friends]
    classmates = ids[1 + args.friends : args.friends + args.board_size]
    teacher = ids[args.friends + args.board_size]
    members = [probe, *friends, *classmates]

    pairs = {(probe, friend) for friend in friends}
    others = ids[len(members) + 1 :]
    while len(pairs) < args.friends + 20000:
        a, b = rng.sample(others, 2)
        pairs.add((min(a, b), max(a, b)))
    for member in members[1:]:  # friends and classmates have a few friends of their own
        for other in rng.sample(others, 3):
            pairs.add((min(member, other), max(member, other)))
    with transaction.atomic():
        insert_rows(
            Friendship,
            (
                {
                    "user_low_id": low,
                    "user_high_id": high,
                    "created_at": created + dt.timedelta(seconds=rng.random() * 6 * 7 * 86400),
                    "ended_at": None,
                    "active": True,
                    "streak_length": 0,
                }
                for low, high in sorted(pairs)
            ),
            adapt_datetimes=True,
        )
    requests = {(sender, probe) for sender in rng.sample(others, 5)}
    while len(requests) < 1005:
        sender, receiver = rng.sample(others, 2)
        if (min(sender, receiver), max(sender, receiver)) not in pairs:
            requests.add((sender, receiver))
    with transaction.atomic():
        insert_rows(
            FriendRequest,
            (
                {
                    "sender_id": sender,
                    "receiver_id": receiver,
                    "user_low_id": min(sender, receiver),
                    "user_high_id": max(sender, receiver),
                    "created_at": now - dt.timedelta(seconds=rng.random() * 14 * 86400),
                }
                for sender, receiver in requests
            ),
            adapt_datetimes=True,
        )
    classroom = Classroom.objects.create(
        name="Bench class", invite_code="BENCHHTTP1", language_id="de", leaderboard_enabled=True
    )
    ClassroomMembership.objects.bulk_create(
        [ClassroomMembership(classroom=classroom, user_id=u, role="student") for u in [probe, *classmates]]
        + [ClassroomMembership(classroom=classroom, user_id=teacher, role="teacher")]
    )
    log(f"  {len(ids)} learners, {len(pairs)} friendships, {len(requests)} pending requests, a classroom")

    types = [name for name, _ in EVENT_MIX]
    weights = [share for _, share in EVENT_MIX]
    span = 4 * 7 * 86400
    start = now - dt.timedelta(seconds=span)
    owners = [m for m in members for _ in range(args.events_per_member)]
    owners += rng.choices(others, k=args.background_events)
    moments = sorted(rng.random() * (span - 60) for _ in owners)
    rng.shuffle(owners)

    def events() -> Iterable[dict]:
        for n, (user_id, moment) in enumerate(zip(owners, moments, strict=True)):
            event_type = rng.choices(types, weights=weights)[0]
            occurred = start + dt.timedelta(seconds=moment)
            key = f"fill-{n}"
            yield {
                "user_id": user_id,
                "type": event_type,
                "occurred_at": occurred,
                "received_at": occurred,
                "language_id": LANGUAGES[user_id % 2],
                "idempotency_key": key,
                "idempotency_hash": hashlib.sha256(key.encode()).hexdigest(),
                **random_event_details(rng, event_type),
            }

    with transaction.atomic():
        inserted = insert_rows(ActivityEvent, events(), adapt_datetimes=True)
    began = time.perf_counter()
    metrics_rebuild(user_ids=[*members, teacher])
    log(
        f"  {inserted} events; metrics_rebuild of {len(members) + 1} members in {time.perf_counter() - began:.0f} s,"
        f" {UserBadge.objects.filter(user_id=probe).count()} badges held by the probe"
    )


def issue_token() -> str:
    from django.conf import settings
    from django.utils import timezone
    from knox.crypto import create_token_string, hash_token

    from gamification.models import ClientToken, User

    probe = User.objects.order_by("id").first()
    key = create_token_string()
    ClientToken.objects.filter(client_name=BENCH_CLIENT_NAME).delete()
    ClientToken(
        digest=hash_token(key),
        token_key=key[:15],
        user=probe,
        expiry=timezone.now() + settings.TOKEN_TTL,
        client_name=BENCH_CLIENT_NAME,
    ).save()
    return key


@dataclass
class Endpoint:
    name: str
    path: str
    authenticated: bool = True
    bytes: int = 0
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_server: float = 0.0
    cpu_database: float = 0.0
    least_of: str | None = None  # served least work: the endpoint whose least work this is


def endpoints() -> list[Endpoint]:
    """The endpoints measured, with the probe's data (read from the database)."""
    from django.db.models import Count

    from gamification.models import ClassroomMembership, Friendship, User

    probe = User.objects.order_by("id").first()
    classroom_id = ClassroomMembership.objects.filter(user=probe).values_list("classroom_id", flat=True).first()
    friendship = Friendship.objects.filter(user_low=probe, active=True).order_by("id").first()
    friend = User.objects.get(pk=friendship.user_high_id)
    # A prefix that many usernames share: the search answers its maximum of 20.
    prefix = probe.username.split("_", 1)[0][:4]
    matches = User.objects.filter(username__startswith=prefix).aggregate(n=Count("id"))["n"]
    log(f"  probe {probe.username}; search term {prefix!r} matches {matches} usernames")
    return [
        Endpoint(ANON_BASELINE, "/bench/hello/", authenticated=False),
        Endpoint(AUTH_BASELINE, "/bench/hello-auth/"),
        Endpoint("me", "/api/me/"),
        Endpoint("streaks", "/api/streaks/"),
        Endpoint("friend-requests count", "/api/friend-requests/count/"),
        Endpoint("badges unseen-count", "/api/badges/unseen-count/"),
        Endpoint("badges (full catalogue)", "/api/badges/"),
        Endpoint("friends (100)", "/api/friends/"),
        Endpoint("users search", f"/api/users/?search={quote(prefix)}"),
        Endpoint("user profile", f"/api/users/{quote(friend.username)}/"),
        Endpoint("friend's badges", f"/api/users/{quote(friend.username)}/badges/"),
        Endpoint("friends board week (101)", "/api/leaderboards/friends/?metric=reading_time"),
        Endpoint("friends board all-time", "/api/leaderboards/friends/?metric=translated_words&period=all"),
        Endpoint("classroom board week (100)", f"/api/leaderboards/classrooms/{classroom_id}/?metric=translated_words"),
    ]


# The least work -----------------------------------------------------------------------------------
# For the endpoints that read a list of members, the cheapest statements any implementation that
# answers from the database on each request must run: the rows the answer shows, each read from
# the best index there is, without the rules that decide who may be seen (blocks, privacy), the
# ranking or the catalogue's names. What they cost MariaDB, plus the framework (the baseline's
# Python), fetching their rows and writing the answer's bytes, bounds the ratio from above.

_SUMMARY = "u.id, u.username, u.name, u.avatar_image, u.avatar_character_color, u.avatar_background_color"


def _friends_with_summaries(user_id: int, extra: str = "", join: str = "") -> str:
    """Both sides of a user's current friendships, each one index range joined to the friend's
    row (``u``) and whatever ``join`` adds, with the columns ``extra`` adds."""
    return " UNION ALL ".join(
        f"SELECT {_SUMMARY}{extra} FROM gamification_friendship f JOIN gamification_user u ON u.id = f.{other}_id"
        f"{join} WHERE f.{side}_id = {user_id} AND f.active = 1"
        for side, other in (("user_low", "user_high"), ("user_high", "user_low"))
    )


def _members_with_value(user_id: int, value: str) -> str:
    """A friends board's members (the user and their current friends), each with the scalar
    subquery ``value`` of the member ``u``: one statement (two, members then values grouped by
    member, cost MariaDB and the client more)."""
    return (
        f"{_friends_with_summaries(user_id, f', ({value})')}"
        f" UNION ALL SELECT {_SUMMARY}, ({value}) FROM gamification_user u WHERE u.id = {user_id}"
    )


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(value) for value in sorted(values))


# The endpoints ``least_work()`` knows.
LEAST_WORK_ENDPOINTS = (
    "friends (100)",
    "users search",
    "friends board week (101)",
    "friends board all-time",
    "classroom board week (100)",
)


def least_work_endpoints(targets: list[Endpoint]) -> list[Endpoint]:
    """The served least work (``/bench/least/<n>/``, n: the place in ``LEAST_WORK_ENDPOINTS``)
    of each member-list endpoint among ``targets``."""
    names = {endpoint.name for endpoint in targets}
    return [
        Endpoint(f"least: {name}", f"/bench/least/{number}/", least_of=name)
        for number, name in enumerate(LEAST_WORK_ENDPOINTS)
        if name in names
    ]


def least_work_file(path: Path) -> Path:
    """``least_work()`` written to ``path`` as the served least work reads it (a list in the
    order of ``LEAST_WORK_ENDPOINTS``)."""
    statements = least_work()
    path.write_text(json.dumps([statements[name] for name in LEAST_WORK_ENDPOINTS]))
    return path


def least_work() -> dict[str, list[str]]:
    """Per endpoint name, its least statements (MariaDB SQL) on the probe's data."""
    from django.utils import timezone

    from gamification.constants import USERNAME_MAX_LENGTH
    from gamification.models import ClassroomMembership, User
    from gamification.timeutils import period_bounds

    probe = User.objects.order_by("id").first()
    classroom_id = ClassroomMembership.objects.filter(user=probe).values_list("classroom_id", flat=True).first()
    students = ClassroomMembership.objects.filter(classroom_id=classroom_id, role="student").values_list(
        "user_id", flat=True
    )
    start, end = (moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") for moment in period_bounds(
        "week", 0, probe.timezone, timezone.now()
    ))  # fmt: skip
    week = f"occurred_at >= '{start}' AND occurred_at < '{end}'"
    reading = (  # of the member u
        "SELECT SUM(duration_seconds) FROM gamification_activityevent FORCE INDEX (activityevent_board_cover)"
        f" WHERE type = 'practice' AND kind = 'reading' AND user_id = u.id AND {week}"
    )
    translated = (  # of the member u, all time
        "SELECT COUNT(*) FROM gamification_firstoccurrence FORCE INDEX (firstocc_user_kind_at)"
        " WHERE kind = 'translated_word' AND user_id = u.id"
    )

    def first_words(ids: Iterable[int], span: str) -> str:
        return (
            "SELECT user_id, COUNT(*) FROM gamification_firstoccurrence FORCE INDEX (firstocc_user_kind_at)"
            f" WHERE kind = 'translated_word' AND user_id IN ({_ids(ids)}){span} GROUP BY user_id"
        )

    prefix = probe.username.split("_", 1)[0][:4]
    pair = f"LEAST({probe.pk}, u.id) AND {{0}}.user_high_id = GREATEST({probe.pk}, u.id)"
    found = (  # the first 20 prefix matches in the search's order, each with its friendship and request
        f"SELECT {_SUMMARY}, f.created_at, f.streak_length, r.id, r.sender_id, r.created_at"
        " FROM gamification_user u FORCE INDEX (user_search_order)"
        f" LEFT JOIN gamification_friendship f ON f.user_low_id = {pair.format('f')} AND f.active = 1"
        f" LEFT JOIN gamification_friendrequest r ON r.user_low_id = {pair.format('r')}"
        f" WHERE u.username_length IN ({_ids(range(len(prefix), USERNAME_MAX_LENGTH + 1))})"
        f" AND u.username_order >= '{prefix}' AND u.username_order < '{prefix[:-1]}{chr(ord(prefix[-1]) + 1)}'"
        " ORDER BY u.username_length, u.username_order LIMIT 20"
    )
    return {
        "friends (100)": [  # with each friend's language streaks (a second statement cost more)
            _friends_with_summaries(
                probe.pk,
                ", f.created_at, f.streak_length, ls.language_id, ls.length, ls.max_length, ls.last_date",
                " LEFT JOIN gamification_languagestreak ls ON ls.user_id = u.id",
            )
        ],
        "users search": [found],
        "friends board week (101)": [_members_with_value(probe.pk, reading)],
        "friends board all-time": [_members_with_value(probe.pk, translated)],
        "classroom board week (100)": [  # members then values: cheaper here than one statement
            f"SELECT {_SUMMARY} FROM gamification_classroommembership m JOIN gamification_user u ON u.id = m.user_id"
            f" WHERE m.classroom_id = {classroom_id}",
            first_words(students, f" AND {week}"),
        ],
    }


# Profile ----------------------------------------------------------------------------------------


def in_process(targets: list[Endpoint], token: str, requests: int, database_pid: int | None = None) -> None:
    """Each endpoint through Django's test client (middleware, DRF, the database; no WSGI
    server): this process's CPU per request (the database's own CPU is not in it), best of
    three runs of ``requests``, printed against the authenticated baseline's. With
    ``database_pid`` (``--floors``), also the database server's CPU for the endpoint's queries,
    each run alone ``requests`` times, and the best ratio that Python and database work allow."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client()
    figures: dict[str, float] = {}
    database: dict[str, tuple[int, float]] = {}
    bodies: dict[str, bytes] = {}
    with override_settings(ROOT_URLCONF="bench.urls_overhead", ALLOWED_HOSTS=["testserver"]):
        for endpoint in targets:
            headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if endpoint.authenticated else {}
            for _ in range(20):
                response = client.get(endpoint.path, **headers)
            if response.status_code != 200:
                raise RuntimeError(f"in-process: GET {endpoint.path} answered {response.status_code}")
            bodies[endpoint.name] = response.content
            best = None
            for _ in range(3):
                began = time.process_time()
                for _ in range(requests):
                    client.get(endpoint.path, **headers)
                spent = (time.process_time() - began) / requests * 1000
                best = spent if best is None else min(best, spent)
            figures[endpoint.name] = best
            if database_pid is not None:
                with CaptureQueriesContext(connection) as captured:
                    client.get(endpoint.path, **headers)
                statements = [query["sql"] for query in captured.captured_queries]
                database[endpoint.name] = (len(statements), _database_cpu(statements, database_pid, requests)[0])
    baseline = figures.get(AUTH_BASELINE)
    if database_pid is None:
        print(f"\n{'endpoint':<32} {'CPU ms/req':>10} {'vs auth baseline':>17}")
        for name, spent in figures.items():
            ratio = f"{spent / baseline:.2f}x" if baseline else "-"
            print(f"{name:<32} {spent:>10.2f} {ratio:>17}")
        return
    base_total = baseline + database[AUTH_BASELINE][1] if baseline else None
    print(
        f"\n{'endpoint':<32} {'queries':>7} {'python ms':>9} {'db ms':>7} {'total ms':>8} {'best ratio':>10}"
        "\n(python: this process per request, in-process; db: MariaDB's CPU for the endpoint's queries,"
        "\n each run alone; best ratio: the authenticated baseline's total over the endpoint's)"
    )
    for name, spent in figures.items():
        count, db_ms = database[name]
        total = spent + db_ms
        ratio = f"{base_total / total:.0%}" if base_total else "-"
        print(f"{name:<32} {count:>7} {spent:>9.2f} {db_ms:>7.2f} {total:>8.2f} {ratio:>10}")
    if base_total:
        least_work_report(bodies, baseline, base_total, database[AUTH_BASELINE][1], database_pid, requests)


def least_work_extra(bodies: dict[str, bytes], database_pid: int, requests: int) -> dict[str, tuple[float, ...]]:
    """Per endpoint of ``least_work()`` (and in ``bodies``): the MariaDB CPU of its least
    statements, this process's CPU to send them and fetch their rows, and orjson's to write its
    answer (``bodies``: the endpoint's real answer), in milliseconds per request."""
    extra = {}
    for name, statements in least_work().items():
        if name in bodies:
            db_ms, fetch_ms = _database_cpu(statements, database_pid, requests)
            extra[name] = (db_ms, fetch_ms, _render_cpu(bodies[name], requests))
    return extra


def least_work_report(
    bodies: dict[str, bytes],
    base_python: float,
    base_total: float,
    base_db: float,
    database_pid: int,
    requests: int,
) -> None:
    """The ratio each member-list endpoint could reach at best in-process, doing only
    ``least_work()``."""
    print(
        f"\n{'least work':<32} {'db ms':>7} {'fetch ms':>8} {'write ms':>8} {'total ms':>8} {'at best':>8}"
        "\n(db: MariaDB's CPU for the least statements; fetch: this process's CPU to send them and read"
        "\n their rows; write: orjson writing the answer's bytes; total: those plus the baseline's own"
        "\n Python and token query; at best: the baseline's total over that)"
    )
    for name, (db_ms, fetch_ms, write_ms) in least_work_extra(bodies, database_pid, requests).items():
        total = base_python + base_db + db_ms + fetch_ms + write_ms
        print(f"{name:<32} {db_ms:>7.2f} {fetch_ms:>8.2f} {write_ms:>8.2f} {total:>8.2f} {base_total / total:>8.0%}")


def ceilings(targets: list[Endpoint], summary: dict, token: str, database_pid: int, requests: int) -> None:
    """After a load run: each member-list endpoint's ceiling, the ratio it would reach if it did
    only ``least_work()`` on top of the authenticated baseline's measured CPU per request
    (gunicorn's workers and MariaDB, from the same run), beside the ratio it reached."""
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    bodies = {}
    with override_settings(ROOT_URLCONF="bench.urls_overhead", ALLOWED_HOSTS=["testserver"]):
        for endpoint in targets:
            if endpoint.name in LEAST_WORK_ENDPOINTS:
                bodies[endpoint.name] = client.get(endpoint.path, HTTP_AUTHORIZATION=f"Token {token}").content
    rows = {row["endpoint"]: row for row in summary["rows"]}
    base = rows[AUTH_BASELINE]["cpu_ms_per_request"] + rows[AUTH_BASELINE]["db_cpu_ms_per_request"]
    print(
        f"\n{'ceiling (least work)':<30} {'extra ms':>8} {'ceiling':>7} {'served':>7} {'reached':>7}"
        f"\n(extra: MariaDB, fetch and write CPU of the least statements; ceiling: the baseline's"
        f"\n {base:.2f} ms of gunicorn and MariaDB CPU per request over itself plus the extra;"
        f"\n served: the ratio the least work reached when served alone in the same run)"
    )
    for name, parts in least_work_extra(bodies, database_pid, requests).items():
        extra = sum(parts)
        ceiling = base / (base + extra)
        served = rows.get(f"least: {name}", {}).get("ratio")
        rows[name]["least_work_extra_ms"] = extra
        rows[name]["ceiling"] = ceiling
        rows[name]["least_work_served_ratio"] = served
        served_text = f"{served:>6.0%}" if served is not None else f"{'-':>6}"
        print(f"{name:<30} {extra:>8.2f} {ceiling:>6.0%} {served_text:>7} {rows[name]['ratio']:>7.0%}")


def _database_cpu(statements: list[str], pid: int, runs: int) -> tuple[float, float]:
    """The database server's CPU milliseconds for one run of ``statements`` (as captured: their
    parameters written in), each run ``runs`` times on this process's connection, the best of
    three; and this process's CPU milliseconds for sending them and fetching their rows in that
    best run. Another client's work on the same server counts too: run it on a quiet machine."""
    import psutil
    from django.db import connection

    if not statements:
        return 0.0, 0.0
    server = psutil.Process(pid)
    best = None
    with connection.cursor() as cursor:
        for _ in range(3):
            times = server.cpu_times()
            before, began = times.user + times.system, time.process_time()
            for _ in range(runs):
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()
            client = (time.process_time() - began) / runs * 1000
            times = server.cpu_times()
            spent = (times.user + times.system - before) / runs * 1000
            if best is None or spent < best[0]:
                best = (spent, client)
    return best


def _render_cpu(body: bytes, runs: int) -> float:
    """This process's CPU milliseconds for writing ``body`` (a JSON answer) from its parsed form
    with orjson: the least any implementation spends on the answer's bytes."""
    import orjson

    data = orjson.loads(body)
    best = None
    for _ in range(3):
        began = time.process_time()
        for _ in range(runs):
            orjson.dumps(data)
        spent = (time.process_time() - began) / runs * 1000
        best = spent if best is None else min(best, spent)
    return best


def profile(targets: list[Endpoint], token: str, requests: int, run_dir: Path) -> None:
    """Each endpoint through Django's test client (middleware, DRF, the database; no WSGI
    server) under pyinstrument; the text reports go to ``run_dir/profile-*.txt``."""
    from django.test import Client
    from django.test.utils import override_settings
    from pyinstrument import Profiler

    client = Client()
    with override_settings(ROOT_URLCONF="bench.urls_overhead", ALLOWED_HOSTS=["testserver"]):
        for endpoint in targets:
            headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if endpoint.authenticated else {}
            for _ in range(20):
                client.get(endpoint.path, **headers)
            profiler = Profiler(interval=0.0002)
            began = time.perf_counter()
            profiler.start()
            for _ in range(requests):
                response = client.get(endpoint.path, **headers)
            profiler.stop()
            per_request = (time.perf_counter() - began) / requests * 1000
            if response.status_code != 200:
                raise RuntimeError(f"profile: GET {endpoint.path} answered {response.status_code}")
            slug = re.sub(r"[^a-z0-9]+", "-", endpoint.name.lower()).strip("-")
            text = profiler.output_text(unicode=False, color=False, show_all=False)
            (run_dir / f"profile-{slug}.txt").write_text(f"{endpoint.path}: {per_request:.2f} ms/request\n{text}")
            log(f"  profile {endpoint.name}: {per_request:.2f} ms/request in-process (profiler on)")


# Load -------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk missing: installing the Debian package wrk")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)  # noqa: S603
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed")
    return found


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text: str) -> dict:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")

    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * UNITS[total.group(3)] / 1000,
        "errors": errors,
        "p50": latency("50"),
        "p99": latency("99"),
    }


def server_start(
    db, args: argparse.Namespace, port: int, log_path: Path, least_work_path: Path | None = None
) -> subprocess.Popen:
    env = http_load.server_environment(db)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    if least_work_path is not None:
        env["BENCH_LEAST_WORK"] = str(least_work_path)
    if args.redis:
        env["REDIS_URL"] = args.redis
        env["CACHE_KEY_PREFIX"] = f"bench_http_{secrets.token_hex(4)}"
    command = [
        str(VENV_BIN / "gunicorn"),
        "zeeguu_site.wsgi",
        "-w",
        str(args.workers),
        "-b",
        f"{HOST}:{port}",
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]
    with log_path.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 (fixed command, our own venv)
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=http_load.die_with_parent,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            if http_load.http_get(f"http://{HOST}:{port}/bench/hello/", timeout=2) == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    http_load.server_stop(server)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")


def response_size(url: str, token: str | None) -> int:
    import urllib.request

    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback only)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}")
        return len(response.read())


def load(args: argparse.Namespace, wrk: str, base: str, token: str, targets: list[Endpoint], pids: dict) -> None:
    for endpoint in targets:
        endpoint.bytes = response_size(base + endpoint.path, token if endpoint.authenticated else None)
        for _ in range(30):  # warm every worker
            http_load.http_get(base + endpoint.path, token if endpoint.authenticated else None)
    for round_number in range(args.rounds):
        shift = round_number * 5 % len(targets)
        order = targets[shift:] + targets[:shift]
        log(f"round {round_number + 1}/{args.rounds}")
        for endpoint in order:
            command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
            if endpoint.authenticated:
                command += ["-H", f"Authorization: Token {token}"]
            before = http_load.process_tree_cpu(pids)
            output = subprocess.run(  # noqa: S603
                [*command, base + endpoint.path], capture_output=True, text=True, timeout=args.duration + 60, check=True
            ).stdout
            after = http_load.process_tree_cpu(pids)
            result = parse_wrk(output)
            endpoint.requests += result["requests"]
            endpoint.seconds += result["seconds"]
            endpoint.errors += result["errors"]
            endpoint.p50.append(result["p50"])
            endpoint.p99.append(result["p99"])
            endpoint.cpu_server += after["gunicorn"] - before["gunicorn"]
            if "database" in pids:
                endpoint.cpu_database += after["database"] - before["database"]
            time.sleep(0.5)


def report(targets: list[Endpoint], args: argparse.Namespace, description: str) -> dict:
    by_name = {endpoint.name: endpoint for endpoint in targets}
    auth = by_name[AUTH_BASELINE]
    auth_rps = auth.requests / auth.seconds
    header = (
        f"{'endpoint':<34} {'bytes':>6} {'req/s':>7} {'p50':>6} {'p99':>6} {'ratio':>6}"
        f" {'cpu ms/req':>10} {'db ms/req':>9} {'errors':>6}  verdict"
    )
    print()
    print(f"{description}; wrk -t{args.threads} -c{args.connections}, {args.rounds} x {args.duration} s each, "
          f"{args.workers} gunicorn workers; latencies in ms (median of the rounds)")  # fmt: skip
    print(header)
    print("-" * len(header))
    rows = []
    met = True
    for endpoint in targets:
        rps = endpoint.requests / endpoint.seconds if endpoint.seconds else float("nan")
        ratio = rps / auth_rps
        cpu = endpoint.cpu_server / endpoint.requests * 1000 if endpoint.requests else float("nan")
        db_cpu = endpoint.cpu_database / endpoint.requests * 1000 if endpoint.requests else float("nan")
        baseline = endpoint.name in (AUTH_BASELINE, ANON_BASELINE) or endpoint.least_of is not None
        ok = endpoint.errors == 0 and (baseline or ratio >= TARGET_RATIO)
        met &= ok
        if endpoint.errors:
            verdict = "ERRORS"
        elif baseline:
            verdict = "baseline" if endpoint.least_of is None else "least work"
        else:
            verdict = "ok" if ok else "MISSED"
        p50, p99 = statistics.median(endpoint.p50), statistics.median(endpoint.p99)
        print(
            f"{endpoint.name:<34} {endpoint.bytes:>6} {rps:>7.0f} {p50:>6.1f} {p99:>6.1f} {ratio:>5.0%}"
            f" {cpu:>10.2f} {db_cpu:>9.2f} {endpoint.errors:>6}  {verdict}"
        )
        rows.append(
            {
                "endpoint": endpoint.name,
                "path": endpoint.path.split("?")[0],
                "bytes": endpoint.bytes,
                "requests_per_second": rps,
                "p50_ms": p50,
                "p99_ms": p99,
                "ratio": ratio,
                "cpu_ms_per_request": cpu,
                "db_cpu_ms_per_request": db_cpu,
                "errors": endpoint.errors,
                "ok": ok,
            }
        )
    print("-" * len(header))
    print(
        "ratio: requests/s against the authenticated hello-world of the same run; cpu: gunicorn's"
        " workers, db: the database server (MariaDB only), per request; least: an endpoint's least"
        " work served alone (its statements, their rows as JSON)"
    )
    print(f"\nVerdict: {'target MET' if met else 'target MISSED'} (every read endpoint >= {TARGET_RATIO:.0%})")
    return {"rows": rows, "met": met}


# Main -------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    wrk = ensure_wrk()
    db = http_load.configure(args)
    os.environ["LOG_LEVEL"] = "WARNING"  # as the server logs: no line per request
    run_dir = (args.results or RESULTS) / f"http_overhead-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        reuse = False
        if args.reuse:
            exists = mariadb_execute(
                db.mariadb, f"SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{db.name}'"
            )
            reuse = exists[0][0] > 0
        http_load.database_create(db, drop=not reuse)

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections
        from django.utils import timezone

        log(f"database: {db.description}")
        call_command("migrate", verbosity=0)
        if not reuse:
            call_command("loaddata", "default_badges", verbosity=0)
            began = time.perf_counter()
            log("filling")
            fill(args, timezone.now())
            log(f"filled in {time.perf_counter() - began:.0f} s")
        http_load.analyze()
        token = issue_token()
        targets = endpoints()
        if args.only:
            targets = [
                e for e in targets if e.name in (AUTH_BASELINE, ANON_BASELINE) or any(o in e.name for o in args.only)
            ]
        description = (
            f"{db.description} ({connection.vendor})" if db.mariadb is None else
            f"MariaDB {connection.mysql_server_data['version']}"
        )  # fmt: skip
        if args.profile:
            profile(targets, token, args.profile_requests, run_dir)
        if args.in_process:
            in_process(
                targets, token, args.profile_requests, http_load.database_server_pid(db) if args.floors else None
            )
            return 0
        connections.close_all()

        port = http_load.free_port()
        base = f"http://{HOST}:{port}"
        log(f"gunicorn: {args.workers} workers on {base}; load average {os.getloadavg()[0]:.2f}")
        least_work_path = None
        if db.mariadb is not None:  # least_work() is MariaDB's SQL
            targets += least_work_endpoints(targets)
            least_work_path = least_work_file(run_dir / "least_work.json")
        server = server_start(db, args, port, run_dir / "gunicorn.log", least_work_path)
        pids = {"gunicorn": server.pid}
        database_pid = http_load.database_server_pid(db)
        if database_pid is not None:
            pids["database"] = database_pid
        load(args, wrk, base, token, targets, pids)
        http_load.server_stop(server)
        server = None
        summary = report(targets, args, description)
        if database_pid is not None:
            ceilings(targets, summary, token, database_pid, args.profile_requests)
        errors = http_load.server_error_lines(run_dir / "gunicorn.log")
        if errors:
            print(f"\nServer log: {len(errors)} error line(s), first ones:")
            for line in errors[:10]:
                print(f"  {line[:200]}")
        summary.update(database=description, load_average=os.getloadavg()[0], args=vars(args) | {"results": None})
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        print(f"Files: {run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir}")
        return 0 if summary["met"] and not errors else 1
    finally:
        http_load.server_stop(server)
        if args.keep:
            log(f"kept {'database ' + db.name if db.mariadb else 'directory ' + str(db.tmpdir)}")
        else:
            http_load.database_drop(db)
            log("database dropped")


if __name__ == "__main__":
    sys.exit(main())
