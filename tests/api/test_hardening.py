"""Defects found by trying the service from outside (malformed bodies, odd paths, spoofed
headers, look-alike names), each pinned by a test."""

import json

import pytest
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from gamification.models import Classroom, ClassroomRole, User
from tests.conftest import client_for
from tests.factories import ClassroomFactory, UserFactory

STRONG_PASSWORD = "a-long-and-unusual-passphrase-42"
JSON_ENDPOINTS = [
    ("post", "/api/auth/register/", False),
    ("post", "/api/auth/login/", False),
    ("post", "/api/events/", True),
    ("patch", "/api/me/", True),
    ("post", "/api/friend-requests/", True),
]


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


# Deeply nested JSON -------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("depth", [33, 316, 10_000, 100_000])
@pytest.mark.parametrize("method, path, needs_login", JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(method, path, needs_login, depth):
    client = client_for(UserFactory()) if needs_login else APIClient()
    body = "[" * depth + "]" * depth

    response = getattr(client, method)(path, data=body, content_type="application/json")

    assert "nested deeper than 32 levels" in assert_json_error(response, 400)["detail"]


@pytest.mark.django_db
def test_nesting_within_the_limit_is_read_normally(auth_client):
    body = {"avatar": {"image": "fox"}, "padding": [[[[[[[[1]]]]]]]]}

    response = auth_client.patch("/api/me/", body, format="json")

    assert response.status_code == 200
    assert response.json()["avatar"]["image"] == "fox"


@pytest.mark.django_db
def test_nan_and_infinity_are_not_json(auth_client):
    response = auth_client.post(
        "/api/events/",
        data='{"type": "practice", "language": "de", "kind": "reading", "duration_seconds": NaN}',
        content_type="application/json",
    )
    assert_json_error(response, 400)


# Errors that Django answered with HTML ----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/events/"])
def test_a_body_over_the_upload_limit_is_a_json_400(settings, path, auth_client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"email": "a" * 20_000, "password": "x"})

    response = auth_client.post(path, data=body, content_type="application/json")

    assert "larger than 10000 bytes" in assert_json_error(response, 400)["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/me/", "/api/auth/login/", "/api/nowhere/", "/api/docs/"])
def test_a_disallowed_host_is_a_json_400(path, auth_client):
    response = auth_client.get(path, HTTP_HOST="attacker.example")

    assert_json_error(response, 400)


@pytest.mark.django_db
def test_options_on_the_docs_page_lists_its_methods(client):
    response = client.options("/api/docs/")

    assert response.status_code == 200
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_on_the_docs_page_are_a_json_405(client, method):
    response = getattr(client, method)("/api/docs/")

    assert assert_json_error(response, 405) == {"detail": "Method Not Allowed."}
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/admin/login/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# Display names -------------------------------------------------------------------------------
INVISIBLE_NAMES = [
    ("Ali\u200bce", 0x200B),  # zero-width space
    ("Ali\u200dce", 0x200D),  # zero-width joiner
    ("\u202eecilA", 0x202E),  # right-to-left override
    ("Alice\u2066x", 0x2066),  # left-to-right isolate
    ("Bell\u0007", 0x0007),
    ("\u001b[31mRed", 0x001B),  # ANSI escape
    ("Soft\u00adhyphen", 0x00AD),
    ("Line\u2028break", 0x2028),
    ("\u3164", 0x3164),  # Hangul filler: a blank letter
]


@pytest.mark.django_db
@pytest.mark.parametrize("name, code_point", INVISIBLE_NAMES)
def test_display_names_with_invisible_characters_are_refused_on_update(auth_client, user, name, code_point):
    response = auth_client.patch("/api/me/", {"name": name}, format="json")

    errors = assert_json_error(response, 400)
    assert f"U+{code_point:04X}" in errors["name"][0]
    user.refresh_from_db()
    assert user.name == ""


@pytest.mark.django_db
@pytest.mark.parametrize("name, code_point", INVISIBLE_NAMES[:4])
def test_display_names_with_invisible_characters_are_refused_at_sign_up(api_client, name, code_point):
    response = api_client.post(
        "/api/auth/register/",
        {"email": "new@example.com", "password": STRONG_PASSWORD, "name": name},
        format="json",
    )

    assert f"U+{code_point:04X}" in assert_json_error(response, 400)["name"][0]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Søren Ødegård", "Zoë", "李小龍", "José María", "O'Brien-Smith", "🦊 Fox"])
