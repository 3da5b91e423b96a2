import json

import pytest
from knox.crypto import hash_token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from waffle.models import Flag

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS
from gamification.models import ClientToken, User, UserBadge, UserMetric
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory

STRONG_PASSWORD = "violet-Harbour-2931"


def register(client: APIClient, **body):
    body.setdefault("password", STRONG_PASSWORD)
    return client.post("/api/auth/register/", body, format="json")


@pytest.mark.django_db
class TestRegister:
    def test_register_returns_a_token_and_me(self, api_client):
        response = register(api_client, email="New.Learner@Example.com", name="New")
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"token", "expires_at", "user"}
        assert body["user"]["email"] == "new.learner@example.com"
        assert body["user"]["name"] == "New"
        assert body["user"]["timezone"] == "UTC"
        assert body["user"]["features"] == {"gamification": False}
        assert body["user"]["avatar"]["image"] in AVATAR_IMAGES
        assert ClientToken.objects.get(digest=hash_token(body["token"])).user.email == "new.learner@example.com"

    def test_duplicate_email_ignoring_case_is_400(self, api_client):
        UserFactory(email="taken@example.com")
        response = register(api_client, email="TAKEN@example.com")
        assert response.status_code == 400
        assert "email" in response.json()
        assert User.objects.filter(email="taken@example.com").count() == 1

    @pytest.mark.parametrize(
        "password, message",
        [("short1", "too short"), ("password123", "too common"), ("8402917365", "entirely numeric")],
    )
    def test_django_password_validators_apply(self, api_client, password, message):
        response = register(api_client, email="weak@example.com", password=password)
        assert response.status_code == 400
        assert any(message in text for text in response.json()["password"])
        assert not User.objects.filter(email="weak@example.com").exists()

    def test_password_similar_to_email_is_refused(self, api_client):
        response = register(api_client, email="marguerite.dupont@example.com", password="marguerite.dupont")
        assert response.status_code == 400
        assert "password" in response.json()

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "a@example.com"},
            {"email": "not-an-email", "password": STRONG_PASSWORD},
            {"email": ["a@example.com"], "password": STRONG_PASSWORD},
            {"email": "a@example.com", "password": 12345678901},
            {"email": "a@example.com", "password": STRONG_PASSWORD, "name": "n" * 101},
            {"email": "a" * 250 + "@example.com", "password": STRONG_PASSWORD},
            {"email": "a@example.com", "password": STRONG_PASSWORD, "timezone": "Mars/Olympus"},
            {"email": "a@example.com", "password": STRONG_PASSWORD, "name": {"x": 1}},
        ],
    )
    def test_bad_bodies_are_400(self, api_client, body):
        response = api_client.post("/api/auth/register/", body, format="json")
        assert response.status_code == 400, response.content
        assert User.objects.count() == 0

    def test_a_timezone_can_be_chosen_at_sign_up(self, api_client):
        response = register(api_client, email="tz@example.com", timezone="Europe/Copenhagen")
        assert response.status_code == 201
        assert response.json()["user"]["timezone"] == "Europe/Copenhagen"


