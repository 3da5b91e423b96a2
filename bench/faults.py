"""Faults benchmark: the API under load while its database, then its Redis, goes away and comes back.

Target: 0 5xx other than the outage's 503s, and recovery without a
restart (SPEC §14). Also checked: every 503 is JSON with ``Retry-After``, the probes tell
liveness from readiness, nothing is half-written.

Run from the project root; about 90 s in all (the servers start in ~15 s, the load runs 60 s):

    .venv/bin/python bench/faults.py
    .venv/bin/python bench/faults.py --outage 20 --readers 12 --writers 4      # longer, harder
    .venv/bin/python bench/faults.py --graceful       # a clean shutdown of mariadbd instead of SIGKILL
    .venv/bin/python bench/faults.py --skip-redis     # the database phase only

It needs the dev requirements, ``mariadbd`` with ``mariadb-install-db`` and ``redis-server``.
Exit status 0 when every target is met, 1 when one is missed, anything else when the run failed.

What it does:

1. Servers of its own (``tests/servers.py``, the helpers of the fault tests), all on free ports
   of 127.0.0.1, never the shared ones: a MariaDB installed into a temporary data directory
   (durable commits: ``innodb_flush_log_at_trx_commit=1``), a Redis that keeps nothing, and
   ``gunicorn zeeguu_site.wsgi`` with ``--workers`` 4 sync workers, debug off, throttling on with
   limits far above the load (so every request reads and writes its throttle history in Redis).
   ``migrate``, ``loaddata default_badges``, ``--learners`` 20 sign-ups over the API.
2. Database phase: ``--readers`` 6 clients loop over GET ``/api/me/``, ``/api/badges/``,
   ``/api/streaks/`` and ``/api/friends/``; ``--writers`` 4 clients POST ``/api/events/`` batches
   of 1-3 events (exercises, translated words, practice) with idempotency keys, each batch sent
   again unchanged after anything but a 201, every 0.2 s, until it gets one. A prober asks
   ``/healthz`` and ``/readyz`` every 0.5 s. After ``--before`` 8 s mariadbd is killed (SIGKILL; a
   clean SIGTERM shutdown with ``--graceful``), started again ``--outage`` 10 s later on the same
   port and data, and the load goes on for ``--after`` 12 s. Recovery is the time from "mariadbd
   accepts connections" to the first 2xx, and to the last 503.
3. Redis phase (unless ``--skip-redis``): the same load, with searches (``/api/users/?search=``)
   added to the reads; Redis is stopped for ``--outage`` seconds and started again.
4. Data check: every batch has its 201 (the writers drain for up to 20 s at the end); every key
   of every batch is in the activity log exactly once; how many batches answered 503 had in fact
   committed (the connection broke after COMMIT: their retry came back as duplicates). Then
   ``manage.py rebuild_metrics`` must change 0 metric values and award 0 badges, and every
   metric value must be the same before and after it: the live metrics equal what the activity
   log says.
5. Report: per phase, requests sent, responses by status, 5xx other than the outage's 503s,
   503s without JSON or ``Retry-After``, connection errors, late 503s (more than a second after
   recovery), latency of the 503s, what the probes answered during the outage, recovery time,
   worker restarts (gunicorn's log at info level) and, for Redis, the fail-open warnings logged.
   Then the data check and the verdict. gunicorn's, MariaDB's and Redis' logs and a JSON
   summary go to ``bench/results/faults-<time>/`` (not versioned).

Bounds: only 127.0.0.1 is contacted; each phase lasts ``--before + --outage + --after``
seconds plus at most 20 s of draining; every request has a 10 s timeout; the servers are started
with a deadline and die with this script (``PR_SET_PDEATHSIG``), and a Ctrl-C still stops them.

Caveat: clients, gunicorn and MariaDB share the machine's 2 cores; the request counts say more
about this machine than about the code. The figures that matter are the counts of wrong answers
(targets 0) and the recovery time.
"""

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import log, percentile  # noqa: E402

from tests.servers import (  # noqa: E402
    READ_PATHS,
    AppServer,
    PrivateMariaDB,
    PrivateRedis,
    Traffic,
    app_environment,
    http,
    logged_keys,
    manage,
    metric_values,
    missing_binaries,
    prepare_database,
    register_learners,
)

