"""Real servers of our own for the fault tests (``tests/faults/``) and ``bench/faults.py``.

- ``PrivateMariaDB``: ``mariadb-install-db`` into a temporary data directory, then ``mariadbd``
  on a free port of 127.0.0.1 with its own socket, pid file and error log (never the shared
  server on 3306), root without a password. ``stop()`` (SIGTERM, or SIGKILL with ``kill=True``)
  and ``start()`` again on the same port and data: the outage the tests cause.
- ``PrivateRedis``: ``redis-server`` on a free port, nothing saved to disk.
- ``AppServer``: the project under gunicorn (sync workers) with the settings the environment
  gives (``app_environment``), its stderr in a file the tests read.
- ``SilentListener``: a port that accepts connections and never answers (a hung host).
- ``Traffic``: reading and writing clients in threads, recording every answer; writers repeat
  a batch with its idempotency keys until it gets its 201. ``logged_keys`` and
  ``metric_values`` read the private database for the data check.

Every process is started in a session of its own and asked (Linux ``PR_SET_PDEATHSIG``) to die
with the process that started it, so that a crashed test run leaves nothing behind. Nothing here
imports pytest or Django: the benchmark uses it as it is.
"""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
RESERVED_PORTS = {3306, 5672, 6379, 8000}
PR_SET_PDEATHSIG = 1  # prctl(2)
MARIADBD_CANDIDATES = ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")
INSTALL_DB_CANDIDATES = ("mariadb-install-db", "mysql_install_db")


def find_binary(*candidates: str) -> str | None:
    """The first of ``candidates`` that exists (a name on PATH or an absolute path)."""
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def missing_binaries() -> list[str]:
    """The server programs this module needs and cannot find."""
    missing = []
    if not find_binary(*MARIADBD_CANDIDATES):
        missing.append("mariadbd")
    if not find_binary(*INSTALL_DB_CANDIDATES):
        missing.append("mariadb-install-db")
    if not find_binary("redis-server"):
        missing.append("redis-server")
    return missing


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (never one of the shared servers')."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the parent dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(command: list[str], *, log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def _stop(process: subprocess.Popen | None, *, kill: bool = False, group: bool = False, timeout: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    sig = signal.SIGKILL if kill else signal.SIGTERM
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=10)


