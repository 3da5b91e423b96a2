"""How the service behaves as deployed: settings read from the environment, start-up warnings,
``check --deploy``, security headers and log output. Most run the settings in a fresh process."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV_KEYS = {
    "DEBUG",
    "SECRET_KEY",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "HTTPS",
    "LOG_FORMAT",
    "SQLITE_PATH",
    "THROTTLING",
    "ALLOWED_HOSTS",
}


def run_python(code: str, env: dict[str, str], *, timeout: int = 120) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in ENV_KEYS}
    return subprocess.run(
        [sys.executable, "-c", code],
        # WhiteNoise warns when collectstatic has not run (it always has in production).
        env={"SECRET_KEY": secrets.token_urlsafe(50), "PYTHONWARNINGS": "ignore:No directory at", **clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'zeeguu_site.settings'; django.setup()\n"


# SQLite, however it is chosen -------------------------------------------------------------------
@pytest.mark.parametrize("how", ["default", "url"])
def test_sqlite_gets_immediate_transactions_wal_and_a_busy_timeout_however_it_is_chosen(tmp_path, how):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"} if how == "url" else {}
    code = SETUP + "from django.conf import settings; import json; print(json.dumps(settings.DATABASES['default']))"

    result = run_python(code, env)

    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] >= 20
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


CONCURRENT_SIGN_UPS = (
    SETUP
    + """
import threading
from django.core.management import call_command
from django.db import connection
from django.test import Client

call_command("migrate", verbosity=0)
N = 12
barrier = threading.Barrier(N)
statuses = []

def sign_up(i):
    client = Client()
    barrier.wait()
    try:
        response = client.post(
            "/api/auth/register/",
            {"email": f"learner{i}@example.com", "password": "a-long-and-unusual-passphrase-42"},
            content_type="application/json",
        )
        statuses.append(response.status_code)
    finally:
        connection.close()

threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(N)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
from gamification.models import User
print(sorted(statuses), User.objects.count())
"""
)


def test_concurrent_sign_ups_on_sqlite_chosen_by_url_all_succeed(tmp_path):
    # Real password hashing (PBKDF2), 12 threads: with the default DEFERRED transactions and no busy
    # timeout, or with the hash computed inside the write transaction, many of these failed with
    # "database is locked".
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "THROTTLING": "off"}

    result = run_python(CONCURRENT_SIGN_UPS, env, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"{[201] * 12} 12", result.stderr[-3000:]


# Rate limits shared by every process ------------------------------------------------------------
def test_the_wsgi_entry_point_warns_when_rate_limits_would_be_per_process():
    code = "import zeeguu_site.wsgi"

    alone = run_python(code, {})
    shared = run_python(code, {"REDIS_URL": "redis://127.0.0.1:6379/0"})

    assert alone.returncode == 0 and shared.returncode == 0, alone.stderr + shared.stderr
    assert alone.stderr.count("Rate limits are kept in this process's memory") == 1
    assert "REDIS_URL" in alone.stderr
    assert "Rate limits are kept" not in shared.stderr


# check --deploy -----------------------------------------------------------------------------------
PRODUCTION = {
    "HTTPS": "1",
    "ALLOWED_HOSTS": "gamification.zeeguu.org",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_check_deploy_is_clean_with_https_and_production_settings(tmp_path):
    env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}

    result = run_python(
        SETUP + "from django.core.management import call_command; call_command('check', deploy=True)", env
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr, result.stdout + result.stderr


def test_check_deploy_warns_about_per_process_rate_limits(tmp_path):
    env = {**PRODUCTION, "REDIS_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}

    result = run_python(
        SETUP + "from django.core.management import call_command; call_command('check', deploy=True)", env
    )

    assert "gamification.W001" in result.stdout + result.stderr


def test_https_settings_redirect_and_send_hsts_but_let_health_probes_through(tmp_path):
    code = (
        SETUP
        + """
from django.conf import settings
print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE,
      settings.CSRF_COOKIE_SECURE, settings.SECURE_REDIRECT_EXEMPT)
