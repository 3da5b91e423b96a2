"""Queued ingestion benchmark: ``POST /api/events/`` with ``Prefer: respond-async`` under a
ramping offered load, on two app servers and two Celery workers, then the same with a worker
killed and the broker stopped; and the synchronous path at the same offered load.

Targets: 202 in p95 <= 10 ms at 1,000 events/s offered; 0 events lost
and 0 applied twice after a worker kill (every metric equal to what rebuild_metrics computes).

Run from the project root (one machine; it needs redis-server; ~4 minutes, ``--quick`` ~1.5):

    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/async_ingest.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/async_ingest.py --quick
    DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu .venv/bin/python bench/async_ingest.py --worker-nice 10

``--worker-nice 10`` runs the Celery workers and beat at a lower CPU priority than the app
servers, as a single host running both should (on separate hosts the question does not arise).

What it starts, all on free ports of 127.0.0.1 (never the shared Redis or RabbitMQ, which it
does not touch): a Redis of its own as the broker (the one it stops), another as the cache;
the bench's own database ``bench_zeeguu_async`` on the MariaDB of DATABASE_URL (created,
migrated, dropped at the end); two ``gunicorn zeeguu_site.wsgi`` (``--app-workers`` 4 sync
workers each, different ports); two ``celery worker --pool solo`` processes and one ``celery
beat`` (the sweep for whatever a lost signal left, every 5 s).

Phases:

1. Ramp, queued: offered load ``--rates`` (200 .. 5,000 events/s) for ``--stage`` seconds each, an
   open loop (requests leave on schedule whatever the answers), batches of 1-50 events (mixed
   types, each with an idempotency key) over ``--learners`` learners, alternating between the two
   app servers. Per stage: events accepted/s (202), events applied/s (rows written to the
   activity log in that window, whichever stage sent them), p95 of 202 latency (client side, connect included), p95 of the
   time from the 202 to the event's row (its ``received_at``). Then the time to drain.
2. Faults, queued, at ``--fault-rate`` events/s for ``--fault-seconds``: one Celery worker is
   killed with SIGKILL at 20 % of the phase (restarted 5 s later), the broker Redis is stopped at
   40 % for ``--broker-outage`` seconds and started again (empty: whatever it held is gone). Then
   the backlog must drain, every accepted key must be in the log exactly once, and
   ``rebuild_metrics`` must change no metric value.
3. Ramp, synchronous: the same offered loads without the header: accepted/s (201) and p95.
"""

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import log, mariadb_execute, mariadb_server, percentile, recreate_database, with_database  # noqa: E402

from tests.servers import (  # noqa: E402
    AppServer,
    PrivateRedis,
    _spawn,
    app_environment,
    http,
    manage,
    prepare_database,
    register_learners,
)

DATABASE = "bench_zeeguu_async"
QUEUE = "bench-async"
MAX_BATCH = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: 2 stages of 4 s, a 20 s fault phase")
    parser.add_argument("--rates", default="200,500,1000,2000,5000", help="offered events/s per stage")
    parser.add_argument("--stage", type=float, default=12.0, help="seconds per stage (default 12)")
    parser.add_argument("--fault-rate", type=float, default=1000.0, help="events/s during the fault phase")
    parser.add_argument("--fault-seconds", type=float, default=40.0, help="length of the fault phase")
    parser.add_argument("--broker-outage", type=float, default=10.0, help="seconds the broker is down")
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--app-workers", type=int, default=4, help="gunicorn workers per app server")
    parser.add_argument("--senders", type=int, default=48, help="client threads")
    parser.add_argument("--skip-sync", action="store_true", help="no synchronous ramp")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="niceness of the Celery workers and beat (e.g. 10: the app servers first on shared cores)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rates, args.stage, args.fault_rate, args.fault_seconds, args.broker_outage = (
            "200,1000",
            4.0,
            500.0,
            20.0,
            4,
        )
        args.learners = min(args.learners, 40)
    args.rate_list = [float(rate) for rate in args.rates.split(",")]
    return args


# Processes --------------------------------------------------------------------------------------
class CeleryProcess:
    def __init__(self, env: dict, *, directory: Path, name: str, beat: bool = False, nice: int = 0) -> None:
        self.env, self.name, self.beat, self.nice = env, name, beat, nice
        self.log_path = directory / f"{name}.log"
        self.schedule = directory / f"{name}-schedule"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["nice", "-n", str(self.nice)] if self.nice else []
        command += [sys.executable, "-m", "celery", "-A", "zeeguu_site"]
        if self.beat:
            command += ["beat", "--schedule", str(self.schedule), "--loglevel", "WARNING"]
        else:
            command += ["worker", "--pool", "solo", "--queues", QUEUE, "--without-gossip", "--without-mingle"]
            command += ["--loglevel", "WARNING", "--hostname", f"{self.name}@bench"]
        self.process = _spawn(command, log_path=self.log_path, env=self.env)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


