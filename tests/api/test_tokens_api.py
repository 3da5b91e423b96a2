"""API tokens, one per client (SPEC §5): issue, use, renewal, expiry, logout and logout-all."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from gamification.models import ClientToken
from gamification.services.tokens import auth_token_issue
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TTL = dt.timedelta(days=30)
# Costs two queries when the token is not renewed: the token with its user, the count.
CHEAP_ENDPOINT = "/api/friend-requests/count/"


def login(user, user_agent: str = "tests") -> dict:
    response = APIClient().post(
        "/api/auth/login/",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 200, response.content
    return response.json()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def expiry_of(token: str) -> dt.datetime | None:
    return ClientToken.objects.get(digest=hash_token(token)).expiry


class TestIssue:
    def test_two_logins_give_two_different_tokens_that_both_work(self, user):
        phone, laptop = login(user)["token"], login(user)["token"]

        assert phone != laptop
        assert with_token(phone).get("/api/me/").status_code == 200
        assert with_token(laptop).get("/api/me/").status_code == 200
        assert ClientToken.objects.filter(user=user).count() == 2

    def test_login_answers_expires_at_ttl_from_now(self, user):
        body = login(user)

        assert set(body) == {"token", "expires_at", "user"}
        expires_at = dt.datetime.fromisoformat(body["expires_at"])
        assert expires_at.utcoffset() is not None  # ISO 8601 with an offset
        assert abs(expires_at - (timezone.now() + TTL)) < dt.timedelta(minutes=1)
        assert expires_at == expiry_of(body["token"])

    def test_register_answers_expires_at(self, api_client):
        response = api_client.post(
            "/api/auth/register/", {"email": "new@example.com", "password": "violet-Harbour-2931"}, format="json"
        )

        assert response.status_code == 201
        body = response.json()
        assert dt.datetime.fromisoformat(body["expires_at"]) == expiry_of(body["token"])
        assert with_token(body["token"]).get("/api/me/").json()["email"] == "new@example.com"

    def test_the_database_keeps_a_digest_never_the_key(self, user):
        token = login(user, user_agent="Firefox on a phone")["token"]

        row = ClientToken.objects.values().get(user=user)
        assert row["digest"] == hash_token(token) != token
        assert len(token) == 64
        assert not any(isinstance(value, str) and token in value for value in row.values())
        assert row["client_name"] == "Firefox on a phone"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {ClientToken._meta.db_table}")  # noqa: S608
            assert not any(token in str(value) for value in cursor.fetchone())

    @override_settings(TOKEN_TTL=dt.timedelta(hours=12))
    def test_token_ttl_setting_sets_the_expiry(self, user):
        expires_at = dt.datetime.fromisoformat(login(user)["expires_at"])
        assert abs(expires_at - (timezone.now() + dt.timedelta(hours=12))) < dt.timedelta(minutes=1)

    @override_settings(TOKEN_MAX_PER_USER=3)
    def test_beyond_the_cap_a_new_login_ends_the_oldest_token(self, user):
        tokens = []
        for minute in range(4):
            with time_machine.travel(timezone.now() + dt.timedelta(minutes=minute)):
                tokens.append(login(user)["token"])

        assert with_token(tokens[0]).get("/api/me/").status_code == 401
        assert all(with_token(token).get("/api/me/").status_code == 200 for token in tokens[1:])
        assert ClientToken.objects.filter(user=user).count() == 3

    def test_a_login_purges_the_users_expired_tokens_only(self, user):
        other = UserFactory()
        old = auth_token_issue(user=user).token
        others_old = auth_token_issue(user=other).token
        with time_machine.travel(timezone.now() + TTL + dt.timedelta(days=1)):
            login(user)

        assert not ClientToken.objects.filter(digest=hash_token(old)).exists()
        assert ClientToken.objects.filter(digest=hash_token(others_old)).exists()
        assert ClientToken.objects.filter(user=user).count() == 1


class TestExpiryAndRenewal:
    def test_an_expired_token_is_401_json_with_the_scheme(self, user):
        token = login(user)["token"]

        with time_machine.travel(timezone.now() + TTL + dt.timedelta(seconds=1)):
            response = with_token(token).get("/api/me/")

        assert response.status_code == 401
        assert response.json() == {"detail": "Token expired; log in again."}
        assert response["WWW-Authenticate"] == "Token"

    def test_a_token_unused_for_less_than_the_ttl_still_works(self, user):
        token = login(user)["token"]
        with time_machine.travel(timezone.now() + TTL - dt.timedelta(minutes=1)):
            assert with_token(token).get("/api/me/").status_code == 200

    def test_use_within_an_hour_does_not_move_the_expiry_and_costs_no_write(self, user, django_assert_num_queries):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = login(user)["token"]
        issued_expiry = expiry_of(token)

        # The token with its user, the count: no UPDATE.
        with time_machine.travel(start + dt.timedelta(minutes=59), tick=False), django_assert_num_queries(2):
            assert with_token(token).get(CHEAP_ENDPOINT).status_code == 200

        assert expiry_of(token) == issued_expiry

    def test_use_after_more_than_an_hour_renews_to_ttl_from_now_once(self, user, django_assert_num_queries):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = login(user)["token"]

        renewal = start + dt.timedelta(minutes=61)
        # The token, one UPDATE of its expiry, the count.
        with time_machine.travel(renewal, tick=False), django_assert_num_queries(3):
            assert with_token(token).get(CHEAP_ENDPOINT).status_code == 200
        assert expiry_of(token) == renewal + TTL

        # Within the hour after a renewal: no write again.
        with time_machine.travel(renewal + dt.timedelta(minutes=59), tick=False), django_assert_num_queries(2):
            assert with_token(token).get(CHEAP_ENDPOINT).status_code == 200
        assert expiry_of(token) == renewal + TTL

    def test_a_token_in_use_outlives_its_first_ttl(self, user):
        start = timezone.now()
        token = login(user)["token"]
        for days in (20, 40, 60, 80):
            with time_machine.travel(start + dt.timedelta(days=days)):
                assert with_token(token).get("/api/me/").status_code == 200
        with time_machine.travel(start + dt.timedelta(days=80) + TTL + dt.timedelta(minutes=5)):
            assert with_token(token).get("/api/me/").status_code == 401

    def test_renewal_never_shortens_a_longer_lived_token(self, user):
        issued = auth_token_issue(user=user, ttl=dt.timedelta(days=365))
        with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
            assert with_token(issued.token).get("/api/me/").status_code == 200
        assert expiry_of(issued.token) == issued.expires_at

    def test_the_token_of_an_inactive_user_is_401(self, user):
        token = login(user)["token"]
        user.is_active = False
        user.save(update_fields=["is_active"])

        response = with_token(token).get("/api/me/")

        assert response.status_code == 401
        assert response.json() == {"detail": "User inactive or deleted."}


class TestLogout:
    def test_logout_ends_only_the_calling_clients_token(self, user):
        phone, laptop = login(user)["token"], login(user)["token"]

        response = with_token(phone).post("/api/auth/logout/")

        assert response.status_code == 204
        assert with_token(phone).get("/api/me/").status_code == 401
        assert with_token(laptop).get("/api/me/").status_code == 200
        assert list(ClientToken.objects.filter(user=user).values_list("digest", flat=True)) == [hash_token(laptop)]

    def test_logout_all_ends_every_token_of_the_user_only(self, user):
        phone, laptop = login(user)["token"], login(user)["token"]
        other = UserFactory()
        others = login(other)["token"]

        response = with_token(phone).post("/api/auth/logout-all/")

        assert response.status_code == 204
        assert response.content == b""
        assert with_token(phone).get("/api/me/").status_code == 401
        assert with_token(laptop).get("/api/me/").status_code == 401
        assert not ClientToken.objects.filter(user=user).exists()
        assert with_token(others).get("/api/me/").status_code == 200

    def test_logout_all_from_a_session_ends_the_tokens_and_the_session(self, user):
        token = login(user)["token"]
        browser = APIClient()
        browser.force_login(user)

        assert browser.post("/api/auth/logout-all/").status_code == 204

        assert with_token(token).get("/api/me/").status_code == 401
        assert browser.get("/api/me/").status_code == 401

    @pytest.mark.parametrize("path", ["/api/auth/logout/", "/api/auth/logout-all/"])
    def test_logout_needs_a_login(self, api_client, path):
        response = api_client.post(path)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert "detail" in response.json()

    @pytest.mark.parametrize("path", ["/api/auth/logout/", "/api/auth/logout-all/"])
    def test_logout_with_an_ended_token_is_401(self, user, path):
        token = login(user)["token"]
        assert with_token(token).post(path).status_code == 204
        assert with_token(token).post(path).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token " + "0" * 64,
        "Token " + "f" * 40,
        "Token " + "a" * 5000,
        "Token caf\xe9",
        "Token \xff\xfe",
        "token ",
    ],
)
def test_malformed_or_unknown_tokens_are_401_json(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/me/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_another_scheme_is_anonymous_and_gets_401_with_the_token_scheme():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer something")

    response = client.get("/api/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_schema_documents_expires_at_and_logout_all(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    auth_output = components["AuthOutput"]
    assert set(auth_output["required"]) == {"token", "expires_at", "user"}
    assert auth_output["properties"]["expires_at"] == {
        "type": "string",
        "format": "date-time",
        "description": auth_output["properties"]["expires_at"]["description"],
    }
    for path, code in (("/api/auth/register/", "201"), ("/api/auth/login/", "200")):
        body = schema["paths"][path]["post"]["responses"][code]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/AuthOutput"}
    logout_all = schema["paths"]["/api/auth/logout-all/"]["post"]
    assert set(logout_all["responses"]) == {"204", "401"}
    assert "requestBody" not in logout_all
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert {"tokenAuth": []} in logout_all["security"]
