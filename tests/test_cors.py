"""CORS (SPEC §12): the origins in ``CORS_ALLOWED_ORIGINS`` may call /api/ and the
Zeeguu-compatible paths from a browser, with credentials; no other origin, no other path."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from gamification.services.tokens import auth_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ALLOWED = "https://www.zeeguu.org"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED, "http://localhost:3000"]


def preflight(path: str, origin: str, method: str = "POST"):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


@pytest.mark.parametrize(
    "path",
    ["/zeeguu/send_friend_request?session=abc", "/zeeguu//badges/mark_all_seen", "/api/friend-requests/"],
)
def test_an_allowed_origin_passes_the_preflight_with_credentials(path):
    response = preflight(path, ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"]


def test_an_allowed_origin_reads_answers_and_errors():
    session = auth_token_issue(user=UserFactory()).token
    client = Client()
    answers = [
        client.get(f"/zeeguu//badges/count_unseen?session={session}", HTTP_ORIGIN=ALLOWED),
        client.get("/zeeguu/validate", HTTP_ORIGIN=ALLOWED),  # a 401
        client.get("/zeeguu/nothing", HTTP_ORIGIN=ALLOWED),  # a 404
        client.get("/api/me/", HTTP_ORIGIN=ALLOWED, HTTP_AUTHORIZATION=f"Token {session}"),
    ]
    assert [response.status_code for response in answers] == [200, 401, 404, 200]
    for response in answers:
        assert response["Access-Control-Allow-Origin"] == ALLOWED
        assert response["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://evil.example", "https://www.zeeguu.org.evil.example", "null"])
def test_another_origin_gets_no_cors_headers(origin):
    responses = [preflight("/zeeguu/send_friend_request", origin), Client().get("/zeeguu/validate", HTTP_ORIGIN=origin)]
    for response in responses:
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize("path", ["/admin/login/", "/healthz", "/readyz", "/"])
def test_other_paths_get_no_cors_headers_even_for_an_allowed_origin(path):
    for response in (Client().get(path, HTTP_ORIGIN=ALLOWED), preflight(path, ALLOWED, "GET")):
        assert "Access-Control-Allow-Origin" not in response


def test_the_origins_come_from_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CORS_ALLOWED_ORIGINS=" https://www.zeeguu.org, http://localhost:3000/ ,",
        ZEEGUU_COMPAT_PREFIX="compat",
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CORS_ALLOWED_ORIGINS); print(settings.CORS_URLS_REGEX); "
        "from django.core.management import call_command; call_command('check')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['https://www.zeeguu.org', 'http://localhost:3000']"
    assert lines[1] == "^/(api|compat)/"