def _wait_until(ready, *, what: str, process: subprocess.Popen, log_path: Path, timeout: float) -> float:
    """Poll ``ready()`` until it is true; return the seconds it took. Fail when the process exits."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log_path}:\n{_tail(log_path)}")
        with contextlib.suppress(Exception):
            if ready():
                return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s; see {log_path}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class PrivateMariaDB:
    """A MariaDB server of our own in ``directory`` (created by ``install()``).

    ``durable=False`` (the tests) writes the redo log to the operating system at each commit and
    flushes it once a second, without the doublewrite buffer: twice as fast to migrate, and a
    killed server still loses no committed transaction (only an operating-system crash would).
    ``durable=True`` (the benchmark) flushes at each commit, as production does.
    ``buffer_pool`` (InnoDB's buffer pool, e.g. ``"2G"``) and ``log_file`` (its redo log) default
    to a small test server's; a benchmark of bulk work gives them a production server's sizes."""

    def __init__(
        self, directory: Path, *, durable: bool = True, buffer_pool: str = "64M", log_file: str = "16M"
    ) -> None:
        self.directory = directory
        self.durable = durable
        self.buffer_pool, self.log_file = buffer_pool, log_file
        self.datadir = directory / "data"
        self.socket = directory / "mariadb.sock"
        self.pid_file = directory / "mariadb.pid"
        self.log_path = directory / "mariadb.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def _durability(self) -> list[str]:
        if self.durable:
            return []
        return ["--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0"]

    def _as_root(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        command = [
            find_binary(*INSTALL_DB_CANDIDATES) or "mariadb-install-db",
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",  # root@127.0.0.1 with an empty password
            "--skip-test-db",
            "--innodb-log-file-size=16M",
            *self._as_root(),
        ]
        with self.log_path.open("ab") as log:
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, timeout=120)

    def start(self, *, timeout: float = 60) -> float:
        """Start the server; return the seconds until it accepted a connection."""
        command = [
            find_binary(*MARIADBD_CANDIDATES) or "mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            f"--bind-address={HOST}",
            f"--socket={self.socket}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_path}",
            "--skip-name-resolve",
            f"--innodb-buffer-pool-size={self.buffer_pool}",
            f"--innodb-log-file-size={self.log_file}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            *self._durability(),
            *self._as_root(),
        ]
        self.process = _spawn(command, log_path=self.log_path)
        return _wait_until(self.ping, what="mariadbd", process=self.process, log_path=self.log_path, timeout=timeout)

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown) or, with ``kill``, SIGKILL (a crash: InnoDB recovers on start)."""
        _stop(self.process, kill=kill)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connect(self, database: str | None = None, *, timeout: int = 2):
        import MySQLdb

        options = {"db": database} if database else {}
        return MySQLdb.connect(host=HOST, port=self.port, user="root", connect_timeout=timeout, **options)

    def ping(self) -> bool:
        self.connect().close()
        return True

    def execute(self, *statements: str, database: str | None = None) -> list[tuple]:
        """Run ``statements`` (autocommit); return the rows of the last one."""
        connection = self.connect(database)
        try:
            connection.autocommit(True)
            cursor = connection.cursor()
            rows: list[tuple] = []
            for statement in statements:
                cursor.execute(statement)
                rows = list(cursor.fetchall())
            return rows
        finally:
            connection.close()

    def create_database(self, name: str) -> str:
        """Create ``name`` afresh (utf8mb4); return its ``DATABASE_URL``."""
        self.execute(
            f"DROP DATABASE IF EXISTS `{name}`",
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )
        return self.url(name)

    def url(self, database: str) -> str:
        return f"mysql://root@{HOST}:{self.port}/{database}"


class PrivateRedis:
    """A Redis server of our own: no persistence, stopped and started at will."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory / "redis.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 30) -> float:
        command = [
            find_binary("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.directory),
        ]
        self.process = _spawn(command, log_path=self.log_path)
        return _wait_until(
            self.ping, what="redis-server", process=self.process, log_path=self.log_path, timeout=timeout
        )

    def stop(self, *, kill: bool = False) -> None:
        _stop(self.process, kill=kill)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ping(self) -> bool:
        with socket.create_connection((HOST, self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"


class SilentListener:
    """A port of 127.0.0.1 that accepts TCP connections and never says a word: a server host
    that hangs (the kernel completes the handshake, nothing answers). A context manager."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> "SilentListener":
        self.sock.listen(64)
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


# The app ----------------------------------------------------------------------------------------


def app_environment(**settings: str) -> dict[str, str]:
    """The environment of a manage.py or gunicorn process of the project: the real settings
    (not the test suite's), debug off, no database, cache or broker but those given."""
    dropped = {"DEBUG", "DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="zeeguu_site.settings",
        SECRET_KEY="fault-tests-not-a-secret",
        ALLOWED_HOSTS=HOST,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def manage(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py args`` with ``env``; return its stdout (raise with its output on failure)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def prepare_database(env: Mapping[str, str]) -> None:
    """Migrate and load the badge catalogue, as a deployment does."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "loaddata", "default_badges", "-v", "0")


class AppServer:
    """``gunicorn zeeguu_site.wsgi`` with ``workers`` sync workers on a free port."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        directory: Path,
        workers: int = 2,
        name: str = "gunicorn",
        log_level: str = "warning",
    ) -> None:
        self.env = dict(env)
        self.workers = workers
        self.log_level = log_level
        self.port = free_port()
        self.log_path = directory / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, *, timeout: float = 60) -> float:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [
            str(gunicorn),
            "zeeguu_site.wsgi",
            "--workers",
            str(self.workers),
            "--bind",
            f"{HOST}:{self.port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            self.log_level,
        ]
        self.process = _spawn(command, log_path=self.log_path, env=self.env)
        return _wait_until(
            lambda: http(self.base_url, "GET", "/healthz", timeout=2).status == 200,
            what="gunicorn",
            process=self.process,
            log_path=self.log_path,
            timeout=timeout,
        )

    def stop(self) -> None:
        _stop(self.process, group=True, timeout=20)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


# HTTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)

    @property
    def is_json(self) -> bool:
        if not self.headers.get("content-type", "").startswith("application/json"):
            return False
        try:
            self.json()
        except ValueError:
            return False
        return True


def http(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: object | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> Answer:
    """One request to our own loopback server; any HTTP status is an answer, not an exception.
    A refused or timed-out connection raises ``OSError``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base_url}{path}", data=data, method=method)  # noqa: S310 (loopback)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            payload = response.read()
            status, response_headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        payload = error.read()
        status, response_headers = error.code, error.headers
    return Answer(
        status=status,
        headers={name.lower(): value for name, value in response_headers.items()},
        body=payload,
        seconds=time.monotonic() - started,
    )


def register_learners(base_url: str, count: int, *, prefix: str) -> list[str]:
    """Sign ``count`` learners up over the API, a few at a time; return their tokens."""
    from concurrent.futures import ThreadPoolExecutor

    def register(index: int) -> str:
        answer = http(
            base_url,
            "POST",
            "/api/auth/register/",
            body={"email": f"{prefix}{index}@example.com", "password": "fault-tests-password-1"},
            timeout=30,
        )
        if answer.status != 201:
            raise RuntimeError(f"register answered {answer.status}: {answer.body[:300]!r}")
        return answer.json()["token"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(register, range(count)))


# Traffic ----------------------------------------------------------------------------------------

READ_PATHS = ("/api/me/", "/api/badges/", "/api/streaks/", "/api/friends/")
EXPECTED = {"GET": 200, "POST": 201}
RETRY_PAUSE = 0.2  # seconds between two tries of a batch that got a 503 (shorter than Retry-After)


@dataclass(frozen=True)
class Outcome:
    """One request of ``Traffic``: ``status`` 0 when the connection itself failed."""

    at: float  # time.monotonic() when the answer came
    method: str
    path: str
    status: int
    is_json: bool
    retry_after: str | None
    seconds: float


@dataclass
class Batch:
    """One ``POST /api/events/`` batch, tried until it got a 201 (or the traffic gave up)."""

    keys: tuple[str, ...]
    statuses: list[int]
    duplicates_on_success: int | None = None


def _event(rng, key: str) -> dict:
    kind = rng.random()
    if kind < 0.4:
        return {"type": "exercise_answered", "correct": rng.random() < 0.7, "language": "de", "idempotency_key": key}
    if kind < 0.75:
        return {
            "type": "word_translated",
            "word": f"wort{rng.randrange(200)}",
            "language": "de",
            "idempotency_key": key,
        }
    return {
        "type": "practice",
        "kind": "reading",
        "duration_seconds": rng.randint(30, 300),
        "language": "de",
        "idempotency_key": key,
    }


class Traffic:
    """``readers`` clients sending reads of ``read_paths`` and ``writers`` clients sending event
    batches of 1-3 events with idempotency keys, each request as a random learner of ``tokens``. A batch
    that gets anything but a 201 is sent again, unchanged, until it gets one: a client that
    follows ``Retry-After`` (sooner, to measure recovery). Bounded: ``stop()`` ends the reads at
    once and gives a pending batch ``drain_seconds`` to get its 201."""

    def __init__(
        self,
        base_url: str,
        tokens: list[str],
        *,
        readers: int = 4,
        writers: int = 2,
        read_paths: tuple[str, ...] = READ_PATHS,
        think: float = 0.0,
        seed: int = 1,
        run_id: str = "run",
        timeout: float = 10,
    ) -> None:
        import random
        import threading

        self.base_url = base_url
        self.tokens = tokens
        self.read_paths = read_paths
        self.think = think
        self.run_id = run_id
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        self.batches: list[Batch] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._give_up_at = float("inf")
        self._threads = [
            threading.Thread(
                target=self._writer if index < writers else self._reader,
                args=(index, random.Random(seed * 1000 + index)),
                daemon=True,
            )
            for index in range(readers + writers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, *, drain_seconds: float = 20) -> None:
        self._give_up_at = time.monotonic() + drain_seconds
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=drain_seconds + self.timeout + 5)

    def _request(self, method: str, path: str, token: str, body: object | None = None) -> Answer | None:
        try:
            answer = http(self.base_url, method, path, token=token, body=body, timeout=self.timeout)
        except OSError:
            answer = None
        outcome = Outcome(
            at=time.monotonic(),
            method=method,
            path=path,
            status=answer.status if answer else 0,
            is_json=answer.is_json if answer else False,
            retry_after=answer.headers.get("retry-after") if answer else None,
            seconds=answer.seconds if answer else 0.0,
        )
        with self._lock:
            self.outcomes.append(outcome)
        return answer

    def _pause(self, rng) -> None:
        if self.think:
            time.sleep(rng.uniform(0, 2 * self.think))

    def _reader(self, index: int, rng) -> None:
        while not self._stop.is_set():
            self._request("GET", rng.choice(self.read_paths), rng.choice(self.tokens))
            self._pause(rng)

    def _writer(self, index: int, rng) -> None:
        sent = 0
        while not self._stop.is_set():
            sent += 1
            keys = tuple(f"{self.run_id}-{index}-{sent}-{n}" for n in range(rng.randint(1, 3)))
            self._send_batch(rng.choice(self.tokens), Batch(keys=keys, statuses=[]), rng)
            self._pause(rng)

    def _send_batch(self, token: str, batch: Batch, rng) -> None:
        with self._lock:
            self.batches.append(batch)
        body = {"events": [_event(rng, key) for key in batch.keys]}
        while time.monotonic() < self._give_up_at:
            answer = self._request("POST", "/api/events/", token, body)
            batch.statuses.append(answer.status if answer else 0)
            if answer is not None and answer.status == 201:
                batch.duplicates_on_success = answer.json()["duplicates"]
                return
            time.sleep(RETRY_PAUSE)


# The data check ---------------------------------------------------------------------------------


def metric_values(db: PrivateMariaDB, database: str) -> dict[tuple[int, int], int]:
    """Every non-zero metric value by (user id, activity type id)."""
    rows = db.execute(
        "SELECT user_id, activity_type_id, value FROM gamification_usermetric WHERE value <> 0", database=database
    )
    return {(user_id, type_id): value for user_id, type_id, value in rows}


def logged_keys(db: PrivateMariaDB, database: str) -> dict[str, int]:
    """How many times each idempotency key is in the activity log."""
    rows = db.execute(
        "SELECT idempotency_key, COUNT(*) FROM gamification_activityevent "
        "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key",
        database=database,
    )
    return dict(rows)
