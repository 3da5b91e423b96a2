"""Leaderboard benchmark: selector latency against naive Python boards, on MariaDB.

Target: with 20,000 users and 1,000,000 events, the week boards answer
with p95 <= 50 ms on MariaDB and at least 20 times faster than a naive Python board.

Run from the project root (takes a few minutes at full size; most of it is the fill):

    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/leaderboard.py
    # a quick run:
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/leaderboard.py --users 2000 --events 100000
    # measure again on the data of the previous run (no refill):
    ... bench/leaderboard.py --reuse

The script takes the server and credentials from ``DATABASE_URL`` (default
``mysql://root@127.0.0.1:3306/zeeguu``) but always works in its own database,
``bench_zeeguu_boards`` (``--database``), which it drops, creates and migrates: never the
development or the test databases.

The fill: users in several timezones; events spread over the last ``--weeks`` weeks (practice of
every kind, exercise answers, translated and learned words, articles, audio lessons) with the
``FirstOccurrence`` rows ingestion would have written; background friendships (``--background-
friends`` each, some of them ended) and ``--subjects`` users with ``--friends`` friends each;
classrooms of ``--classroom-size`` students with a teacher. Then ``ANALYZE TABLE``.

What is timed, per metric: the selector call (``friends_leaderboard``/``classroom_leaderboard``,
queries and ranking, without HTTP) for the friends week board, the classroom week board and the
all-time friends board, over the subjects in turn; beside it, the same boards computed naively in
Python from the raw events (each member's events fetched and summed or de-duplicated in Python,
one query per member). Each naive board is checked to equal the selector's.
"""

import argparse
import datetime as dt
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from common import (
    EVENT_MIX,
    LANGUAGES,
    TIMEZONES,
    insert_rows,
    log,
    mariadb_server,
    percentile,
    random_event_details,
    recreate_database,
    with_database,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "bench_zeeguu_boards"
COVER_INDEX = "activityevent_board_cover"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=8, help="events spread over the last N weeks")
    parser.add_argument("--friends", type=int, default=200, help="friends of each benchmarked user")
    parser.add_argument("--subjects", type=int, default=50, help="users with --friends friends, timed in turn")
    parser.add_argument("--background-friends", type=int, default=10, help="friends of every other user")
    parser.add_argument("--classroom-size", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=200, help="timed selector calls per board")
    parser.add_argument("--naive-repeat", type=int, default=5, help="timed naive calls per board")
    parser.add_argument(
        "--metric",
        action="append",
        help="metric to time (repeatable; default: reading_time, correct_exercises, translated_words)",
    )
    parser.add_argument("--database", default=BENCH_DATABASE, help="the bench's own database (dropped and refilled)")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run if it has this size")
    parser.add_argument(
        "--scales",
        help="USERS:EVENTS,USERS:EVENTS,...: run each size in a database of its own (--database_USERS_EVENTS,"
        " kept for --reuse) and compare the week boards' p95 of each with the first's (target <= 1.5x);"
        " the naive boards are timed at the first size only",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--without-cover-index",
        action="store_true",
        help=f"drop the leaderboards' covering index ({COVER_INDEX}) to measure without it",
    )
    args = parser.parse_args()
    args.sizes = []
    if args.scales:
        try:
            args.sizes = [tuple(int(n) for n in part.split(":")) for part in args.scales.split(",")]
        except ValueError:
            parser.error("--scales takes USERS:EVENTS pairs, e.g. 20000:1000000,200000:10000000")
        if any(len(size) != 2 or min(size) < 1 for size in args.sizes):
            parser.error("--scales takes USERS:EVENTS pairs, e.g. 20000:1000000,200000:10000000")
    if args.database.startswith("test_") or args.database in {"zeeguu", "mysql", "information_schema"}:
        parser.error("--database must be a database of its own (it is dropped).")
    if args.friends + args.friends // 10 > args.users - args.subjects:
        parser.error("--friends/--subjects too large for --users.")
    return args


