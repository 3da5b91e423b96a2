"""Historical import benchmark: ``import_users`` + ``import_events`` end to end on MariaDB.

Target: at least 5,000 events/s end to end, memory flat from 100k to
1M lines.

Run from the project root (the server and credentials come from DATABASE_URL; the bench works in
its own database, bench_import (--database), which it creates, migrates and drops at the end):

    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/import.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/import.py --events 100000
    .venv/bin/python bench/import.py --private-server     # a MariaDB of its own, production-sized

``--private-server`` starts a MariaDB of the bench's own (``tests.servers.PrivateMariaDB``: a
temporary data directory, durable: the redo log flushed at every commit, as production) with an
InnoDB buffer pool of ``--buffer-pool`` (2G) and a 512 MB redo log, the sizes of a production
database server, instead of the distribution's defaults of the shared server (128 MB, 96 MB):
at a million events the log's indexes outgrow 128 MB, and the import then waits on the disk.

What it does:
1. writes, in a temporary directory, ``users.ndjson`` (``--users``, default 10,000, each with a
   time zone of ``common.TIMEZONES``) and ``events.ndjson`` (``--events``, default 1,000,000,
   spread over ``--days`` (730) up to yesterday, the mix of ``common.EVENT_MIX``, one or two
   languages per learner, half the events with an idempotency key, the others without);
2. times ``manage.py import_users`` then ``manage.py import_events`` (each a subprocess, the
   events read from standard input through a line counter that records the process's peak
   resident memory (``resource.getrusage``) when line 100,000 is read and at the end): events/s
   end to end = events / (users import + events import, the final rebuild included);
3. checks the result: every metric and every language streak is snapshotted, ``rebuild_metrics``
   is run over everyone, and the snapshot must be unchanged (and the rebuild must award nothing).
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import (  # noqa: E402
    EVENT_MIX,
    LANGUAGES,
    TIMEZONES,
    log,
    mariadb_execute,
    mariadb_server,
    random_event_details,
    recreate_database,
    with_database,
)

from tests.servers import PrivateMariaDB  # noqa: E402

BENCH_DATABASE = "bench_import"
CHECKPOINT = 100_000

# Runs in the import subprocess: standard input is the events file, read through a counter that
# notes the peak RSS when the checkpoint line is read; prints both peaks as JSON on stderr's
# last line.
RUNNER = r"""
import json, resource, sys
import django
django.setup()
from django.core.management import call_command

checkpoint, path, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
peaks = {}