# Load -------------------------------------------------------------------------------------------
@dataclass
class Sent:
    phase: str
    keys: list[str]
    status: int = 0
    answered_at: float = 0.0  # time.time() of the answer
    seconds: float = 0.0


@dataclass
class Load:
    servers: list[str]
    tokens: list[str]
    senders: int
    records: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def _events(self, rng: random.Random, prefix: str, size: int) -> list[dict]:
        events = []
        for _ in range(size):
            with self.lock:
                self.counter += 1
                key = f"{prefix}-{self.counter}"
            roll = rng.random()
            if roll < 0.4:
                event = {"type": "exercise_answered", "correct": rng.random() < 0.7}
            elif roll < 0.75:
                event = {"type": "word_translated", "word": f"wort{rng.randrange(400)}"}
            else:
                event = {"type": "practice", "kind": "reading", "duration_seconds": rng.randint(20, 200)}
            events.append({**event, "language": "de", "idempotency_key": key})
        return events

    def _send(self, record: Sent, server: str, token: str, body: dict, asynchronous: bool) -> None:
        headers = {"Prefer": "respond-async"} if asynchronous else {}
        try:
            answer = http(server, "POST", "/api/events/", token=token, body=body, headers=headers, timeout=30)
            record.status, record.seconds = answer.status, answer.seconds
        except OSError:
            record.status = 0
        record.answered_at = time.time()

    def run(self, *, phase: str, rate: float, seconds: float, asynchronous: bool, events=None) -> list[Sent]:
        """Offer ``rate`` events/s for ``seconds`` (open loop); ``events`` is called with the elapsed
        time once per request (the fault phase's timeline)."""
        rng = random.Random(hash(phase) & 0xFFFF)
        sent: list[Sent] = []
        with ThreadPoolExecutor(max_workers=self.senders) as pool:
            started = time.monotonic()
            next_at = started
            index = 0
            while (now := time.monotonic()) - started < seconds:
                if events is not None:
                    events(now - started)
                if now < next_at:
                    time.sleep(min(next_at - now, 0.05))
                    continue
                size = rng.randint(1, MAX_BATCH)
                body = {"events": self._events(rng, phase, size)}
                record = Sent(phase, [event["idempotency_key"] for event in body["events"]])
                sent.append(record)
                pool.submit(
                    self._send, record, self.servers[index % len(self.servers)],
                    self.tokens[rng.randrange(len(self.tokens))], body, asynchronous,
                )  # fmt: skip
                index += 1
                next_at += size / rate
        self.records.extend(sent)
        return sent


# Measurements -----------------------------------------------------------------------------------
def applied_times(server: dict, prefix: str) -> dict[str, float]:
    rows = mariadb_execute(
        {**server, "database": DATABASE},
        f"SELECT idempotency_key, received_at FROM gamification_activityevent WHERE idempotency_key LIKE '{prefix}-%'",
    )
    return {key: at.replace(tzinfo=dt.UTC).timestamp() for key, at in rows}


def applied_between(server: dict, window: tuple[float, float]) -> int:
    """Events of any phase written to the activity log in the window (a backlog included)."""
    start, end = (dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for at in window)
    return mariadb_execute(
        {**server, "database": DATABASE},
        f"SELECT COUNT(*) FROM gamification_activityevent WHERE received_at >= '{start}' AND received_at < '{end}'",
    )[0][0]


def key_counts(server: dict) -> dict[str, int]:
    rows = mariadb_execute(
        {**server, "database": DATABASE},
        "SELECT idempotency_key, COUNT(*) FROM gamification_activityevent GROUP BY idempotency_key",
    )
    return dict(rows)


def queued(server: dict) -> int:
    return mariadb_execute({**server, "database": DATABASE}, "SELECT COUNT(*) FROM gamification_queuedeventbatch")[0][0]


def metric_values(server: dict) -> dict:
    rows = mariadb_execute(
        {**server, "database": DATABASE},
        "SELECT user_id, activity_type_id, value FROM gamification_usermetric WHERE value <> 0",
    )
    return {(user, kind): value for user, kind, value in rows}


def wait_drained(server: dict, timeout: float = 300) -> float:
    started = time.monotonic()
    while queued(server) and time.monotonic() - started < timeout:
        time.sleep(0.2)
    return time.monotonic() - started


