"""Fuzz the REST API from its OpenAPI schema with schemathesis: no input may produce a 500, and
every response must match the documented schema (status codes, content type, body).

Run from the project root (takes a few minutes; needs the dev requirements, which pin
schemathesis):

    .venv/bin/python bench/fuzz_api.py
    # fewer or more examples per operation, another seed, keep the database and reports:
    .venv/bin/python bench/fuzz_api.py --max-examples 20 --seed 7 --keep
    # only some operations (a regex on the path), e.g. while fixing one endpoint:
    .venv/bin/python bench/fuzz_api.py --include-path-regex '^/api/me/'

It never touches the development database: everything happens in a throwaway SQLite database in
a fresh temporary directory (``SQLITE_PATH``), with ``DEBUG=1`` and ``THROTTLING=off``:

1. ``migrate``, ``loaddata default_badges``;
2. a ``manage.py shell`` snippet creates learners: ``fuzz_learner`` (friends with ``fuzz_friend``
   and ``fuzz_pal``, one friend request received from ``fuzz_stranger`` and one sent to
   ``fuzz_other``), and ``fuzz_doomed``, whose account the destructive run deletes;
3. ``create_classroom`` twice: ``fuzz_learner`` teaches one and, through the API, joins the other
   as a student; ``create_service_account fuzz-platform`` gives the service account's token;
4. ``runserver`` on a free loopback port (nothing but 127.0.0.1 is ever contacted), tokens from
   ``POST /api/auth/login/``;
5. schemathesis (``--checks all``, all phases, ``--max-examples`` per operation and phase, a fixed
   ``--seed``) in three runs, with ``bench/fuzz_hooks.py`` swapping some generated values for real
   ones (recent event times, known languages, usernames, classrooms) so that schema-valid cases
   get past validation, and ``bench/schemathesis.toml`` listing, with reasons, the operations
   whose schema-valid requests may still get a 400 (wrong password, an event older than 30 days):

   - ``learner``: every operation as ``fuzz_learner``, except ``DELETE /api/me/``,
     ``POST /api/auth/logout/`` and ``POST /api/auth/logout-all/`` (they would destroy the fuzzing
     user's account or token);
   - ``service``: ``POST /api/events/`` as the service account (which may name other users);
   - ``destructive``: ``DELETE /api/me/`` and both logouts as ``fuzz_doomed``
     (after the first success its token is gone, so the rest exercises the 401 paths).

Then the server stops and a summary is printed (operations and test cases per run, failures, and
any "Internal Server Error" in the server log); the exit status is non-zero when any run failed.
Reports (JUnit XML per run) and the server log are in the temporary directory, kept with --keep
or when something failed. Replay a failure with the curl line schemathesis prints.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# Per-operation exceptions to positive_data_acceptance, each with its reason.
CONFIG_FILE = ROOT / "bench" / "schemathesis.toml"
# Swaps some generated values for real ones (recent times, known languages and usernames).
HOOKS_FILE = ROOT / "bench" / "fuzz_hooks.py"
HOST = "127.0.0.1"
PASSWORD = "fuzz-Correct-Horse-42"  # throwaway accounts in a throwaway database
LEARNER_EMAIL = "fuzz.learner@example.com"
DOOMED_EMAIL = "fuzz.doomed@example.com"
# Operations that would destroy the learner's account or token: they get their own user.
DESTRUCTIVE_OPERATIONS = ("me_destroy", "auth_logout_create", "auth_logout_all_create")
# Lines of schemathesis' own summary.
TEST_CASES_LINE = re.compile(r"^\s*(\d+) generated")
OPERATIONS_LINE = re.compile(r"^\s*Tested: (\d+)")

SETUP_SNIPPET = f"""
import json
from gamification.services.friends import friend_request_accept, friend_request_send
from gamification.services.users import user_create

users = {{}}
for username, email in [
    ("fuzz_learner", {LEARNER_EMAIL!r}),
    ("fuzz_friend", "fuzz.friend@example.com"),
    ("fuzz_pal", "fuzz.pal@example.com"),
    ("fuzz_stranger", "fuzz.stranger@example.com"),
    ("fuzz_other", "fuzz.other@example.com"),
    ("fuzz_doomed", {DOOMED_EMAIL!r}),
]:
    users[username] = user_create(email=email, password={PASSWORD!r}, name=username.replace("_", " ").title(),
                                  username=username, timezone="Europe/Copenhagen")
learner = users["fuzz_learner"]
for friend in ("fuzz_friend", "fuzz_pal"):
    request = friend_request_send(sender=learner, receiver_username=friend)
    friend_request_accept(request_id=request.pk, acting_user=users[friend])
