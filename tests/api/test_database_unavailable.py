"""A lost database answers 503 with Retry-After, JSON under the API (SPEC §14), in process: the
errors are raised by patched code. ``tests/faults/`` kills a real MariaDB."""

import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from django.test import Client, RequestFactory, override_settings

from gamification.authentication import ClientTokenAuthentication
from gamification.services.db import is_database_unavailable
from gamification.views.errors import api_server_error

pytestmark = pytest.mark.django_db

GONE = OperationalError(2006, "MySQL server has gone away")


@pytest.fixture
def failing_auth(monkeypatch):
    """Token authentication raises ``error`` (set by the test), as it would with the database lost."""
    state = {"error": GONE}

    def authenticate_credentials(self, key):
        raise state["error"]

    monkeypatch.setattr(ClientTokenAuthentication, "authenticate_credentials", authenticate_credentials)
    return state


def get_me(client: Client):
    return client.get("/api/me/", HTTP_AUTHORIZATION="Token " + "a" * 40)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(2002, "Can't connect to server on '127.0.0.1' (115)"),
        OperationalError(2003, "Can't connect to MySQL server on 'db' (111)"),
        GONE,
        OperationalError(2013, "Lost connection to server during query"),
        OperationalError(1927, "Connection was killed"),
        OperationalError(1053, "Server shutdown in progress"),
        InterfaceError(0, ""),
        OperationalError("unable to open database file"),
        OperationalError("database is locked"),
    ],
)
def test_lost_database_is_a_json_503_with_retry_after(failing_auth, error):
    failing_auth["error"] = error
    response = get_me(Client(raise_request_exception=False))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The service is temporarily unavailable; try again shortly."}
    assert response["Retry-After"] == "5"


@override_settings(DEBUG=True)
def test_lost_database_is_json_in_debug_mode_too(failing_auth):
    # Django's debug page (HTML) would answer an uncaught error; the middleware answers first.
    response = get_me(Client(raise_request_exception=False))
    assert response.status_code == 503
    assert response.json()["detail"]


def test_lost_database_on_a_post_is_a_503_too(failing_auth):
    response = Client(raise_request_exception=False).post(
        "/api/events/",
        {"type": "exercise_answered", "correct": True, "language": "de"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Token " + "a" * 40,
    )
    assert response.status_code == 503
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(1054, "Unknown column 'x' in 'field list'"),
        OperationalError("no such table: gamification_nothing"),
        ProgrammingError(1064, "You have an error in your SQL syntax"),
        OperationalError(1045, "Access denied for user 'zeeguu'@'10.0.0.2'"),
    ],
)
def test_a_programming_or_configuration_error_stays_a_500(failing_auth, error):
    failing_auth["error"] = error
    response = get_me(Client(raise_request_exception=False))
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}
    assert "Retry-After" not in response


def test_admin_gets_an_html_503(monkeypatch):
    def get_user(request):
        raise GONE

    monkeypatch.setattr("django.contrib.auth.get_user", get_user)
    response = Client(raise_request_exception=False).get("/admin/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Service unavailable" in response.content
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("path", "json"), [("/api/me/", True), ("/zeeguu/session", True), ("/readyz", True), ("/admin/", False)]
)
def test_lost_database_outside_a_view_is_a_503_from_the_server_error_handler(path, json):
    # A middleware that loses the database: Django hands the error to handler500.
    request = RequestFactory().get(path)
    try:
        raise GONE
    except OperationalError:
        response = api_server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("application/json" if json else "text/html")


def test_the_server_error_handler_without_a_database_error_is_a_500():
    try:
        raise ValueError("a bug")
    except ValueError:
        response = api_server_error(RequestFactory().get("/api/me/"))
    assert response.status_code == 500


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError(2006, "gone away"), True),
        (OperationalError(2055, "Lost connection to server at 'reading initial communication packet'"), True),
        (OperationalError(1040, "Too many connections"), True),
        (OperationalError(1213, "Deadlock found"), False),  # retried by atomic_with_retry instead
        (OperationalError(1205, "Lock wait timeout exceeded"), False),
        (OperationalError("disk I/O error"), True),
        (OperationalError("near 'SELEC': syntax error"), False),
        (IntegrityError(1062, "Duplicate entry"), False),
        (DataError(1406, "Data too long"), False),
        (ValueError("not a database error"), False),
        (None, False),
    ],
)
def test_is_database_unavailable(error, unavailable):
    assert is_database_unavailable(error) is unavailable