class Counting:
    def __init__(self, raw):
        self.raw, self.lines = raw, 0
    def readline(self, *args):
        line = self.raw.readline(*args)
        if line.endswith(b"\n"):
            self.lines += 1
            if self.lines == checkpoint:
                peaks["at_checkpoint_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return line
    def fileno(self):
        return self.raw.fileno()

class Stdin:
    def __init__(self, raw):
        self.buffer = Counting(raw)

sys.stdin = Stdin(open(path, "rb"))
try:
    call_command(command, "-", "--no-progress")
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peaks["at_end_kib"] = usage.ru_maxrss
    peaks["cpu_s"] = usage.ru_utime + usage.ru_stime
    peaks["lines"] = sys.stdin.buffer.lines
    sys.stderr.write("\nPEAKS " + json.dumps(peaks) + "\n")
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to import (default 1,000,000)")
    parser.add_argument("--users", type=int, default=10_000, help="learners (default 10,000)")
    parser.add_argument("--days", type=int, default=730, help="days of history (default 730)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"MariaDB database to use (default {BENCH_DATABASE})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the files afterwards")
    parser.add_argument(
        "--private-server",
        action="store_true",
        help="start a MariaDB of its own (production-sized buffer pool) instead of using DATABASE_URL's",
    )
    parser.add_argument("--buffer-pool", default="2G", help="InnoDB buffer pool of --private-server (default 2G)")
    parser.add_argument(
        "--skip-check", action="store_true", help="skip the final comparison with rebuild_metrics (quicker iterations)"
    )
    return parser.parse_args()


def write_files(directory: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    rng = random.Random(args.seed)
    users_path, events_path = directory / "users.ndjson", directory / "events.ndjson"
    languages = {}
    with users_path.open("w") as out:
        for n in range(args.users):
            external_id = f"u{n:06d}"
            languages[external_id] = rng.sample(LANGUAGES, rng.choice((1, 1, 2)))
            out.write(
                json.dumps({"external_id": external_id, "name": f"Learner {n}", "timezone": rng.choice(TIMEZONES)})
            )
            out.write("\n")
    end = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    span = args.days * 86400
    types = [event_type for event_type, _ in EVENT_MIX]
    weights = [share for _, share in EVENT_MIX]
    ids = list(languages)
    with events_path.open("w") as out:
        for n in range(args.events):
            external_id = rng.choice(ids)
            event_type = rng.choices(types, weights)[0]
            details = random_event_details(rng, event_type)
            event = {
                "type": event_type,
                "external_user_id": external_id,
                "language": rng.choice(languages[external_id]),
                "occurred_at": (end - dt.timedelta(seconds=rng.randrange(span))).isoformat(),
            }
            if event_type == "practice":
                event.update(kind=details["kind"], duration_seconds=details["duration_seconds"])
            elif event_type == "exercise_answered":
                event["correct"] = details["correct"]
            elif event_type in ("word_translated", "word_learned"):
                event["word"] = details["word"]
            elif event_type == "article_read":
                event["article_id"] = details["item_id"]
            else:
                event["lesson_id"] = details["item_id"]
            if n % 2:
                event["idempotency_key"] = f"bench-{n}"
            out.write(json.dumps(event))
            out.write("\n")
    return users_path, events_path


def manage(env: dict, *arguments: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own interpreter and scripts)
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(arguments)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def server_process(port: int):
    """The local MariaDB server listening on ``port`` (for its CPU time), or None."""
    import psutil

    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] not in {"mariadbd", "mysqld"}:
            continue
        options = [part for part in process.info["cmdline"] or [] if part.startswith("--port")]
        if (options and options[-1] == f"--port={port}") or (not options and port == 3306):
            return process
    return None


def server_cpu(process) -> float:
    if process is None:
        return float("nan")
    times = process.cpu_times()
    return times.user + times.system


def machine_iowait() -> float:
    import psutil

    return getattr(psutil.cpu_times(), "iowait", float("nan"))


def timed_import(env: dict, command: str, path: Path, workdir: Path, server) -> tuple[float, dict, str]:
    """Run the import; its wall time, the RUNNER's peaks and CPU, the database server's CPU and
    the machine's I/O wait over the run (``peaks["server_cpu_s"]``, ``peaks["iowait_s"]``)."""
    server_before, iowait_before = server_cpu(server), machine_iowait()
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 (our own interpreter and scripts)
        [sys.executable, "-c", RUNNER, str(CHECKPOINT), str(path), command],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    server_used, iowait = server_cpu(server) - server_before, machine_iowait() - iowait_before
    peaks_line = [line for line in result.stderr.splitlines() if line.startswith("PEAKS ")]
    if result.returncode != 0 or not peaks_line:
        sys.exit(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}")
    peaks = json.loads(peaks_line[-1][6:])
    peaks.update(server_cpu_s=server_used, iowait_s=iowait)
    return elapsed, peaks, result.stdout.strip()


def cpu_line(peaks: dict) -> str:
    return (
        f"CPU: importer {peaks['cpu_s']:.1f} s, MariaDB {peaks['server_cpu_s']:.1f} s, "
        f"machine I/O wait {peaks['iowait_s']:.1f} s"
    )


SNAPSHOT = r"""
import hashlib, json
import django
django.setup()
from gamification.models import LanguageStreak, UserBadge, UserMetric
digest = hashlib.sha256()
for row in UserMetric.objects.order_by("user_id", "activity_type_id").values_list("user_id", "activity_type_id", "value").iterator(chunk_size=20000):
    digest.update(repr(row).encode())
for row in LanguageStreak.objects.order_by("user_id", "language_id").values_list("user_id", "language_id", "length", "last_date", "max_length", "max_date").iterator(chunk_size=20000):
    digest.update(repr(row).encode())
print(json.dumps({"digest": digest.hexdigest(), "metrics": UserMetric.objects.count(), "badges": UserBadge.objects.count()}))
"""


def snapshot(env: dict) -> dict:
    result = subprocess.run(  # noqa: S603 (our own interpreter and scripts)
        [sys.executable, "-c", SNAPSHOT],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-import-"))
    private = None
    if args.private_server:
        (directory / "mariadb").mkdir()
        private = PrivateMariaDB(directory / "mariadb", durable=True, buffer_pool=args.buffer_pool, log_file="512M")
        private.install()
        private.start()
        url = private.url(args.database)
        log(f"private MariaDB on port {private.port}: buffer pool {args.buffer_pool}, redo log 512M, durable")
    else:
        url = os.environ.get("DATABASE_URL", "").strip()
        if not url.startswith("mysql"):
            sys.exit("Set DATABASE_URL=mysql://... (the bench creates and drops its own database on that server).")
    parts = urlsplit(url)
    server = mariadb_server(parts)
    settings = mariadb_execute(server, "SELECT @@innodb_buffer_pool_size, @@innodb_flush_log_at_trx_commit")[0]
    log(f"MariaDB: buffer pool {settings[0] // 2**20} MiB, innodb_flush_log_at_trx_commit={settings[1]}")
    env = dict(
        os.environ,
        DATABASE_URL=with_database(parts, args.database),
        DJANGO_SETTINGS_MODULE="zeeguu_site.settings",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-not-a-secret"),
        THROTTLING="off",
    )
    env.pop("DEBUG", None)
    recreate_database(server, args.database)
    try:
        log(f"Migrating {args.database} and loading the catalogue")
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "loaddata", "default_badges", "--verbosity", "0")
        log(f"Writing {args.users} users and {args.events} events over {args.days} days to {directory}")
        users_path, events_path = write_files(directory, args)
        log(f"events file: {events_path.stat().st_size / 1e6:.0f} MB")

        process = server_process(parts.port or 3306)
        users_s, user_peaks, users_out = timed_import(env, "import_users", users_path, directory, process)
        log(f"import_users: {users_s:.1f} s ({args.users / users_s:.0f} users/s): {users_out}")
        log(f"  {cpu_line(user_peaks)}")
        events_s, peaks, events_out = timed_import(env, "import_events", events_path, directory, process)
        log(f"import_events: {events_s:.1f} s: {events_out}")
        log(f"  {cpu_line(peaks)}")
        total = users_s + events_s
        log(f"END TO END: {args.events} events in {total:.1f} s = {args.events / total:.0f} events/s (target >= 5000)")
        at_checkpoint = peaks.get("at_checkpoint_kib")
        log(
            f"PEAK RSS of import_events: {at_checkpoint / 1024:.0f} MiB at line {CHECKPOINT}, "
            f"{peaks['at_end_kib'] / 1024:.0f} MiB at the end ({peaks['lines']} lines, rebuild included)"
            if at_checkpoint
            else f"PEAK RSS of import_events: {peaks['at_end_kib'] / 1024:.0f} MiB ({peaks['lines']} lines)"
        )

        if args.skip_check:
            log("CHECK skipped (--skip-check)")
            return
        before = snapshot(env)
        log(f"Checking against rebuild_metrics ({before['metrics']} metric rows, {before['badges']} badges)")
        started = time.perf_counter()
        rebuild_out = manage(env, "rebuild_metrics", "--no-progress").strip()
        after = snapshot(env)
        log(f"rebuild_metrics ({time.perf_counter() - started:.0f} s): {rebuild_out}")
        same = before == after and " 0 metric values changed, 0 badges awarded" in rebuild_out
        log("CHECK: every metric, streak and badge equals what rebuild_metrics computes" if same else "CHECK FAILED")
        if not same:
            log(f"before {before}, after {after}")
            sys.exit(1)
    finally:
        if private is not None:
            private.stop()
        if not args.keep:
            if private is None:
                recreate_database(server, args.database, create=False)
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