friend_request_send(sender=users["fuzz_stranger"], receiver_username="fuzz_learner")
friend_request_send(sender=learner, receiver_username="fuzz_other")
from gamification.models import Language
print(json.dumps({{"usernames": sorted(users), "languages": sorted(Language.objects.values_list("code", flat=True))}}))
"""


@dataclass
class Run:
    name: str
    token: str
    args: list[str]
    paths: tuple[str, ...] = ()  # the paths of the operations it is limited to; () for all
    exit_code: int | None = None
    operations: int = 0
    test_cases: int = 0
    failed_operations: int = 0
    errors: int = 0
    seconds: float = 0.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=40, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=20250101, help="hypothesis seed (reproducible runs)")
    parser.add_argument("--workers", default="1", help="schemathesis workers (runserver is threaded)")
    parser.add_argument("--include-path-regex", help="only operations whose path matches this regex")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, reports)")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


def api(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(f"{base}{path}", method=method)  # noqa: S310 (loopback only)
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, data=data, timeout=30) as response:  # noqa: S310
        return json.loads(response.read() or b"{}")


def wait_for_server(base: str, server: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server exited early; see {log}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/schema/?format=json", timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"The server did not answer within {timeout:.0f}s; see {log}")


def junit_counts(path: Path) -> tuple[int, int]:
    """Operations with a failing check, and operations that errored, from a JUnit report."""
    if not path.exists():
        return 0, 0
    root = ET.parse(path).getroot()  # noqa: S314 (our own report)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return sum(int(s.get("failures", 0)) for s in suites), sum(int(s.get("errors", 0)) for s in suites)


def schemathesis(run: Run, *, base: str, options: argparse.Namespace, workdir: Path, env: dict[str, str]) -> None:
    report = workdir / f"junit-{run.name}.xml"
    command = [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(CONFIG_FILE),
        "run",
        f"{base}/api/schema/?format=json",
        "--url",
        base,
        "--header",
        f"Authorization: Token {run.token}",
        "--checks",
        "all",
        "--max-examples",
        str(options.max_examples),
        "--seed",
        str(options.seed),
        "--workers",
        options.workers,
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--report-dir",
        str(workdir / "reports"),
        "--continue-on-failure",
        "--no-color",
        *run.args,
    ]
    if options.include_path_regex:
        # Include filters add up (either matches), exclusions narrow: exclude every other path.
        command += ["--exclude-path-regex", f"^(?!.*(?:{options.include_path_regex}))"]
    print(f"\n=== schemathesis: {run.name} run ===", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (the venv's schemathesis, fixed arguments)
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if match := TEST_CASES_LINE.search(line):
            run.test_cases = int(match.group(1))
        if match := OPERATIONS_LINE.search(line):
            run.operations = int(match.group(1))
    run.exit_code = process.wait()
    run.seconds = time.monotonic() - started
    run.failed_operations, run.errors = junit_counts(report)


def main() -> int:
    options = parse_args()
    if not (VENV_BIN / "schemathesis").exists():
        sys.exit("schemathesis is missing: .venv/bin/pip install -r requirements-dev.txt")
    workdir = Path(tempfile.mkdtemp(prefix="zeeguu-fuzz-"))
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        SQLITE_PATH=str(workdir / "fuzz.sqlite3"),
        DEBUG="1",
        THROTTLING="off",
        MEDIA_ROOT=str(workdir / "media"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    print(f"Working in {workdir}", flush=True)

    manage(env, "migrate", "--noinput")
    manage(env, "loaddata", "default_badges")
    known = json.loads(last_line(manage(env, "shell", "-c", SETUP_SNIPPET)))
    taught_id, taught_code = last_line(
        manage(env, "create_classroom", "Fuzz German", "--language", "de", "--teacher", "fuzz_learner")
    ).split()
    joined_id, joined_code = last_line(
        manage(env, "create_classroom", "Fuzz French", "--language", "fr", "--teacher", "fuzz_friend")
    ).split()
    service_token = last_line(manage(env, "create_service_account", "fuzz-platform"))
    hooks_env = {
        "SCHEMATHESIS_HOOKS": str(HOOKS_FILE),
        "FUZZ_USERNAMES": ",".join(known["usernames"]),
        "FUZZ_LANGUAGES": ",".join(known["languages"]),
        "FUZZ_CLASSROOM_IDS": f"{taught_id},{joined_id}",
        "FUZZ_INVITE_CODES": f"{taught_code},{joined_code}",
    }

    port = free_port()
    base = f"http://{HOST}:{port}"
    log = workdir / "server.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
            [str(VENV_BIN / "python"), "manage.py", "runserver", f"{HOST}:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    runs: list[Run] = []
    try:
        wait_for_server(base, server, log)
        learner_token = api(base, "POST", "/api/auth/login/", {"email": LEARNER_EMAIL, "password": PASSWORD})["token"]
        doomed_token = api(base, "POST", "/api/auth/login/", {"email": DOOMED_EMAIL, "password": PASSWORD})["token"]
        api(base, "POST", "/api/classrooms/join/", {"invite_code": joined_code}, token=learner_token)
        print(f"Server on {base}; fuzz_learner teaches classroom {taught_id} and studies in {joined_id}", flush=True)

        destructive = [arg for operation in DESTRUCTIVE_OPERATIONS for arg in ("--exclude-operation-id", operation)]
        runs = [
            Run("learner", learner_token, destructive),
            Run("service", service_token, ["--include-operation-id", "events_create"], ("/api/events/",)),
            Run(
                "destructive",
                doomed_token,
                [arg for operation in DESTRUCTIVE_OPERATIONS for arg in ("--include-operation-id", operation)],
                ("/api/me/", "/api/auth/logout/", "/api/auth/logout-all/"),
            ),
        ]
        if options.include_path_regex:
            wanted = re.compile(options.include_path_regex)
            runs = [run for run in runs if not run.paths or any(wanted.search(path) for path in run.paths)]
        for run in runs:
            schemathesis(run, base=base, options=options, workdir=workdir, env={**os.environ, **hooks_env})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    server_errors = log.read_text().count("Internal Server Error")
    print("\n=== Summary ===")
    for run in runs:
        status = "passed" if run.exit_code == 0 else f"FAILED (exit {run.exit_code})"
        print(
            f"{run.name:12} {status:18} {run.operations} operations, {run.test_cases} test cases, "
            f"{run.failed_operations} operations with failures, {run.errors} errored, {run.seconds:.0f}s"
        )
    print(f"Server log: {server_errors} 'Internal Server Error' lines")
    failed = server_errors > 0 or any(run.exit_code != 0 for run in runs)
    if options.keep or failed:
        print(f"Database, reports and server log kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