def test_ordinary_names_in_any_script_are_kept(auth_client, name):
    response = auth_client.patch("/api/me/", {"name": name}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == name


# Time zones ---------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Not/AZone"])
def test_non_iana_time_zones_are_refused(auth_client, zone):
    response = auth_client.patch("/api/me/", {"timezone": zone}, format="json")

    assert "timezone" in assert_json_error(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/Copenhagen", "UTC", "Etc/GMT+10", "Pacific/Kiritimati"])
def test_iana_time_zones_are_accepted(auth_client, zone):
    response = auth_client.patch("/api/me/", {"timezone": zone}, format="json")

    assert response.status_code == 200
    assert response.json()["timezone"] == zone


@pytest.mark.django_db
def test_sign_up_refuses_a_non_iana_time_zone(api_client):
    response = api_client.post(
        "/api/auth/register/",
        {"email": "tz@example.com", "password": STRONG_PASSWORD, "timezone": "Factory"},
        format="json",
    )
    assert "timezone" in assert_json_error(response, 400)


# Numbers and booleans -------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "limit=\u0663",  # Arabic-Indic three
        "limit=\uff13",  # full-width three
        "limit=3.0",
        "limit=1e1",
        "limit=%2B3",
        "offset=-1.0",
        "offset=\u2212" + "1",  # Unicode minus sign
        "offset=-\u0661",
        "limit=true",
    ],
)
def test_leaderboard_numbers_are_ascii_integers_only(auth_client, query):
    response = auth_client.get(f"/api/leaderboards/friends/?metric=reading_time&{query}")

    errors = assert_json_error(response, 400)
    assert set(errors) & {"limit", "offset"}


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=3", "limit= 3", "offset=-1", "offset=0"])
def test_leaderboard_ascii_integers_are_accepted(auth_client, query):
    response = auth_client.get(f"/api/leaderboards/friends/?metric=reading_time&{query}")

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "on", None, "1"])
def test_leaderboard_enabled_takes_json_booleans_only(value):
    teacher = UserFactory()
    classroom = ClassroomFactory()
    classroom.memberships.create(user=teacher, role=ClassroomRole.TEACHER)

    response = client_for(teacher).patch(
        f"/api/classrooms/{classroom.pk}/", {"leaderboard_enabled": value}, format="json"
    )

    assert "leaderboard_enabled" in assert_json_error(response, 400)
    assert Classroom.objects.get(pk=classroom.pk).leaderboard_enabled is False