RESULTS = ROOT / "bench" / "results"
DATABASE = "bench_faults"
PROBE_INTERVAL = 0.5
DRAIN_SECONDS = 20
LATE_AFTER_RECOVERY = 1.0  # a 503 later than this after the first success counts as late
WARNING = "Redis cache unreachable"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--readers", type=int, default=6, help="reading clients (default 6)")
    parser.add_argument("--writers", type=int, default=4, help="clients posting events (default 4)")
    parser.add_argument("--think", type=float, default=0.01, help="mean pause between two requests of a client (s)")
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--before", type=float, default=8, help="seconds of load before the outage")
    parser.add_argument("--outage", type=float, default=10, help="seconds the server stays down")
    parser.add_argument("--after", type=float, default=12, help="seconds of load after it is back")
    parser.add_argument("--graceful", action="store_true", help="stop mariadbd with SIGTERM instead of SIGKILL")
    parser.add_argument("--skip-redis", action="store_true", help="no Redis phase")
    return parser.parse_args()


class Prober:
    """``/healthz`` and ``/readyz`` every ``PROBE_INTERVAL`` seconds: (time, path, status, body)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[tuple[float, str, int, dict | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            for path in ("/healthz", "/readyz"):
                try:
                    answer = http(self.base_url, "GET", path, timeout=10)
                    body = answer.json() if answer.is_json else None
                    self.answers.append((time.monotonic(), path, answer.status, body))
                except OSError:
                    self.answers.append((time.monotonic(), path, 0, None))
            self._stop.wait(PROBE_INTERVAL)

    def ready_again_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first 200 of ``/readyz`` after it."""
        at = next(
            (at for at, path, status, _ in self.answers if at > moment and path == "/readyz" and status == 200), None
        )
        return round(at - moment, 2) if at is not None else None

    def during(self, start: float, end: float) -> dict[str, Counter]:
        seen: dict[str, Counter] = {"/healthz": Counter(), "/readyz": Counter()}
        for at, path, status, body in self.answers:
            if start <= at <= end:
                down = sorted(name for name, state in (body or {}).get("checks", {}).items() if state != "ok")
                seen[path][f"{status}" + (f" ({', '.join(down)} down)" if down else "")] += 1
        return seen


def run_phase(name: str, app: AppServer, tokens: list[str], args: argparse.Namespace, stop, start, read_paths) -> dict:
    """Load, ``stop()`` the dependency, wait ``--outage``, ``start()`` it, load on; return figures."""
    log(f"{name} phase: {args.before:.0f} s of load, {args.outage:.0f} s without, {args.after:.0f} s after")
    log_start = len(app.log_lines())
    traffic = Traffic(
        app.base_url,
        tokens,
        readers=args.readers,
        writers=args.writers,
        read_paths=read_paths,
        think=args.think,
        run_id=name.lower(),
    )
    prober = Prober(app.base_url)
    master_pid = app.process.pid
    began = time.monotonic()
    traffic.start()
    prober.start()
    try:
        time.sleep(args.before)
        stopped_at = time.monotonic()
        stop()
        log(f"{name}: stopped")
        time.sleep(max(0.0, args.outage - (time.monotonic() - stopped_at)))
        restart_began = time.monotonic()
        start()
        back_at = time.monotonic()
        log(f"{name}: started again (accepting after {back_at - restart_began:.2f} s)")
        time.sleep(args.after)
    finally:
        prober.stop()
        traffic.stop(drain_seconds=DRAIN_SECONDS)
    ended = time.monotonic()

    outcomes = sorted(traffic.outcomes, key=lambda o: o.at)
    statuses = Counter(o.status for o in outcomes)
    unavailable = [o for o in outcomes if o.status == 503]
    first_success = next((o.at for o in outcomes if o.at > back_at and 200 <= o.status < 300), None)
    new_log = app.log_lines()[log_start:]
    return {
        "phase": name,
        "seconds": round(ended - began, 1),
        "outage_seconds": round(back_at - stopped_at, 1),
        "requests": len(outcomes),
        "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors_other_than_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
        "connection_errors": statuses.get(0, 0),
        "unexpected_4xx": sum(v for k, v in statuses.items() if 400 <= k < 500),
        "503_not_json": sum(not o.is_json for o in unavailable),
        "503_without_retry_after": sum(not (o.retry_after or "").isdigit() for o in unavailable),
        "503_before_the_outage": sum(o.at < stopped_at for o in unavailable),
        "503_late": sum(first_success is not None and o.at > first_success + LATE_AFTER_RECOVERY for o in unavailable),
        "503_ms_p50_p95": [round(percentile([o.seconds for o in unavailable], f) * 1000, 1) for f in (0.5, 0.95)],
        "2xx_ms_p50_p95": [
            round(percentile([o.seconds for o in outcomes if 200 <= o.status < 300], f) * 1000, 1) for f in (0.5, 0.95)
        ],
        "server_start_seconds": round(back_at - restart_began, 2),
        "recovery_seconds": round(first_success - back_at, 2) if first_success is not None else None,
        "last_503_after_back_seconds": round(max(0.0, max((o.at for o in unavailable), default=back_at) - back_at), 2),
        "ready_again_seconds": prober.ready_again_after(back_at),
        "probes_during_outage": {k: dict(v) for k, v in prober.during(stopped_at + 0.5, back_at).items()},
        "gunicorn_master_unchanged": app.running and app.process.pid == master_pid,
        "worker_restarts": sum("Booting worker" in line for line in new_log),
        "worker_timeouts": sum("WORKER TIMEOUT" in line for line in new_log),
        "fail_open_warnings": sum(WARNING in line for line in new_log),
        "_batches": traffic.batches,
    }