"""
    )
    result = run_python(code, {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})

    assert result.returncode == 0, result.stderr
    redirect, hsts, session_secure, csrf_secure, exempt = result.stdout.strip().split(" ", 4)
    assert (redirect, session_secure, csrf_secure) == ("True", "True", "True")
    assert int(hsts) >= 31536000
    assert "healthz" in exempt and "readyz" in exempt


# Content-Security-Policy --------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_admin_and_docs_pages_send_a_content_security_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_admin_and_docs_pages_have_no_inline_scripts(client, path):
    # script-src 'self' forbids inline scripts: every <script> must load a file of this site.
    html = client.get(path).content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the page loads its scripts"
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), attributes
        source = re.search(r'src="([^"]+)"', attributes).group(1)
        assert not source.startswith(("http:", "https:", "//")), source


@pytest.mark.django_db
def test_the_docs_start_up_script_is_served_by_this_site(client):
    html = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', html).group(1).replace("&amp;", "&")

    response = client.get(script_url)

    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "SwaggerUIBundle" in response.content.decode()


# Logs ---------------------------------------------------------------------------------------------
REQUESTS = (
    SETUP
    + """
import logging, sys
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
call_command("migrate", verbosity=0)
setup_test_environment()
client = Client(raise_request_exception=False)
print("--start--", file=sys.stderr, flush=True)
client.get("/api/avatar-options/")
client.get("/api/nowhere/")
client.get("/api/me/")
client.post("/api/auth/login/", data="[[[", content_type="application/json")
client.get("/api/me/", HTTP_HOST="attacker.example")
logging.getLogger("gamification.test").error("one error")
"""
)


def log_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr[-3000:]
    return [line for line in result.stderr.split("--start--", 1)[1].splitlines() if line.strip()]


def test_every_request_and_every_error_is_logged_once(tmp_path):
    lines = log_lines(run_python(REQUESTS, {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}))

    assert len(lines) == 6, lines
    assert [line.split()[4:6] for line in lines[:5]] == [
        ["GET", "/api/avatar-options/"],
        ["GET", "/api/nowhere/"],
        ["GET", "/api/me/"],
        ["POST", "/api/auth/login/"],
        ["GET", "/api/me/"],
    ]
    assert [line.split()[6] for line in lines[:5]] == ["200", "404", "401", "400", "400"]
    assert "one error" in lines[5]


def test_log_format_json_prints_one_json_object_a_line(tmp_path):
    result = run_python(REQUESTS, {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "LOG_FORMAT": "json"})

    entries = [json.loads(line) for line in log_lines(result)]

    assert len(entries) == 6
    assert {entry["logger"] for entry in entries[:5]} == {"gamification.request"}
    assert [entry["status"] for entry in entries[:5]] == [200, 404, 401, 400, 400]
    assert all(isinstance(entry["duration_ms"], int | float) for entry in entries[:5])
    assert entries[5]["level"] == "ERROR" and entries[5]["message"] == "one error"


SERVER_ERROR = (
    SETUP
    + """
import sys
from unittest import mock
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
call_command("migrate", verbosity=0)
setup_test_environment()
client = Client(raise_request_exception=False)
print("--start--", file=sys.stderr, flush=True)
with mock.patch("gamification.views.accounts.AvatarOptionsView.get", side_effect=RuntimeError("boom")):
    print(client.get("/api/avatar-options/").status_code, file=sys.stderr)
"""
)


def test_a_server_error_is_one_json_line_with_its_traceback(tmp_path):
    result = run_python(SERVER_ERROR, {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "LOG_FORMAT": "json"})

    lines = log_lines(result)
    entries = [json.loads(line) for line in lines[:-1]]

    assert lines[-1] == "500"
    assert [(entry["logger"], entry["level"]) for entry in entries] == [
        ("django.request", "ERROR"),
        ("gamification.request", "INFO"),
    ]
    assert "RuntimeError: boom" in entries[0]["exception"]


DATABASE_LOST = (
    SETUP
    + """
import sys
from unittest import mock
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.test.utils import setup_test_environment
call_command("migrate", verbosity=0)
setup_test_environment()
client = Client(raise_request_exception=False)
print("--start--", file=sys.stderr, flush=True)
lost = OperationalError(2006, "MySQL server has gone away")
with mock.patch("gamification.views.accounts.AvatarOptionsView.get", side_effect=lost):
    print(client.get("/api/avatar-options/").status_code, file=sys.stderr)
"""
)


def test_a_database_outage_503_is_one_request_line(tmp_path):
    lines = log_lines(run_python(DATABASE_LOST, {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}))

    assert lines[-1] == "503"
    assert len(lines) == 2, lines
    assert "GET /api/avatar-options/ 503" in lines[0]