def configure_django(database: str) -> dict:
    """Point Django at the bench database (created if absent) and return the server settings."""
    url = os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/zeeguu")
    parts = urlsplit(url)
    if parts.scheme not in {"mysql", "mariadb"}:
        sys.exit("bench/leaderboard.py runs on MariaDB/MySQL: set DATABASE_URL=mysql://USER[:PASSWORD]@HOST:PORT/any")
    os.environ["DATABASE_URL"] = with_database(parts, database)
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zeeguu_site.settings")
    os.environ.setdefault("THROTTLING", "off")
    os.environ.pop("DEBUG", None)  # no query log: it would slow down and grow the process
    sys.path.insert(0, str(ROOT))
    return mariadb_server(parts)


def naive_utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC).replace(tzinfo=None)


@contextmanager
def without_indexes(*models) -> Iterator[None]:
    """Drop the models' plain indexes (``Meta.indexes``) for a bulk load and build them after it."""
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in models:
            for index in model._meta.indexes:
                editor.remove_index(model, index)
    yield
    log("  building indexes")
    with connection.schema_editor() as editor:
        for model in models:
            for index in model._meta.indexes:
                editor.add_index(model, index)


def fill(args: argparse.Namespace, now: dt.datetime) -> None:
    from django.db import connection

    from gamification.constants import AVATAR_IMAGES, MATCHING_COLOR_PAIRS
    from gamification.models import (
        ActivityEvent,
        Classroom,
        ClassroomMembership,
        FirstOccurrence,
        Friendship,
        User,
    )
    from gamification.services.events import first_occurrence_key

    rng = random.Random(args.seed)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")

    log(f"users: {args.users}")
    created = naive_utc(now - dt.timedelta(weeks=args.weeks + 4))

    def users() -> Iterable[dict]:
        for n in range(args.users):
            character, background = MATCHING_COLOR_PAIRS[n % len(MATCHING_COLOR_PAIRS)]
            yield {
                "password": "!",
                "email": f"bench{n}@example.com",
                "username": f"bench_{n:06d}",
                "name": f"Learner {n}",
                "timezone": TIMEZONES[n % len(TIMEZONES)],
                "avatar_image": AVATAR_IMAGES[n % len(AVATAR_IMAGES)],
                "avatar_character_color": character,
                "avatar_background_color": background,
                "is_superuser": False,
                "is_staff": False,
                "is_active": True,
                "created_at": created,
                "updated_at": created,
            }

    insert_rows(User, users())
    user_ids = list(User.objects.order_by("id").values_list("id", flat=True))
    languages = {user_id: LANGUAGES[i % len(LANGUAGES)] for i, user_id in enumerate(user_ids)}

    log(f"events: {args.events} over {args.weeks} weeks, with their first occurrences")
    span = args.weeks * 7 * 86400
    start = now - dt.timedelta(seconds=span)
    # Some learners are much busier than others.
    activity = [rng.paretovariate(1.5) for _ in user_ids]
    types = [name for name, _ in EVENT_MIX]
    type_weights = [share for _, share in EVENT_MIX]
    firsts: dict[tuple[int, str, str], tuple[dt.datetime, str]] = {}
    kind_of = {
        "word_translated": "translated_word",
        "word_learned": "learned_word",
        "article_read": "article",
        "audio_lesson_completed": "audio_lesson",
    }

    # As in production, events arrive in time order: the log's primary key follows time.
    moments = sorted(rng.random() * span for _ in range(args.events))

    def events() -> Iterable[dict]:
        done = 0
        while done < args.events:
            batch = min(50_000, args.events - done)
            owners = rng.choices(user_ids, weights=activity, k=batch)
            kinds = rng.choices(types, weights=type_weights, k=batch)
            for user_id, event_type, moment in zip(owners, kinds, moments[done : done + batch], strict=True):
                occurred = start + dt.timedelta(seconds=moment)
                row = {
                    "user_id": user_id,
                    "type": event_type,
                    "occurred_at": naive_utc(occurred),
                    "received_at": naive_utc(occurred),
                    "language_id": languages[user_id],
                    **random_event_details(rng, event_type),
                }
                if event_type in kind_of:
                    key = first_occurrence_key(
                        event_type=event_type, language_id=row["language_id"], word=row["word"], item_id=row["item_id"]
                    )
                    claim = (user_id, kind_of[event_type], key)
                    known = firsts.get(claim)
                    if known is None or occurred < known[0]:
                        firsts[claim] = (occurred, row["language_id"])
                yield row
            done += batch
            if done % 200_000 == 0 or done == args.events:
                log(f"  {done} events")

    # Secondary indexes are built once after the load (sorted), not row by row during it.
    with without_indexes(ActivityEvent, FirstOccurrence):
        insert_rows(ActivityEvent, events())

        log(f"first occurrences: {len(firsts)}")
        insert_rows(
            FirstOccurrence,
            (
                {
                    "user_id": user_id,
                    "kind": kind,
                    "key": key,
                    "key_hash": hashlib.sha256(key.encode()).hexdigest(),
                    "language_id": language,
                    "occurred_at": naive_utc(occurred),
                }
                for (user_id, kind, key), (occurred, language) in firsts.items()
            ),
        )
        firsts.clear()

    log("friendships")
    subjects = user_ids[: args.subjects]
    pairs: dict[tuple[int, int], bool] = {}  # pair → active

    def befriend(a: int, b: int, active: bool) -> None:
        if a != b:
            pairs.setdefault((min(a, b), max(a, b)), active)

    for subject in subjects:
        for other in rng.sample(user_ids[args.subjects :], args.friends):
            befriend(subject, other, True)
        # History: friendships that ended during the period.
        for other in rng.sample(user_ids[args.subjects :], max(1, args.friends // 10)):
            befriend(subject, other, False)
    for user_id in user_ids[args.subjects :]:
        for other in rng.sample(user_ids, args.background_friends // 2):
            befriend(user_id, other, rng.random() < 0.9)

    def friendships() -> Iterable[dict]:
        for (low, high), active in pairs.items():
            began = start + dt.timedelta(seconds=rng.random() * span * 0.3)
            ended = None if active else began + dt.timedelta(seconds=rng.random() * span * 0.6)
            yield {
                "user_low_id": low,
                "user_high_id": high,
                "created_at": naive_utc(began),
                "ended_at": naive_utc(ended) if ended else None,
                "active": True if active else None,
                "streak_length": 0,
            }

    log(f"  {insert_rows(Friendship, friendships())} friendships")

    log("classrooms")
    shuffled = user_ids[:]
    rng.shuffle(shuffled)
    groups = [shuffled[i : i + args.classroom_size] for i in range(0, len(shuffled), args.classroom_size)]
    insert_rows(
        Classroom,
        (
            {
                "name": f"Class {n}",
                "invite_code": f"B{n:07d}",
                "language_id": LANGUAGES[n % len(LANGUAGES)],
                "leaderboard_enabled": True,
                "created_at": created,
            }
            for n in range(len(groups))
        ),
    )
    classroom_ids = list(Classroom.objects.order_by("id").values_list("id", flat=True))

    def memberships() -> Iterable[dict]:
        for n, (classroom_id, students) in enumerate(zip(classroom_ids, groups, strict=True)):
            for student in students:
                yield {"classroom_id": classroom_id, "user_id": student, "role": "student", "joined_at": created}
            teacher = groups[(n + 1) % len(groups)][0]
            if teacher not in students:
                yield {"classroom_id": classroom_id, "user_id": teacher, "role": "teacher", "joined_at": created}

    insert_rows(ClassroomMembership, memberships())
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")


def set_cover_index(*, present: bool) -> None:
    """Add or drop the leaderboards' covering index on the activity log (before/after runs)."""
    from django.db import connection

    from gamification.models import ActivityEvent

    index = next(index for index in ActivityEvent._meta.indexes if index.name == COVER_INDEX)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.statistics"
            " WHERE table_schema = DATABASE() AND table_name = %s AND index_name = %s",
            [ActivityEvent._meta.db_table, COVER_INDEX],
        )
        exists = cursor.fetchone()[0] > 0
    if exists == present:
        return
    log(f"{'adding' if present else 'dropping'} index {COVER_INDEX}")
    with connection.schema_editor() as editor:
        if present:
            editor.add_index(ActivityEvent, index)
        else:
            editor.remove_index(ActivityEvent, index)


def analyze() -> None:
    from django.db import connection

    from gamification.models import (
        ActivityEvent,
        Classroom,
        ClassroomMembership,
        FirstOccurrence,
        Friendship,
        User,
    )

    tables = [
        m._meta.db_table for m in (User, ActivityEvent, FirstOccurrence, Friendship, Classroom, ClassroomMembership)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {', '.join(tables)}")
        cursor.fetchall()


# Naive boards: what a first version would do, from the raw log, in Python -----------------------
# Two ways: one query per member ("per member"), or one pass over every user's events of the
# period ("scan"). Both aggregate model instances in Python; neither uses FirstOccurrence.

METRIC_EVENTS = {
    "reading_time": ("practice", "reading"),
    "listening_time": ("practice", "listening"),
    "exercise_time": ("practice", "exercises"),
    "correct_exercises": ("exercise_answered", None),
    "translated_words": ("word_translated", None),
    "learned_words": ("word_learned", None),
    "read_articles": ("article_read", None),
    "audio_lessons": ("audio_lesson_completed", None),
}
COUNTED_ONCE = {"translated_words", "learned_words", "read_articles", "audio_lessons"}


def naive_values(events: Iterable, *, metric: str, member_ids: set[int], start, end) -> dict[int, int]:
    from gamification.services.events import first_occurrence_key

    def in_period(instant: dt.datetime) -> bool:
        return (start is None or instant >= start) and (end is None or instant < end)

    _, kind = METRIC_EVENTS[metric]
    values = dict.fromkeys(member_ids, 0)
    first_seen: dict[tuple[int, str], dt.datetime] = {}
    for e in events:
        if e.user_id not in member_ids:
            continue
        if metric in COUNTED_ONCE:
            key = (
                e.user_id,
                first_occurrence_key(event_type=e.type, language_id=e.language_id, word=e.word, item_id=e.item_id),
            )
            if key not in first_seen or e.occurred_at < first_seen[key]:
                first_seen[key] = e.occurred_at
        elif in_period(e.occurred_at):
            if kind is not None and e.kind == kind:
                values[e.user_id] += e.duration_seconds
            elif kind is None and e.correct:
                values[e.user_id] += 1
    for (user_id, _), first in first_seen.items():
        if in_period(first):
            values[user_id] += 1
    return values


def naive_board(*, members: list, metric: str, start, end, scan: bool) -> list[tuple[str, int]]:
    from gamification.models import ActivityEvent

    event_type, _ = METRIC_EVENTS[metric]
    member_ids = {m.pk for m in members}
    if scan:
        events = ActivityEvent.objects.filter(type=event_type)
        if end is not None:
            events = events.filter(occurred_at__lt=end)
        if start is not None and metric not in COUNTED_ONCE:  # a first occurrence may be older
            events = events.filter(occurred_at__gte=start)
        values = naive_values(
            events.iterator(chunk_size=5000), metric=metric, member_ids=member_ids, start=start, end=end
        )
    else:
        values = {}
        for member in members:
            events = ActivityEvent.objects.filter(user_id=member.pk, type=event_type)
            values.update(naive_values(events, metric=metric, member_ids={member.pk}, start=start, end=end))
    return sorted(((m.username, values[m.pk]) for m in members), key=lambda item: (-item[1], item[0].lower()))


def naive_friends_board(*, user, metric: str, period: str, now: dt.datetime, scan: bool) -> list[tuple[str, int]]:
    from django.db.models import Q

    from gamification.models import Friendship, User
    from gamification.timeutils import period_bounds

    start, end = period_bounds(period, 0, user.timezone, now)
    friend_ids = [user.pk]
    for friendship in Friendship.objects.filter(Q(user_low=user) | Q(user_high=user), active=True):
        friend_ids.append(friendship.user_high_id if friendship.user_low_id == user.pk else friendship.user_low_id)
    members = list(User.objects.filter(pk__in=friend_ids))
    return naive_board(members=members, metric=metric, start=start, end=end, scan=scan)


def naive_classroom_board(
    *, user, classroom_id: int, metric: str, now: dt.datetime, scan: bool
) -> list[tuple[str, int]]:
    from gamification.models import ClassroomMembership
    from gamification.timeutils import period_bounds

    start, end = period_bounds("week", 0, user.timezone, now)
    members = [
        membership.user
        for membership in ClassroomMembership.objects.filter(classroom_id=classroom_id).select_related("user")
        if membership.role == "student"
    ]
    return naive_board(members=members, metric=metric, start=start, end=end, scan=scan)


# Timing ------------------------------------------------------------------------------------------


def timed(calls: list[Callable[[], object]], repeat: int) -> list[float]:
    samples = []
    for i in range(repeat):
        call = calls[i % len(calls)]
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def as_pairs(board) -> list[tuple[str, int]]:
    return [(row.user.username, row.value) for row in board.rows]


def board_cases(*, metric: str, subjects: list, students: list, now: dt.datetime, limit: int) -> dict:
    """board name → (selector calls, naive per-member calls, naive scan calls), one per subject."""
    from gamification.selectors.leaderboards import classroom_leaderboard, friends_leaderboard

    common = {"metric": metric, "now": now}

    def naive(function, **kwargs) -> tuple[list, list]:
        return (
            [partial(function, scan=False, **common, **kw) for kw in kwargs["each"]],
            [partial(function, scan=True, **common, **kw) for kw in kwargs["each"]],
        )

    friends = [{"user": u} for u in subjects]
    classrooms = [{"user": u, "classroom_id": c} for u, c in students]
    return {
        "friends week": (
            [partial(friends_leaderboard, period="week", limit=limit, **common, **kw) for kw in friends],
            *naive(naive_friends_board, each=[{"period": "week", **kw} for kw in friends]),
        ),
        "classroom week": (
            [partial(classroom_leaderboard, limit=limit, **common, **kw) for kw in classrooms],
            *naive(naive_classroom_board, each=classrooms),
        ),
        "friends all-time": (
            [partial(friends_leaderboard, period="all", limit=limit, **common, **kw) for kw in friends],
            *naive(naive_friends_board, each=[{"period": "all", **kw} for kw in friends]),
        ),
    }


def run(args: argparse.Namespace, now: dt.datetime, *, naive_timed: bool = True) -> dict[tuple[str, str], float]:
    """Time every board; return the selector's p95 (ms) per (metric, board). Without
    ``naive_timed`` the naive boards are only checked against the selector's (per member, on the
    first subject), not timed: at 10x the scan alone takes minutes."""
    from django.db import connection

    from gamification.models import ClassroomMembership, User

    subjects = list(User.objects.order_by("id")[: args.subjects])
    students = [
        (membership.user, membership.classroom_id)
        for membership in ClassroomMembership.objects.filter(role="student")
        .select_related("user")
        .order_by("classroom_id", "id")[:: args.classroom_size][: args.subjects]
    ]
    metrics = args.metric or ["reading_time", "correct_exercises", "translated_words"]
    limit = 100  # every row, so that the naive boards can be compared in full

    print()
    print(
        f"MariaDB {connection.mysql_server_data['version']}; {User.objects.count()} users; "
        f"selector calls x{args.repeat}, naive x{args.naive_repeat}; times in ms"
    )
    header = (
        f"{'metric':<18} {'board':<17} {'p50':>6} {'p95':>6} | {'per-member p50':>14} {'ratio':>6}"
        f" | {'scan p50':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    p95s = {}
    for metric in metrics:
        cases = board_cases(metric=metric, subjects=subjects, students=students, now=now, limit=limit)
        for name, (fast_calls, member_calls, scan_calls) in cases.items():
            # Same answer every way (on the first subject), or the comparison means nothing.
            fast = as_pairs(fast_calls[0]())
            for naive_calls in (member_calls, scan_calls) if naive_timed else (member_calls,):
                naive = naive_calls[0]()
                if fast != naive[: len(fast)]:
                    sys.exit(f"MISMATCH on {metric} / {name}:\n{fast[:10]}\n{naive[:10]}")
            timed(fast_calls, min(20, args.repeat))  # warm-up
            fast_samples = timed(fast_calls, args.repeat)
            p50, p95 = percentile(fast_samples, 0.5), percentile(fast_samples, 0.95)
            p95s[(metric, name)] = p95
            if naive_timed:
                member_samples = timed(member_calls, args.naive_repeat)
                scan_samples = timed(scan_calls, args.naive_repeat)
                member50, scan50 = percentile(member_samples, 0.5), percentile(scan_samples, 0.5)
                naive_columns = f"{member50:14.0f} {member50 / p50:5.0f}x | {scan50:9.0f} {scan50 / p50:5.0f}x"
            else:
                naive_columns = f"{'(checked)':>14} {'':>6} | {'':>9} {'':>6}"
            print(f"{metric:<18} {name:<17} {p50:6.1f} {p95:6.1f} | {naive_columns}", flush=True)
    print(
        f"\nboard sizes: friends {args.friends} + 1 (+ ended friendships not counted), classroom {args.classroom_size};"
        f" covering index {COVER_INDEX}: {'dropped' if args.without_cover_index else 'present'}"
    )
    return p95s


def measure(args: argparse.Namespace, server: dict, database: str, *, naive_timed: bool) -> dict:
    """Fill ``database`` with ``args.users`` / ``args.events`` (unless --reuse finds that size),
    then time the boards; return run()'s p95s."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from gamification.models import ActivityEvent, ClassroomMembership, User
    from gamification.timeutils import week_monday

    connection.close()
    connection.settings_dict["NAME"] = database
    recreate_database(server, database, drop=not args.reuse)
    call_command("migrate", verbosity=0)
    # The boards are timed as of Sunday 09:00 UTC, still Sunday from New York to Tokyo, so that
    # "this week" holds almost a full week of events in every user's timezone (the data ends
    # there: the selectors take ``now`` as a parameter).
    today = timezone.now().date()
    now = dt.datetime.combine(week_monday(today) + dt.timedelta(days=6), dt.time(9), tzinfo=dt.UTC)
    # Classroom memberships are the fill's last step: without them the fill was interrupted.
    complete = ClassroomMembership.objects.exists()
    if args.reuse and complete and User.objects.count() == args.users and ActivityEvent.objects.count() == args.events:
        now = ActivityEvent.objects.aggregate(last=Max("occurred_at"))["last"] + dt.timedelta(seconds=1)
        log(f"{database}: reusing the data of the previous run")
    else:
        if args.reuse:
            recreate_database(server, database, drop=True)
            call_command("migrate", verbosity=0)
        began = time.perf_counter()
        log(f"{database}: filling {args.users} users, {args.events} events")
        fill(args, now)
        log(f"filled in {time.perf_counter() - began:.0f} s")
    set_cover_index(present=not args.without_cover_index)
    began = time.perf_counter()
    analyze()
    log(f"ANALYZE TABLE in {time.perf_counter() - began:.1f} s")
    return run(args, now, naive_timed=naive_timed)


def compare(sizes: list[tuple[int, int]], results: list[dict]) -> bool:
    """The boards' p95 at each size against the first size's; the week boards must stay within
    1.5x."""
    base = results[0]
    print()
    labels = [f"{users}/{events}" for users, events in sizes]
    header = f"{'metric':<18} {'board':<17} " + " ".join(f"{label:>17}" for label in labels) + "  verdict"
    print("p95 in ms by size (users/events); ratio to the first size")
    print(header)
    print("-" * len(header))
    met = True
    for key, first in base.items():
        cells, ok = [], True
        for result in results:
            ratio = result[key] / first
            cells.append(f"{result[key]:7.1f} ({ratio:4.2f}x)")
            ok &= ratio <= 1.5
        week = "week" in key[1]
        met &= ok or not week
        verdict = ("ok" if ok else "MISSED") if week else "(not a target)"
        print(f"{key[0]:<18} {key[1]:<17} " + " ".join(f"{cell:>17}" for cell in cells) + f"  {verdict}")
    print(f"\nVerdict: {'target MET' if met else 'target MISSED'} (week boards' p95 within 1.5x of the first size)")
    return met


def main() -> None:
    args = parse_args()
    sizes = args.sizes or [(args.users, args.events)]
    databases = [f"{args.database}_{u}_{e}" if args.sizes else args.database for u, e in sizes]
    server = configure_django(databases[0])
    recreate_database(server, databases[0], drop=False)

    import django

    django.setup()
    results = []
    for n, ((users, events), database) in enumerate(zip(sizes, databases, strict=True)):
        args.users, args.events = users, events
        if args.friends + args.friends // 10 > args.users - args.subjects:
            sys.exit(f"--friends/--subjects too large for {users} users.")
        results.append(measure(args, server, database, naive_timed=n == 0))
    if len(results) > 1 and not compare(sizes, results):
        sys.exit(1)


if __name__ == "__main__":
    main()
