"""Login, sessions, user details and settings through the Zeeguu-compatible paths
(docs/zeeguu.md; behaviours of upstream's own username tests)."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from waffle.models import Flag

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS
from gamification.models import ClassroomRole, ClientToken, User, UserBadge
from gamification.services.tokens import auth_token_issue
from gamification.throttles import AuthThrottle
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, ClassroomFactory, MembershipFactory, UserFactory, make_friends
from tests.zeeguu.conftest import Frontend, frontend_for, message_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return UserFactory(username="ada_l", name="Ada", email="ada@example.com")


class TestLogin:
    def test_a_login_answers_a_session_of_this_service_and_sets_the_cookie(self, ada):
        response = Frontend().post_form("/session/ADA@example.com", {"password": DEFAULT_PASSWORD})

        assert response.status_code == 200
        session = response.json()["session"]
        assert re.fullmatch(r"[0-9a-f]{64}", session)
        cookie = response.cookies["chocolatechip"]
        assert cookie.value == session
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert int(cookie["max-age"]) == 30 * 24 * 3600
        # It is a token like any other: it works here and on /api/.
        assert Frontend(session).get("/validate").status_code == 200
        assert Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {session}").json()["username"] == "ada_l"
        assert ClientToken.objects.filter(user=ada).count() == 1

    @pytest.mark.parametrize(
        "email, form",
        [
            ("ada@example.com", {"password": "wrong-password"}),
            ("ada@example.com", {"password": ""}),
            ("ada@example.com", {}),
            ("nobody@example.com", {"password": DEFAULT_PASSWORD}),
        ],
    )
    def test_bad_credentials_are_401_invalid_credentials(self, ada, email, form):
        response = Frontend().post_form(f"/session/{email}", form)
        assert message_of(response, 401) == "Invalid credentials"
        assert not ClientToken.objects.exists()

    def test_logins_share_the_api_login_rate_limit(self, settings, monkeypatch, ada):
        settings.THROTTLING_ENABLED = True
        monkeypatch.setattr(AuthThrottle, "rate", "2/min", raising=False)
        api = Client().post(
            "/api/auth/login/", {"email": "ada@example.com", "password": "x"}, content_type="application/json"
        )
        here = Frontend().post_form("/session/ada@example.com", {"password": "x"})
        limited = Frontend().post_form("/session/ada@example.com", {"password": DEFAULT_PASSWORD})

        assert (api.status_code, here.status_code) == (400, 401)
        assert message_of(limited, 429) == "Too many requests; try again later."


class TestSessions:
    def test_validate_answers_plain_ok(self, ada):
        response = frontend_for(ada).get("/validate")
        assert response.status_code == 200
        assert response.content == b"OK"

    @pytest.mark.parametrize("session", [None, "0" * 32, "x" * 300, "bad\x07value"])
    def test_no_or_an_unknown_session_is_a_json_401(self, session):
        response = Frontend(session).get("/validate")
        message_of(response, 401)
        assert response["WWW-Authenticate"].startswith("Session")

    def test_an_expired_token_is_a_401(self, ada):
        client = frontend_for(ada)
        with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
            assert "expired" in message_of(client.get("/validate"), 401)

    def test_an_inactive_user_is_a_401(self, ada):
        client = frontend_for(ada)
        ada.is_active = False
        ada.save(update_fields=["is_active"])
        message_of(client.get("/get_user_details"), 401)

    def test_the_session_goes_with_other_query_parameters(self, ada):
        response = frontend_for(ada).get("/search_users?query=ad")
        assert response.status_code == 200

    def test_the_cookie_counts_when_there_is_no_query_parameter(self, ada):
        client = Client()
        client.cookies["chocolatechip"] = auth_token_issue(user=ada).token
        assert client.get("/zeeguu/validate").status_code == 200
        # The query parameter comes first, even when it is wrong.
        assert client.get("/zeeguu/validate?session=" + "1" * 64).status_code == 401

    def test_a_cookie_session_posts_only_from_an_allowed_origin(self, settings, ada):
        settings.CORS_ALLOWED_ORIGINS = ["https://www.zeeguu.org"]
        client = Client()
        client.cookies["chocolatechip"] = auth_token_issue(user=ada).token

        foreign = client.post("/zeeguu//badges/mark_all_seen", HTTP_ORIGIN="https://evil.example")
        allowed = client.post("/zeeguu//badges/mark_all_seen", HTTP_ORIGIN="https://www.zeeguu.org")
        same_site = client.post("/zeeguu//badges/mark_all_seen", HTTP_ORIGIN="http://testserver")
        no_origin = client.post("/zeeguu//badges/mark_all_seen")
        read = client.get("/zeeguu/validate", HTTP_ORIGIN="https://evil.example")

        assert message_of(foreign, 403) == "The session cookie is not accepted from this origin."
        assert [r.status_code for r in (allowed, same_site, no_origin, read)] == [200, 200, 200, 200]


class TestUserDetails:
    def test_the_keys_the_frontend_reads(self, ada):
        response = frontend_for(ada).get("/get_user_details")

        assert response.status_code == 200
        body = response.json()
        assert (body["email"], body["name"], body["username"]) == ("ada@example.com", "Ada", "ada_l")
        for key in ("learned_language", "native_language", "features", "is_teacher", "is_student", "is_anonymous"):
            assert key in body
        assert body["user_avatar"] == {
            "image_name": ada.avatar_image,
            "character_color": ada.avatar_character_color,
            "background_color": ada.avatar_background_color,
        }
        assert dt.datetime.fromisoformat(body["created_at"]) == ada.created_at
        assert body["is_anonymous"] is False and body["requires_email_verification"] is False

    def test_features_list_the_flags_on_for_the_user(self, ada):
        assert frontend_for(ada).get("/get_user_details").json()["features"] == []
        flag = Flag.objects.get(name="gamification")
        flag.save()
        flag.users.add(ada)

        assert frontend_for(ada).get("/get_user_details").json()["features"] == ["gamification"]
        assert frontend_for(UserFactory()).get("/get_user_details").json()["features"] == []
        assert client_for(ada).get("/api/me/").json()["features"] == {"gamification": True}

    def test_teacher_and_student_come_from_classrooms(self, ada):
        assert frontend_for(ada).get("/get_user_details").json()["is_student"] is False
        MembershipFactory(classroom=ClassroomFactory(), user=ada)
        MembershipFactory(classroom=ClassroomFactory(), user=ada, role=ClassroomRole.TEACHER)
        body = frontend_for(ada).get("/get_user_details").json()
        assert (body["is_student"], body["is_teacher"]) == (True, True)


def save_settings(client: Frontend, **form):
    return client.post_form("/user_settings", form)


class TestUsernameSettings:
    @pytest.mark.parametrize(
        "submitted, stored",
        [("  braveuser  ", "braveuser"), ("a" * 50, "a" * 50), ("cool-user_99", "cool-user_99"), ("12345", "12345")],
    )
    def test_accepted(self, ada, submitted, stored):
        response = save_settings(frontend_for(ada), username=submitted)
        assert (response.status_code, response.content) == (200, b"OK")
        ada.refresh_from_db()
        assert ada.username == stored

    @pytest.mark.parametrize(
        "submitted", ["a" * 51, "   ", "ëlïté42", "user@name!", "brave wolf", "🦁lion42", "用户名42"]
    )
    def test_refused_with_a_message(self, ada, submitted):
        response = save_settings(frontend_for(ada), username=submitted)
        message = message_of(response, 400)
        if len(submitted) == 51:
            assert "50" in message
        ada.refresh_from_db()
        assert ada.username == "ada_l"

    def test_an_empty_username_is_ignored(self, ada):
        assert save_settings(frontend_for(ada), username="", name="Ada L.").status_code == 200
        ada.refresh_from_db()
        assert (ada.username, ada.name) == ("ada_l", "Ada L.")

    def test_changing_only_the_casing_of_my_own(self):
        user = UserFactory(username="myuser99")
        assert save_settings(frontend_for(user), username="MYUSER99").status_code == 200
        user.refresh_from_db()
        assert user.username.upper() == "MYUSER99" and user.username == "MYUSER99"

    def test_another_users_username_is_taken(self, ada):
        UserFactory(username="NewName42")
        response = save_settings(frontend_for(ada), username="newname42")
        assert "Username already in use" in message_of(response, 400)

    def test_a_free_one_is_stored(self, ada):
        save_settings(frontend_for(ada), username="newname42")
        ada.refresh_from_db()
        assert ada.username == "newname42"


class TestProfileSettings:
    def frontend_form(self, user, **overrides) -> dict:
        """What ProfileDetails.js sends: the whole user details object (qs bracket notation, nulls
        as empty values) with name, username, email and the avatar keys on top."""
        form = {
            "email": user.email,
            "name": user.name,
            "username": user.username,
            "learned_language": "de",
            "native_language": "en",
            "is_teacher": "false",
            "created_at": user.created_at.isoformat(),
            "user_avatar[image_name]": user.avatar_image,
            "user_avatar[character_color]": user.avatar_character_color,
            "user_avatar[background_color]": user.avatar_background_color,
            "features[0]": "gamification",
            "daily_audio_status": "",
            "de_cefr_level": "3",
            "password": "",
            "avatar_image_name": user.avatar_image,
            "avatar_character_color": user.avatar_character_color,
            "avatar_background_color": user.avatar_background_color,
        }
        form.update(overrides)
        return form

    def test_the_frontends_whole_form_changes_name_and_avatar_only(self, ada):
        # Sign-up draws a random avatar: start from one that differs from the form's in every key,
        # or the draw would sometimes leave nothing to change (and no badge to award).
        User.objects.filter(pk=ada.pk).update(
            avatar_image="owl", avatar_character_color=CHARACTER_COLORS[0], avatar_background_color=BACKGROUND_COLORS[0]
        )
        ada.refresh_from_db()
        form = self.frontend_form(
            ada,
            name="Ada Lovelace",
            email="someone.else@example.com",
            avatar_image_name="moose",
            avatar_character_color="#005F02",
            avatar_background_color="#BCD9A2",
        )

        response = frontend_for(ada).post_form("/user_settings", form)

        assert (response.status_code, response.content) == (200, b"OK")
        ada.refresh_from_db()
        assert (ada.name, ada.email, ada.username) == ("Ada Lovelace", "ada@example.com", "ada_l")
        assert (ada.avatar_image, ada.avatar_character_color, ada.avatar_background_color) == (
            "moose",
            "#005F02",
            "#BCD9A2",
        )
        # A rule of this service holds here too: the first avatar change is a badge.
        assert UserBadge.objects.filter(user=ada, badge__activity_type__code="PROFILE_CUSTOMISED").exists()

    @pytest.mark.parametrize("index", range(len(CHARACTER_COLORS)))
    def test_avatars_round_trip_byte_for_byte(self, ada, index):
        image = AVATAR_IMAGES[(index * 5) % len(AVATAR_IMAGES)]
        character, background = CHARACTER_COLORS[index], BACKGROUND_COLORS[(index + 3) % len(BACKGROUND_COLORS)]
        client = frontend_for(ada)
        friend = UserFactory()
        make_friends(ada, friend)

        # Sent in another casing, stored and answered as the vocabulary spells it.
        save_settings(
            client,
            avatar_image_name=image.upper(),
            avatar_character_color=character.swapcase(),
            avatar_background_color=background.swapcase(),
        )

        expected = f'{{"image_name":"{image}","character_color":"{character}","background_color":"{background}"}}'
        assert f'"user_avatar":{expected}'.encode() in client.get("/get_user_details").content
        assert f'"avatar":{expected}'.encode() in frontend_for(friend).get("/my_friends").content
        assert client_for(ada).get("/api/me/").json()["avatar"] == {
            "image": image,
            "character_color": character,
            "background_color": background,
        }

    def test_an_avatar_value_outside_the_vocabulary_is_refused(self, ada):
        before = (ada.avatar_image, ada.avatar_character_color)
        response = save_settings(frontend_for(ada), avatar_image_name="unicorn", avatar_character_color="#F6D110")
        assert "avatar_image_name" in message_of(response, 400)
        ada.refresh_from_db()
        assert (ada.avatar_image, ada.avatar_character_color) == before

    def test_a_display_name_with_invisible_characters_is_refused(self, ada):
        message_of(save_settings(frontend_for(ada), name="Ali\u200bce"), 400)
        ada.refresh_from_db()
        assert ada.name == "Ada"


class TestTimezone:
    def test_an_iana_name_is_stored(self, ada):
        response = frontend_for(ada).post_form("/user_timezone", {"timezone": "Asia/Tokyo"})
        assert (response.status_code, response.content) == (200, b"OK")
        ada.refresh_from_db()
        assert ada.timezone == "Asia/Tokyo"

    @pytest.mark.parametrize("form", [{"timezone": "Mars/Olympus"}, {"timezone": "localtime"}, {}])
    def test_anything_else_is_a_json_400(self, ada, form):
        message_of(frontend_for(ada).post_form("/user_timezone", form), 400)
        ada.refresh_from_db()
        assert ada.timezone == "UTC"