@pytest.mark.django_db
def test_leaderboard_enabled_json_true_is_accepted():
    teacher = UserFactory()
    classroom = ClassroomFactory()
    classroom.memberships.create(user=teacher, role=ClassroomRole.TEACHER)

    response = client_for(teacher).patch(
        f"/api/classrooms/{classroom.pk}/", {"leaderboard_enabled": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["leaderboard_enabled"] is True


# X-Forwarded-For ----------------------------------------------------------------------------------
def login_attempt(client: APIClient, *, forwarded_for: str | None = None, password: str = "wrong-password-1"):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return client.post(
        "/api/auth/login/", {"email": "victim@example.com", "password": password}, format="json", **extra
    )


def auth_limit() -> int:
    return int(api_settings.DEFAULT_THROTTLE_RATES["auth"].split("/")[0])


@pytest.mark.django_db
def test_a_new_forwarded_for_on_every_attempt_does_not_escape_the_login_limit(settings, api_client):
    settings.THROTTLING_ENABLED = True
    UserFactory(email="victim@example.com", password=STRONG_PASSWORD)
    limit = auth_limit()

    statuses = [login_attempt(api_client, forwarded_for=f"10.0.{i // 250}.{i % 250}").status_code for i in range(200)]

    assert statuses[:limit] == [400] * limit
    assert set(statuses[limit:]) == {429}
    # Even the right password is refused while the real address is limited.
    assert login_attempt(api_client, forwarded_for="192.0.2.77", password=STRONG_PASSWORD).status_code == 429


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_client_is_the_address_the_proxy_appended(settings):
    settings.THROTTLING_ENABLED = True
    settings.TRUSTED_PROXIES = 1
    limit = auth_limit()
    proxy = APIClient(REMOTE_ADDR="10.9.9.9")

    # One client behind the proxy, forging the part of the header it controls: still limited.
    spoofing = [login_attempt(proxy, forwarded_for=f"1.2.3.{i}, 198.51.100.7").status_code for i in range(limit + 1)]
    # Another client behind the same proxy is not limited by the first one's attempts.
    other = login_attempt(proxy, forwarded_for="198.51.100.8").status_code

    assert spoofing[:limit] == [400] * limit
    assert spoofing[-1] == 429
    assert other == 400


def test_client_address_rule():
    from django.test import RequestFactory, override_settings

    from gamification.client_address import client_address

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    with override_settings(TRUSTED_PROXIES=0):
        assert client_address(request) == "10.0.0.1"
    with override_settings(TRUSTED_PROXIES=1):
        assert client_address(request) == "203.0.113.5"
    with override_settings(TRUSTED_PROXIES=2):
        assert client_address(request) == "6.6.6.6"
    with override_settings(TRUSTED_PROXIES=5):
        assert client_address(request) == "6.6.6.6"


# Password hashing outside the write transaction ---------------------------------------------------
@pytest.mark.django_db
def test_sign_up_hashes_the_password_before_the_transaction_opens(settings, api_client):
    settings.PASSWORD_HASHERS = ["tests.api.test_hardening.RecordingHasher"]
    RecordingHasher.in_transaction.clear()

    response = api_client.post(
        "/api/auth/register/", {"email": "hash@example.com", "password": STRONG_PASSWORD}, format="json"
    )

    assert response.status_code == 201
    # The test itself runs in a transaction (depth 1); the sign-up must not add its own around hashing.
    assert RecordingHasher.in_transaction == [False]


from django.contrib.auth.hashers import MD5PasswordHasher  # noqa: E402


class RecordingHasher(MD5PasswordHasher):
    """Records, for each hash, whether a transaction opened by the code under test was active."""

    algorithm = "recording_md5"
    in_transaction: list[bool] = []

    def encode(self, password, salt):
        # pytest-django wraps each test in one atomic block; a sign-up transaction would add a
        # savepoint on top of it.
        self.in_transaction.append(len(connection.savepoint_ids) > 0)
        return super().encode(password, salt)


# PATCH /api/me/ input --------------------------------------------------------------------------
@pytest.mark.django_db
def test_avatar_values_are_matched_ignoring_case_and_stored_as_the_vocabulary_spells_them(auth_client, user):
    from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS

    image, character, background = AVATAR_IMAGES[-1], CHARACTER_COLORS[-1], BACKGROUND_COLORS[-1]

    response = auth_client.patch(
        "/api/me/",
        {
            "avatar": {
                "image": image.upper(),
                "character_color": character.swapcase(),
                "background_color": f" {background.lower()} ",
            }
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["avatar"] == {"image": image, "character_color": character, "background_color": background}
    user.refresh_from_db()
    assert (user.avatar_image, user.avatar_character_color, user.avatar_background_color) == (
        image,
        character,
        background,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, errors",
    [
        ({"name": 123}, {"name": ["Enter a string."]}),
        ({"timezone": 5}, {"timezone": ["Enter a string."]}),
        ({"username": ["a"]}, {"username": ["Enter a username as a string."]}),
        (
            {"avatar": "fox"},
            {"avatar": ["Send the avatar as an object with image, character_color and/or background_color."]},
        ),
        (
            {"avatar": {"image": "unicorn", "hat": "red"}},
            {
                "avatar": {
                    "image": ["Not an allowed value; see GET /api/avatar-options/."],
                    "hat": ["Unknown avatar field; use image, character_color or background_color."],
                }
            },
        ),
    ],
)
def test_me_update_input_errors_are_reported_per_field_and_nothing_is_written(auth_client, user, body, errors):
    before = (user.name, user.timezone, user.username, user.avatar_image)

    response = auth_client.patch("/api/me/", body, format="json")

    assert assert_json_error(response, 400) == errors
    user.refresh_from_db()
    assert (user.name, user.timezone, user.username, user.avatar_image) == before