def stage_report(
    sent: list[Sent], applied: dict[str, float] | None, window: tuple[float, float], server: dict | None = None
) -> dict:
    ok_status = 202 if applied is not None else 201
    ok = [record for record in sent if record.status == ok_status]
    seconds = window[1] - window[0]
    report = {
        "requests": len(sent),
        "offered_events_per_s": sum(len(r.keys) for r in sent) / seconds,
        "accepted_events_per_s": sum(len(r.keys) for r in ok) / seconds,
        "answer_p50_ms": 1000 * percentile([r.seconds for r in ok], 0.50),
        "answer_p95_ms": 1000 * percentile([r.seconds for r in ok], 0.95),
        "not_accepted": len(sent) - len(ok),
    }
    if applied is not None:
        lags = [applied[key] - r.answered_at for r in ok for key in r.keys if key in applied]
        report.update(
            applied_events_per_s=applied_between(server, window) / seconds,
            applied_lag_p50_ms=1000 * percentile(lags, 0.50),
            applied_lag_p95_ms=1000 * percentile(lags, 0.95),
        )
    return report


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("mysql"):
        sys.exit(
            "Set DATABASE_URL=mysql://root@127.0.0.1:3306/zeeguu (the bench uses its own database on that server)."
        )
    parts = urlsplit(url)
    server = mariadb_server(parts)
    recreate_database(server, DATABASE)
    directory = Path(tempfile.mkdtemp(prefix="bench-async-"))
    broker, cache = PrivateRedis(directory / "broker"), PrivateRedis(directory / "cache")
    for redis in (broker, cache):
        redis.directory.mkdir()
        redis.start()
    env = app_environment(
        DATABASE_URL=with_database(parts, DATABASE),
        REDIS_URL=cache.url(),
        CELERY_BROKER_URL=broker.url(),
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        CELERY_VISIBILITY_TIMEOUT="20",
        THROTTLING="off",
    )
    apps = [AppServer(env, directory=directory, workers=args.app_workers, name=f"gunicorn{i}") for i in (1, 2)]
    workers = [CeleryProcess(env, directory=directory, name=f"worker{i}", nice=args.worker_nice) for i in (1, 2)]
    beat = CeleryProcess(env, directory=directory, name="beat", beat=True, nice=args.worker_nice)
    results: dict = {"ramp_async": [], "ramp_sync": []}
    try:
        log(f"migrating {DATABASE}; servers in {directory}")
        prepare_database(env)
        for app in apps:
            app.start()
        for process in (*workers, beat):
            process.start()
        tokens = register_learners(apps[0].base_url, args.learners, prefix="async-bench")
        load = Load([app.base_url for app in apps], tokens, args.senders)
        time.sleep(3)  # the Celery workers connect
        # Warm-up, not reported: every gunicorn worker has imported and connected.
        load.run(phase="w", rate=200, seconds=3, asynchronous=True)
        load.run(phase="v", rate=200, seconds=2, asynchronous=False)
        wait_drained(server)

        # 1. Ramp, queued
        for rate in args.rate_list:
            phase = f"a{int(rate)}"
            started = time.time()
            sent = load.run(phase=phase, rate=rate, seconds=args.stage, asynchronous=True)
            ended = time.time()
            time.sleep(1.0)
            applied = applied_times(server, phase)
            results["ramp_async"].append({"rate": rate, **stage_report(sent, applied, (started, ended), server)})
            log(f"queued   {rate:6.0f}/s offered: {results['ramp_async'][-1]}")
        drain = wait_drained(server)
        results["drain_after_ramp_s"] = drain
        for entry, rate in zip(results["ramp_async"], args.rate_list, strict=True):  # final lags, all applied
            phase = f"a{int(rate)}"
            sent = [r for r in load.records if r.phase == phase]
            applied = applied_times(server, phase)
            lags = [applied[key] - r.answered_at for r in sent if r.status == 202 for key in r.keys if key in applied]
            entry["applied_lag_p95_ms_final"] = 1000 * percentile(lags, 0.95)
        log(f"drained the backlog in {drain:.1f} s")

        # 2. Faults
        timeline = {
            0.2 * args.fault_seconds: ("kill -9 worker1", workers[0].kill),
            0.2 * args.fault_seconds + 5: ("restart worker1", workers[0].start),
            0.4 * args.fault_seconds: ("stop the broker", broker.stop),
            0.4 * args.fault_seconds + args.broker_outage: ("start the broker", broker.start),
        }
        done: set[float] = set()

        def on_time(elapsed: float) -> None:
            for at, (what, action) in sorted(timeline.items()):
                if at <= elapsed and at not in done:
                    done.add(at)
                    log(f"fault phase t={elapsed:.1f} s: {what}")
                    # In this thread: a process started from a short-lived thread would get its
                    # parent-death signal when that thread ends (PR_SET_PDEATHSIG).
                    action()

        started = time.time()
        sent = load.run(phase="f", rate=args.fault_rate, seconds=args.fault_seconds, asynchronous=True, events=on_time)
        ended = time.time()
        time.sleep(1)
        drain = wait_drained(server)
        applied = applied_times(server, "f")
        fault = stage_report(sent, applied, (started, ended), server)
        counts = key_counts(server)
        accepted_keys = [key for r in load.records if r.status == 202 for key in r.keys]
        before = metric_values(server)
        rebuild = manage(env, "rebuild_metrics", "--no-progress")
        after = metric_values(server)
        changed = re.search(r"(\d+) metric values? changed, (\d+) badges? awarded", rebuild)
        fault.update(
            drain_s=drain,
            accepted_events=len(accepted_keys),
            lost=sum(counts.get(key, 0) == 0 for key in accepted_keys),
            applied_twice=sum(count > 1 for count in counts.values()),
            rebuild_metrics=rebuild.strip(),
            rebuild_changed=int(changed.group(1)) if changed else None,
            metrics=len(before),
            metrics_differing=len(set(before.items()) ^ set(after.items())),
        )
        results["faults"] = fault
        log(f"faults: {fault}")

        # 3. Ramp, synchronous
        if not args.skip_sync:
            for rate in args.rate_list:
                phase = f"s{int(rate)}"
                started = time.time()
                sent = load.run(phase=phase, rate=rate, seconds=args.stage, asynchronous=False)
                ended = time.time()
                results["ramp_sync"].append({"rate": rate, **stage_report(sent, None, (started, ended))})
                log(f"synchronous {rate:6.0f}/s offered: {results['ramp_sync'][-1]}")
    finally:
        for process in (beat, *workers):
            process.stop()
        for app in apps:
            app.stop()
        for redis in (broker, cache):
            redis.stop()
        with contextlib.suppress(Exception):
            recreate_database(server, DATABASE, create=False)

    print_report(results, args)
    fault = results["faults"]
    at_1000 = [row for row in results["ramp_async"] if row["rate"] == 1000]
    met = (
        fault["lost"] == 0
        and fault["applied_twice"] == 0
        and fault["metrics_differing"] == 0
        and fault["rebuild_changed"] == 0
        and (not at_1000 or at_1000[0]["answer_p95_ms"] <= 10)
    )
    return 0 if met else 1