@pytest.mark.django_db
class TestLogin:
    def test_login_ignores_email_case(self, api_client):
        user = UserFactory(email="mixed@example.com")
        response = api_client.post(
            "/api/auth/login/", {"email": "  MIXED@Example.COM ", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["user"]["username"] == user.username
        assert ClientToken.objects.get(digest=hash_token(response.json()["token"])).user == user

    def test_wrong_password_and_unknown_email_give_the_same_message(self, api_client):
        UserFactory(email="known@example.com")
        wrong_password = api_client.post(
            "/api/auth/login/", {"email": "known@example.com", "password": "nope-nope-nope"}, format="json"
        )
        unknown_email = api_client.post(
            "/api/auth/login/", {"email": "unknown@example.com", "password": "nope-nope-nope"}, format="json"
        )
        assert wrong_password.status_code == unknown_email.status_code == 400
        assert wrong_password.json() == unknown_email.json() == {"detail": "The email or password is incorrect."}

    def test_inactive_users_cannot_log_in(self, api_client):
        user = UserFactory(email="gone@example.com")
        user.is_active = False
        user.save(update_fields=["is_active"])
        response = api_client.post(
            "/api/auth/login/", {"email": "gone@example.com", "password": DEFAULT_PASSWORD}, format="json"
        )
        assert response.status_code == 400


@pytest.mark.django_db
class TestLogout:
    def test_token_stops_working_after_logout(self, user):
        client = client_for(user)
        assert client.get("/api/me/").status_code == 200
        assert client.post("/api/auth/logout/").status_code == 204
        assert client.get("/api/me/").status_code == 401
        assert not ClientToken.objects.filter(user=user).exists()

    def test_logout_needs_a_login(self, api_client):
        assert api_client.post("/api/auth/logout/").status_code == 401


@pytest.mark.django_db
class TestMe:
    def test_anonymous_gets_401_with_authenticate_header(self, api_client):
        response = api_client.get("/api/me/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Token")

    def test_me_payload(self, user, auth_client):
        body = auth_client.get("/api/me/").json()
        assert set(body) == {"username", "name", "avatar", "email", "timezone", "created_at", "features"}
        assert body["email"] == user.email
        assert set(body["avatar"]) == {"image", "character_color", "background_color"}

    def test_patch_changes_only_the_fields_sent(self, user, auth_client):
        before = {"image": user.avatar_image, "background": user.avatar_background_color}
        response = auth_client.patch(
            "/api/me/", {"avatar": {"character_color": CHARACTER_COLORS[3]}, "name": "  Ada L.  "}, format="json"
        )
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.avatar_character_color == CHARACTER_COLORS[3]
        assert user.avatar_image == before["image"]
        assert user.avatar_background_color == before["background"]
        assert user.name == "Ada L."
        assert response.json()["avatar"]["character_color"] == CHARACTER_COLORS[3]

    def test_patch_username_timezone_and_full_avatar(self, user, auth_client):
        response = auth_client.patch(
            "/api/me/",
            {
                "username": " New.Name-1 ",
                "timezone": "Asia/Tokyo",
                "avatar": {
                    "image": "owl",
                    "character_color": CHARACTER_COLORS[0],
                    "background_color": BACKGROUND_COLORS[5],
                },
            },
            format="json",
        )
        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.username, user.timezone, user.avatar_image) == ("New.Name-1", "Asia/Tokyo", "owl")

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"avatar": {"image": "unicorn"}}, "avatar"),
            ({"avatar": {"character_color": "#000000"}}, "avatar"),
            ({"avatar": {"background_color": "red"}}, "avatar"),
            ({"avatar": {"hat": "top"}}, "avatar"),
            ({"avatar": "owl"}, "avatar"),
            ({"username": ""}, "username"),
            ({"username": "   "}, "username"),
            ({"username": "x" * 51}, "username"),
            ({"username": "héllo"}, "username"),
            ({"username": 12}, "username"),
            ({"username": None}, "username"),
            ({"timezone": "Nowhere/Land"}, "timezone"),
            ({"timezone": 5}, "timezone"),
            ({"name": "n" * 101}, "name"),
            ({"name": ["x"]}, "name"),
        ],
    )
    def test_bad_values_are_400_with_field_errors_and_nothing_is_written(self, user, auth_client, body, field):
        before = User.objects.values().get(pk=user.pk)
        response = auth_client.patch(
            "/api/me/", {**body, "name": "Should Not Stick"} if field != "name" else body, format="json"
        )
        assert response.status_code == 400
        assert field in response.json()
        assert User.objects.values().get(pk=user.pk) == before

    def test_avatar_errors_are_nested_per_field(self, user, auth_client):
        response = auth_client.patch(
            "/api/me/",
            {"avatar": {"image": "unicorn", "character_color": CHARACTER_COLORS[0], "hat": "top"}},
            format="json",
        )
        assert response.status_code == 400
        assert set(response.json()) == {"avatar"}
        assert set(response.json()["avatar"]) == {"image", "hat"}
        assert "avatar-options" in response.json()["avatar"]["image"][0]

    def test_email_is_read_only(self, user, auth_client):
        response = auth_client.patch("/api/me/", {"email": "other@example.com"}, format="json")
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.email != "other@example.com"

    def test_feature_flag_is_reported_per_user(self, user, auth_client):
        flag = Flag.objects.get(name="gamification")
        assert auth_client.get("/api/me/").json()["features"] == {"gamification": False}
        flag.users.add(user)
        assert auth_client.get("/api/me/").json()["features"] == {"gamification": True}
        flag.users.remove(user)
        flag.everyone = True
        flag.save()
        assert auth_client.get("/api/me/").json()["features"] == {"gamification": True}

    def test_first_avatar_change_awards_the_profile_badge_once(self, user, auth_client):
        first, second = [image for image in AVATAR_IMAGES if image != user.avatar_image][:2]
        auth_client.patch("/api/me/", {"avatar": {"image": first}}, format="json")
        auth_client.patch("/api/me/", {"avatar": {"image": second}}, format="json")
        held = UserBadge.objects.filter(user=user, badge__activity_type__code="PROFILE_CUSTOMISED")
        assert held.count() == 1


