"""How the Zeeguu-compatible paths are reached and how they fail: doubled slashes served
directly, every error ``{"message": ...}`` (SPEC §12, §14), the session never logged, a prefix of
the operator's choice."""

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from gamification.zeeguu import views as compat_views
from tests.factories import UserFactory, make_friends
from tests.zeeguu.conftest import frontend_for, message_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def me():
    return UserFactory(username="me_user")


class TestDoubleSlashes:
    @pytest.mark.parametrize(
        "path", ["//my_badges", "//friend_badges/pal", "//badges/count_unseen", "//student_info", "///my_badges"]
    )
    def test_the_frontends_double_slash_reads_are_served_directly(self, me, path):
        make_friends(me, UserFactory(username="pal"))
        response = frontend_for(me).get(path)
        assert response.status_code == 200, response.content
        json.loads(response.content)

    def test_the_double_slash_post_is_served_directly(self, me):
        response = frontend_for(me).post_empty("//badges/mark_all_seen")
        assert (response.status_code, response.json()) == (200, {"updated": True})

    @pytest.mark.parametrize("path", ["/my_badges", "/badges//count_unseen", "//badges///mark_all_seen"])
    def test_single_and_inner_repeated_slashes_reach_the_same_views(self, me, path):
        client = frontend_for(me)
        response = client.post_empty(path) if "mark_all_seen" in path else client.get(path)
        assert response.status_code == 200

    def test_other_paths_keep_their_slashes(self, me):
        client = frontend_for(me).client
        assert client.get("/api//avatar-options/").status_code == 404


class TestErrors:
    @pytest.mark.parametrize("path", ["/no_such_call", "/my_friends/", "/friends_of/a/b", "//nothing"])
    def test_an_unknown_path_is_a_json_404_message(self, me, path):
        assert message_of(frontend_for(me).get(path), 404) == "Not found."

    @override_settings(DEBUG=True)
    def test_an_unknown_path_is_json_in_debug_mode_too(self, me):
        assert message_of(frontend_for(me).get("/no_such_call"), 404) == "Not found."

    def test_a_wrong_method_is_a_405_message(self, me):
        response = frontend_for(me).get("/send_friend_request")
        assert "not allowed" in message_of(response, 405)
        assert "POST" in response["Allow"]

    def test_a_disallowed_host_is_a_400_message(self, me):
        response = frontend_for(me).get("/my_friends", HTTP_HOST="attacker.example")
        message_of(response, 400)

    def test_an_oversized_body_is_a_400_message(self, me, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = frontend_for(me).post_json("/send_friend_request", {"receiver_username": "x" * 2000})
        assert "larger than 1000 bytes" in message_of(response, 400)

    def test_deeply_nested_json_is_a_400_message(self, me):
        body = "[" * 5000 + "]" * 5000
        response = frontend_for(me).client.post(
            frontend_for(me).url("/send_friend_request"), data=body, content_type="application/json"
        )
        assert "nested deeper" in message_of(response, 400)

    def test_a_lost_database_is_a_503_message_with_retry_after(self, me, monkeypatch):
        def gone(*, user):
            raise OperationalError(2006, "MySQL server has gone away")

        monkeypatch.setattr(compat_views, "friend_list", gone)
        response = frontend_for(me).get("/my_friends")
        assert message_of(response, 503) == "The service is temporarily unavailable; try again shortly."
        assert response["Retry-After"] == "5"

    def test_an_unexpected_error_is_a_500_message(self, me, monkeypatch):
        def broken(*, user):
            raise RuntimeError("bug")

        monkeypatch.setattr(compat_views, "friend_list", broken)
        assert message_of(frontend_for(me).get("/my_friends"), 500) == "Server error."

    def test_the_api_keeps_drf_s_detail(self, me):
        assert Client().get("/api/me/").json() == {"detail": "Authentication credentials were not provided."}
        assert Client().get("/api/nothing/").json() == {"detail": "Not found."}


def test_the_session_is_never_logged(me, caplog):
    client = frontend_for(me)
    with caplog.at_level(logging.INFO, logger="gamification.request"):
        client.get("/search_users?query=me")
        client.get("//my_badges")
    records = [record for record in caplog.records if record.name == "gamification.request"]
    assert len(records) == 2
    for record in records:
        assert client.session not in record.getMessage()
        assert client.session not in json.dumps({key: str(value) for key, value in record.__dict__.items()})
    assert records[1].path == "/zeeguu/my_badges"


def test_the_compatible_paths_are_not_in_the_api_schema():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["paths"] and not any("zeeguu" in path or "my_friends" in path for path in schema["paths"])


def _run_python(code: str, tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(SQLITE_PATH=str(tmp_path / "db.sqlite3"), DJANGO_SETTINGS_MODULE="tests.settings", **env_vars)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_prefix_is_the_operators_choice(tmp_path):
    result = _run_python(
        """
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from django.test import Client
        from gamification.services.tokens import auth_token_issue
        from gamification.services.users import user_create
        session = auth_token_issue(user=user_create(email="a@example.com", password="x")).token
        client = Client(raise_request_exception=False)
        print(client.get(f"/gamification/zeeguu//badges/count_unseen?session={session}").content.decode())
        print(client.get(f"/zeeguu/validate?session={session}").status_code)
        print(client.get("/gamification/zeeguu/nothing").json())
        print(client.get("/zeeguu/nothing").status_code)
        """,
        tmp_path,
        ZEEGUU_COMPAT_PREFIX="/gamification/zeeguu/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0", "404", "{'message': 'Not found.'}", "404"]


@pytest.mark.parametrize("prefix", ["", "api", "a b", "x//y", "admin/zeeguu"])
def test_an_unusable_prefix_stops_the_start(tmp_path, prefix):
    result = _run_python("import django; django.setup()", tmp_path, ZEEGUU_COMPAT_PREFIX=prefix)
    assert result.returncode != 0
    assert "ZEEGUU_COMPAT_PREFIX" in result.stderr


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png;q=1, */*;q=0"])
def test_answers_are_json_whatever_accept_says(me, accept):
    response = frontend_for(me).get("/my_friends", HTTP_ACCEPT=accept)
    assert (response.status_code, response["Content-Type"], response.json()) == (200, "application/json", [])
    assert message_of(frontend_for(me).get("/friends_of/x/y", HTTP_ACCEPT=accept), 404)