def print_report(results: dict, args: argparse.Namespace) -> None:
    print()
    niced = f" at nice {args.worker_nice}" if args.worker_nice else ""
    print(
        f"2 gunicorn x {args.app_workers} sync workers, 2 Celery workers (solo){niced}, MariaDB, private Redis broker;"
        f" load average {os.getloadavg()[0]:.2f} at the end"
    )
    print("queued (Prefer: respond-async)")
    print("  offered/s  accepted/s  applied/s  202 p50 ms  202 p95 ms  202->applied p95 ms (final)  refused")
    for row in results["ramp_async"]:
        print(
            f"  {row['offered_events_per_s']:9.0f}  {row['accepted_events_per_s']:10.0f}  {row['applied_events_per_s']:9.0f}"
            f"  {row['answer_p50_ms']:10.1f}  {row['answer_p95_ms']:10.1f}  {row['applied_lag_p95_ms']:10.0f}"
            f" ({row['applied_lag_p95_ms_final']:.0f})  {row['not_accepted']:7d}"
        )
    print(f"  backlog drained {results['drain_after_ramp_s']:.1f} s after the ramp")
    if results["ramp_sync"]:
        print("synchronous (201)")
        print("  offered/s  accepted/s  201 p50 ms  201 p95 ms  refused")
        for row in results["ramp_sync"]:
            print(
                f"  {row['offered_events_per_s']:9.0f}  {row['accepted_events_per_s']:10.0f}  {row['answer_p50_ms']:10.1f}"
                f"  {row['answer_p95_ms']:10.1f}  {row['not_accepted']:7d}"
            )
    fault = results["faults"]
    print(
        f"faults at {args.fault_rate:.0f} events/s for {args.fault_seconds:.0f} s (worker kill -9, broker down "
        f"{args.broker_outage:.0f} s): accepted/s {fault['accepted_events_per_s']:.0f}, 202 p95 {fault['answer_p95_ms']:.1f} ms, "
        f"refused {fault['not_accepted']}, drained {fault['drain_s']:.1f} s after, 202->applied p95 "
        f"{fault['applied_lag_p95_ms']:.0f} ms"
    )
    print(
        f"  accepted events {fault['accepted_events']}: lost {fault['lost']}, applied twice {fault['applied_twice']}; "
        f"metrics {fault['metrics']}, differing after rebuild_metrics {fault['metrics_differing']} "
        f"({fault['rebuild_metrics']})"
    )


if __name__ == "__main__":
    sys.exit(main())