def data_check(db: PrivateMariaDB, env: dict, phases: list[dict]) -> dict:
    batches = [batch for phase in phases for batch in phase.pop("_batches")]
    counts = logged_keys(db, DATABASE)
    keys = [key for batch in batches for key in batch.keys]
    before = metric_values(db, DATABASE)
    output = manage(env, "rebuild_metrics", "--no-progress")
    after = metric_values(db, DATABASE)
    changed = re.search(r"(\d+) metric values? changed, (\d+) badges? awarded", output)
    return {
        "batches": len(batches),
        "events": len(keys),
        "batches_without_201": sum(batch.statuses[-1:] != [201] for batch in batches),
        "batches_that_met_a_503": sum(503 in batch.statuses for batch in batches),
        "503_batches_that_had_committed": sum(
            503 in batch.statuses and (batch.duplicates_on_success or 0) > 0 for batch in batches
        ),
        "keys_missing": sum(counts.get(key, 0) == 0 for key in keys),
        "keys_duplicated": sum(counts.get(key, 0) > 1 for key in keys),
        "rebuild_metrics_output": output.strip(),
        "rebuild_metrics_changed": int(changed.group(1)) if changed else None,
        "rebuild_badges_awarded": int(changed.group(2)) if changed else None,
        "metrics": len(before),
        "metrics_differing_after_rebuild": len(set(before.items()) ^ set(after.items())),
    }


def verdict(phases: list[dict], data: dict, workers: int) -> list[str]:
    """The targets missed (empty: all met)."""
    missed = []
    for phase in phases:
        name = phase["phase"]
        for field in (
            "server_errors_other_than_503",
            "connection_errors",
            "unexpected_4xx",
            "503_not_json",
            "503_without_retry_after",
            "503_before_the_outage",
            "503_late",
            "worker_restarts",
            "worker_timeouts",
        ):
            if phase[field]:
                missed.append(f"{name}: {field} = {phase[field]}")
        if phase["recovery_seconds"] is None:
            missed.append(f"{name}: no success after the restart")
        if phase["ready_again_seconds"] is None:
            missed.append(f"{name}: /readyz never 200 after the restart")
        if not phase["gunicorn_master_unchanged"]:
            missed.append(f"{name}: gunicorn was restarted or died")
        if name == "Redis":
            if phase["by_status"].get("503"):
                missed.append("Redis: 503s while only Redis was down")
            allowed = workers * math.ceil(phase["seconds"] / 60)
            if not 1 <= phase["fail_open_warnings"] <= allowed:
                missed.append(f"Redis: {phase['fail_open_warnings']} warnings (1 to {allowed} expected)")
    for field in ("batches_without_201", "keys_missing", "keys_duplicated", "metrics_differing_after_rebuild"):
        if data[field]:
            missed.append(f"data: {field} = {data[field]}")
    if data["rebuild_metrics_changed"] != 0 or data["rebuild_badges_awarded"] != 0:
        missed.append(f"data: rebuild_metrics said {data['rebuild_metrics_output']!r}")
    return missed


