"""Sessions of the platform, checked against a real HTTP server on loopback that the tests start
(``ZEEGUU_SESSION_INTROSPECTION_URL``, docs/zeeguu.md)."""

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from gamification.models import User
from gamification.services.platform import platform_user_put
from gamification.services.tokens import auth_token_issue
from tests.factories import UserFactory
from tests.zeeguu.conftest import Frontend, message_of

pytestmark = pytest.mark.django_db

SESSION = "0123456789abcdef0123456789abcdef"  # upstream's shape: 32 hex characters


class PlatformStub:
    """The platform's introspection endpoint, answering as ``mode`` says, recording requests."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.sessions: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                stub.requests.append({"path": url.path, "query": parse_qs(url.query), "accept": self.headers["Accept"]})
                stub.answer(self, parse_qs(url.query).get("session", [""])[0])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/internal/session-info?client=gamification"

    def answer(self, handler: BaseHTTPRequestHandler, session: str) -> None:
        mode = self.mode
        if mode == "hang":
            self.release.wait(30)
            return
        if mode == "trickle":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.end_headers()
            for byte in b'{"user_id": "slow"}':
                if self.release.wait(0.3):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            return
        status, body = {
            "error": (500, b'{"error": "boom"}'),
            "malformed": (200, b"<html>not json</html>"),
            "no_user_id": (200, b'{"name": "Someone"}'),
            "bad_user_id": (200, json.dumps({"user_id": "x" * 65}).encode()),
            "list": (200, b'[{"user_id": "1"}]'),
            "redirect": (302, b""),
            "forbidden": (403, b""),
            "not_found": (404, b"no such session"),
        }.get(mode, (None, None))
        if status is None:
            if session in self.sessions:
                status, body = 200, json.dumps(self.sessions[session]).encode()
            else:
                status, body = 401, b'{"error": "unknown session"}'
        handler.send_response(status)
        if status == 302:
            handler.send_header("Location", "http://127.0.0.1:1/elsewhere")
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> "PlatformStub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def platform(settings):
    stub = PlatformStub().start()
    settings.ZEEGUU_SESSION_INTROSPECTION_URL = stub.url
    stub.sessions[SESSION] = {
        "user_id": "zeeguu-4711",
        "name": "Platform Pat",
        "email": "Pat@Example.com",
        "username": "pat_the_reader",
        "timezone": "Europe/Copenhagen",
    }
    yield stub
    stub.stop()


def details(session: str = SESSION):
    return Frontend(session).get("/get_user_details")


class TestKnownSessions:
    def test_a_platform_session_provisions_the_user_by_external_id(self, platform):
        response = details()

        assert response.status_code == 200
        user = User.objects.get(external_id="zeeguu-4711")
        assert (user.name, user.email, user.username, user.timezone) == (
            "Platform Pat",
            "pat@example.com",
            "pat_the_reader",
            "Europe/Copenhagen",
        )
        assert response.json()["username"] == "pat_the_reader"
        (request,) = platform.requests
        assert request["path"] == "/internal/session-info"
        assert request["query"] == {"client": ["gamification"], "session": [SESSION]}
        assert request["accept"] == "application/json"

    def test_an_answer_is_cached_the_platform_is_asked_once_for_two_calls(self, platform):
        assert details().status_code == 200
        assert Frontend(SESSION).get("/my_friends").status_code == 200
        assert len(platform.requests) == 1

    def test_the_cache_lasts_60_seconds(self, platform):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            details()
        with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
            details()
        assert len(platform.requests) == 1
        with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
            details()
        assert len(platform.requests) == 2
        assert User.objects.filter(external_id="zeeguu-4711").count() == 1

    def test_a_known_external_id_is_that_user_and_their_profile_is_left_alone(self, platform):
        existing, _ = platform_user_put(external_id="zeeguu-4711", name="Pat (here)", username="pat_here")

        response = details()

        assert response.json()["username"] == "pat_here"
        assert User.objects.count() == 1
        existing.refresh_from_db()
        assert existing.name == "Pat (here)"

    def test_two_sessions_are_two_users(self, platform):
        platform.sessions["f" * 32] = {"user_id": 99}  # an integer id is accepted
        first, second = details().json(), details("f" * 32).json()
        assert first["username"] == "pat_the_reader"
        assert second["username"] != first["username"]
        assert User.objects.get(external_id="99").username == second["username"]

    def test_a_profile_value_this_service_refuses_is_left_out(self, platform):
        UserFactory(username="PAT_the_reader")
        platform.sessions[SESSION]["timezone"] = "Mars/Olympus"

        response = details()

        assert response.status_code == 200
        user = User.objects.get(external_id="zeeguu-4711")
        assert user.username.lower() != "pat_the_reader"
        assert (user.timezone, user.name) == ("UTC", "Platform Pat")

    def test_a_deleted_user_is_asked_about_again(self, platform):
        details()
        User.objects.get(external_id="zeeguu-4711").delete()
        assert details().status_code == 200
        assert len(platform.requests) == 2

    def test_the_session_value_never_appears_in_a_cache_key(self, platform):
        details()
        keys = list(cache._cache)  # the local-memory cache of the tests
        assert keys and not any(SESSION in key for key in keys)

    def test_a_token_of_this_service_is_never_sent_to_the_platform(self, platform):
        token = auth_token_issue(user=UserFactory(username="local_user")).token

        response = details(token)

        assert response.json()["username"] == "local_user"
        assert platform.requests == []


class TestUnknownSessions:
    @pytest.mark.parametrize("mode", ["ok", "not_found"])  # "ok" answers 401 for sessions it does not know
    def test_an_unknown_session_is_a_401_and_cached_briefly(self, platform, mode):
        platform.mode = mode
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            message_of(details("e" * 32), 401)
            message_of(details("e" * 32), 401)
        assert len(platform.requests) == 1
        with time_machine.travel(start + dt.timedelta(seconds=11), tick=False):
            message_of(details("e" * 32), 401)
        assert len(platform.requests) == 2
        assert not User.objects.exists()

    def test_without_the_setting_nobody_is_asked(self, platform, settings):
        settings.ZEEGUU_SESSION_INTROSPECTION_URL = ""
        message_of(details(), 401)
        assert platform.requests == []


class TestPlatformFailures:
    @pytest.mark.parametrize(
        "mode", ["error", "malformed", "no_user_id", "bad_user_id", "list", "redirect", "forbidden"]
    )
    def test_an_answer_that_is_not_the_agreed_one_is_a_503_never_a_user(self, platform, mode):
        platform.mode = mode

        response = details()

        assert "cannot confirm this session" in message_of(response, 503)
        assert response["Retry-After"] == "5"
        assert not User.objects.exists()

    def test_failures_are_not_cached(self, platform):
        platform.mode = "error"
        assert details().status_code == 503
        platform.mode = "ok"
        assert details().status_code == 200
        assert len(platform.requests) == 2

    @pytest.mark.parametrize("mode", ["hang", "trickle"])
    def test_a_platform_that_does_not_answer_in_time_is_a_503_within_the_timeout(self, platform, settings, mode):
        settings.ZEEGUU_SESSION_INTROSPECTION_TIMEOUT = 0.5
        platform.mode = mode

        started = time.monotonic()
        response = details()
        elapsed = time.monotonic() - started

        message_of(response, 503)
        assert 0.4 <= elapsed < 2.5
        assert not User.objects.exists()

    def test_the_default_timeout_is_two_seconds(self, platform, settings):
        assert settings.ZEEGUU_SESSION_INTROSPECTION_TIMEOUT == 2
        platform.mode = "hang"

        started = time.monotonic()
        message_of(details(), 503)
        assert 1.9 <= time.monotonic() - started < 4.5

    def test_a_refused_connection_is_a_503(self, settings):
        stub = PlatformStub()  # bound, then closed: nothing listens on its port
        url = stub.url
        stub.server.server_close()
        settings.ZEEGUU_SESSION_INTROSPECTION_URL = url

        message_of(details(), 503)