@pytest.mark.django_db
class TestDeleteMe:
    def test_delete_removes_the_user_and_their_rows(self, user, auth_client):
        other_image = next(image for image in AVATAR_IMAGES if image != user.avatar_image)
        auth_client.patch("/api/me/", {"avatar": {"image": other_image}}, format="json")
        assert UserMetric.objects.filter(user=user).exists()
        assert auth_client.delete("/api/me/").status_code == 204
        assert not User.objects.filter(pk=user.pk).exists()
        assert not UserMetric.objects.filter(user_id=user.pk).exists()
        assert not UserBadge.objects.filter(user_id=user.pk).exists()
        assert not ClientToken.objects.filter(user_id=user.pk).exists()


@pytest.mark.django_db
class TestAvatarOptions:
    def test_anyone_may_read_the_allowed_values(self, api_client):
        response = api_client.get("/api/avatar-options/")
        assert response.status_code == 200
        body = response.json()
        assert body["images"] == list(AVATAR_IMAGES)
        assert len(body["character_colors"]) >= 7 and len(body["background_colors"]) >= 7
        assert all(color.startswith("#") and len(color) == 7 for color in body["character_colors"])


ENDPOINTS = [
    ("post", "/api/auth/register/"),
    ("post", "/api/auth/login/"),
    ("patch", "/api/me/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", ENDPOINTS)
@pytest.mark.parametrize(
    "payload, content_type",
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (json.dumps({"email": 5, "password": [], "username": {"a": 1}, "name": 7}).encode(), "application/json"),
        (
            json.dumps({"email": "x" * 5000, "password": "y" * 5000, "username": "z" * 5000}).encode(),
            "application/json",
        ),
        (b"email=a@example.com", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_or_mistyped_bodies_are_400_or_415_never_500(user, method, path, payload, content_type):
    client = client_for(user)
    response = getattr(client, method)(path, payload, content_type=content_type)
    assert response.status_code in {400, 415}, response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_unknown_api_paths_are_json_404(api_client):
    response = api_client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_only_the_users_own_me_payloads_contain_an_email(api_client):
    owner = register(api_client, email="owner@example.com").json()
    other = UserFactory(email="someone@example.com")
    client = client_for(other)
    bodies = [
        client.get("/api/avatar-options/").content,
        client.patch("/api/me/", {"username": "x" * 60}, format="json").content,
        api_client.post(
            "/api/auth/login/", {"email": "owner@example.com", "password": "bad-bad-bad"}, format="json"
        ).content,
        api_client.post(
            "/api/auth/register/", {"email": "owner@example.com", "password": STRONG_PASSWORD}, format="json"
        ).content,
    ]
    for body in bodies:
        assert b"owner@example.com" not in body and b"someone@example.com" not in body
    assert owner["user"]["email"] == "owner@example.com"


@pytest.mark.django_db
def test_login_is_rate_limited(api_client, settings):
    settings.THROTTLING_ENABLED = True
    rate = api_settings.DEFAULT_THROTTLE_RATES["auth"]
    limit = int(rate.split("/")[0])
    statuses = [
        api_client.post(
            "/api/auth/login/", {"email": "a@example.com", "password": "whatever-123"}, format="json"
        ).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [400] * limit
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_throttling_off_lets_every_login_through(api_client):
    statuses = {
        api_client.post(
            "/api/auth/login/", {"email": "a@example.com", "password": "whatever-123"}, format="json"
        ).status_code
        for _ in range(30)
    }
    assert statuses == {400}


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_paths_without_the_trailing_slash_are_json_404_not_a_redirect(user, settings, debug):
    settings.DEBUG = debug
    response = client_for(user).post("/api/auth/logout", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert ClientToken.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_admin_paths_still_get_the_slash_redirect(client):
    response = client.get("/admin")
    assert response.status_code == 301
    assert response["Location"] == "/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/me/", b'{"name": "bad \\ud800 text"}'),
        ("/api/auth/login/", b'{"email": "\\udfff@example.com", "password": "x"}'),
        ("/api/events/", b'{"type": "\\ud800", "language": "de"}'),
        ("/api/events/", b'{"type": "word_translated", "language": "de", "word": "\\ud83d"}'),
    ],
)
def test_lone_surrogates_are_a_400_not_a_500(user, path, body):
    method = "patch" if path == "/api/me/" else "post"
    response = getattr(client_for(user), method)(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "Unicode" in response.json()["detail"]