def print_report(phases: list[dict], data: dict, missed: list[str], args: argparse.Namespace) -> None:
    print()
    for phase in phases:
        how = "SIGTERM" if args.graceful else "SIGKILL"
        what = f"mariadbd {how}" if phase["phase"] == "Database" else "redis-server stopped"
        print(
            f"== {phase['phase']} phase: {what} for {phase['outage_seconds']} s; {args.workers} gunicorn workers, "
            f"{args.readers} readers + {args.writers} writers, {phase['seconds']} s in all"
        )
        print(f"  requests sent            {phase['requests']:,}")
        print("  responses by status      " + ", ".join(f"{k}: {v:,}" for k, v in phase["by_status"].items()))
        print(f"  5xx other than 503       {phase['server_errors_other_than_503']}   (target 0)")
        print(
            f"  503 not JSON / no Retry-After / before the outage / late   {phase['503_not_json']} / "
            f"{phase['503_without_retry_after']} / {phase['503_before_the_outage']} / {phase['503_late']}"
        )
        print(f"  connection errors, 4xx   {phase['connection_errors']}, {phase['unexpected_4xx']}")
        p50, p95 = phase["503_ms_p50_p95"]
        s50, s95 = phase["2xx_ms_p50_p95"]
        fails = f"503 {p50}/{p95} ms" if phase["by_status"].get("503") else "no 503"
        print(f"  latency p50/p95          2xx {s50}/{s95} ms; {fails}")
        probes = "; ".join(
            f"{path} " + ", ".join(f"{k} x{v}" for k, v in seen.items())
            for path, seen in phase["probes_during_outage"].items()
        )
        print(f"  probes during outage     {probes}")
        print(
            f"  recovery                 server accepting {phase['server_start_seconds']} s after its start; then "
            f"first 2xx after {phase['recovery_seconds']} s, last 503 after {phase['last_503_after_back_seconds']} s, "
            f"/readyz 200 after {phase['ready_again_seconds']} s (probed every {PROBE_INTERVAL} s)"
        )
        print(
            f"  without a restart        gunicorn master unchanged: {phase['gunicorn_master_unchanged']}, "
            f"worker restarts {phase['worker_restarts']}, worker timeouts {phase['worker_timeouts']}"
        )
        if phase["phase"] == "Redis":
            print(f"  fail-open warnings       {phase['fail_open_warnings']} (at most one a minute per worker)")
    print("== Data")
    print(
        f"  batches {data['batches']:,} ({data['events']:,} events); without a 201 in the end: "
        f"{data['batches_without_201']}; met a 503: {data['batches_that_met_a_503']}, of which had committed: "
        f"{data['503_batches_that_had_committed']}"
    )
    print(f"  keys missing from the log {data['keys_missing']}, in it twice {data['keys_duplicated']}")
    print(
        f"  rebuild_metrics: {data['rebuild_metrics_output']}; metric values differing before/after: "
        f"{data['metrics_differing_after_rebuild']} of {data['metrics']}"
    )
    print("== Verdict: " + ("every target met" if not missed else "MISSED: " + "; ".join(missed)))


def main() -> int:
    args = parse_args()
    missing = missing_binaries()
    if missing:
        print(f"cannot run: not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    run_dir = RESULTS / f"faults-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="zeeguu-faults-"))
    db = PrivateMariaDB(work / "mariadb")
    db.directory.mkdir()
    redis = PrivateRedis(work)
    app: AppServer | None = None
    try:
        log(f"MariaDB: installing into {db.datadir}, port {db.port}")
        db.install()
        db.start()
        redis.start()
        env = app_environment(
            DATABASE_URL=db.create_database(DATABASE),
            REDIS_URL=redis.url(),
            THROTTLING="on",
            THROTTLE_AUTH="100000/min",
            THROTTLE_SEARCH="100000/min",
            THROTTLE_EVENTS="100000/min",
        )
        log("migrate, loaddata default_badges")
        prepare_database(env)
        app = AppServer(env, directory=work, workers=args.workers, log_level="info")
        app.start()
        log(f"gunicorn: {args.workers} workers on {app.base_url}; signing up {args.learners} learners")
        tokens = register_learners(app.base_url, args.learners, prefix="faults-bench")

        phases = [
            run_phase(
                "Database",
                app,
                tokens,
                args,
                stop=lambda: db.stop(kill=not args.graceful),
                start=db.start,
                read_paths=READ_PATHS,
            )
        ]
        if not args.skip_redis:
            phases.append(
                run_phase(
                    "Redis",
                    app,
                    tokens,
                    args,
                    stop=redis.stop,
                    start=redis.start,
                    read_paths=(*READ_PATHS, "/api/users/?search=a"),
                )
            )
        log("data check: the activity log, then rebuild_metrics")
        data = data_check(db, env, phases)
        missed = verdict(phases, data, args.workers)
        print_report(phases, data, missed, args)
        summary = {"args": vars(args), "phases": phases, "data": data, "missed": missed}
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        return 1 if missed else 0
    finally:
        if app is not None:
            app.stop()
        redis.stop()
        db.stop()
        for path in (work / "gunicorn.log", db.log_path, redis.log_path):
            if path.exists():
                shutil.copy(path, run_dir / path.name)
        shutil.rmtree(work, ignore_errors=True)
        log(f"logs and summary in {run_dir}")


if __name__ == "__main__":
    sys.exit(main())
