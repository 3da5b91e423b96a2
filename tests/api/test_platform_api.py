"""The platform API (SPEC §11.1): provisioning by external id, reconciliation, token exchange,
and events naming learners by external id."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient
from waffle.models import Flag

from gamification.models import ActivityEvent, ClientToken, User, UserMetric
from gamification.services.platform import platform_user_put
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends

URL = "/api/platform/users/"
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


def service_account() -> User:
    account = UserFactory(email="platform@service.invalid")
    account.user_permissions.add(Permission.objects.get(codename="report_events_for_others"))
    return account


@pytest.fixture
def platform(db) -> APIClient:
    return client_for(service_account())


def put(client: APIClient, external_id: str, body: dict | None = None):
    return client.put(f"{URL}{external_id}/", body or {}, format="json")


@pytest.mark.django_db
class TestWhoMayCall:
    PATHS = [
        ("get", URL),
        ("get", f"{URL}7/"),
        ("put", f"{URL}7/"),
        ("delete", f"{URL}7/"),
        ("post", f"{URL}7/tokens/"),
    ]

    @pytest.mark.parametrize(("method", "path"), PATHS)
    def test_without_a_login_is_401(self, api_client, method, path):
        platform_user_put(external_id="7")
        response = getattr(api_client, method)(path, {}, format="json")
        assert response.status_code == 401
        assert User.objects.filter(external_id="7").exists()

    @pytest.mark.parametrize(("method", "path"), PATHS)
    def test_a_learner_is_403(self, auth_client, method, path):
        platform_user_put(external_id="7", name="Ana")
        response = getattr(auth_client, method)(path, {"name": "Eve"}, format="json")
        assert response.status_code == 403
        assert User.objects.get(external_id="7").name == "Ana"
        assert not ClientToken.objects.filter(user__external_id="7").exists()

    def test_staff_without_the_permission_is_403(self, db):
        staff = UserFactory(is_staff=True)
        assert client_for(staff).get(URL).status_code == 403


@pytest.mark.django_db
class TestPut:
    def test_a_new_external_id_is_201_with_the_platform_user(self, platform):
        response = put(platform, "zeeguu-42", {"name": "Ana", "email": "Ana@Example.com", "timezone": "Europe/Rome"})

        assert response.status_code == 201
        body = response.json()
        assert body["external_id"] == "zeeguu-42"
        assert (body["name"], body["email"], body["timezone"]) == ("Ana", "ana@example.com", "Europe/Rome")
        assert set(body) >= {"username", "avatar", "created_at", "features", "updated_at"}
        assert body["features"] == {"gamification": False}
        user = User.objects.get(external_id="zeeguu-42")
        assert body["username"] == user.username
        assert not user.has_usable_password()

    def test_again_is_200_and_changes_only_the_fields_sent(self, platform):
        put(platform, "7", {"name": "Ana", "timezone": "Europe/Rome"})

        response = put(platform, "7", {"username": "ana_rossi"})

        assert response.status_code == 200
        assert (response.json()["username"], response.json()["name"], response.json()["timezone"]) == (
            "ana_rossi",
            "Ana",
            "Europe/Rome",
        )
        assert User.objects.filter(external_id="7").count() == 1

    def test_field_errors_are_400_and_nothing_is_created(self, platform):
        UserFactory(username="bold_fox", email="taken@example.com")

        response = put(
            platform, "7", {"username": "BOLD_FOX", "timezone": "Mars/Olympus", "email": "nope", "name": "a\u202eb"}
        )

        assert response.status_code == 400
        assert set(response.json()) == {"timezone", "email", "name"}
        assert not User.objects.filter(external_id="7").exists()
        taken = put(platform, "7", {"username": "BOLD_FOX"})
        assert taken.status_code == 400
        assert taken.json() == {"username": ["This username is taken."]}
        assert put(platform, "8", {"email": "TAKEN@example.com"}).json() == {
            "email": ["An account with this email already exists."]
        }

    @pytest.mark.parametrize("external_id", ["x" * 65, "%20seven", "tab%09"])
    def test_a_malformed_external_id_is_400(self, platform, external_id):
        response = put(platform, external_id)
        assert response.status_code == 400
        assert "external_id" in response.json()
        assert not User.objects.filter(external_id__isnull=False).exists()

    def test_a_body_that_is_not_an_object_is_400(self, platform):
        response = platform.put(f"{URL}7/", [1], format="json")
        assert response.status_code == 400


@pytest.mark.django_db
class TestGetAndDelete:
    def test_get_is_200_for_a_known_id_and_404_otherwise(self, platform):
        platform_user_put(external_id="7", name="Ana")

        assert platform.get(f"{URL}7/").json()["name"] == "Ana"
        assert platform.get(f"{URL}8/").status_code == 404
        assert platform.get(f"{URL}{'x' * 80}/").status_code == 404

    def test_delete_removes_the_user_as_delete_me_does(self, platform):
        user, _ = platform_user_put(external_id="7")
        friend = UserFactory()
        make_friends(user, friend)

        response = platform.delete(f"{URL}7/")

        assert response.status_code == 204
        assert not User.objects.filter(pk=user.pk).exists()
        assert UserMetric.objects.get(user=friend, activity_type__code="FRIENDS").value == 0
        assert platform.delete(f"{URL}7/").status_code == 404


@pytest.mark.django_db
class TestReconciliationList:
    def test_repeated_external_ids_select_users(self, platform):
        for external_id in ("a", "b", "c,d"):
            platform_user_put(external_id=external_id)
        UserFactory()  # signed up here: no external id

        response = platform.get(URL, {"external_id": ["a", "c,d", "unknown"]})

        assert response.status_code == 200
        body = response.json()
        assert sorted(row["external_id"] for row in body["results"]) == ["a", "c,d"]
        assert body["next"] is None

    def test_without_filters_only_platform_users_are_listed(self, platform):
        platform_user_put(external_id="a")
        UserFactory()
        assert [row["external_id"] for row in platform.get(URL).json()["results"]] == ["a"]

    def test_more_than_100_external_ids_is_400(self, platform):
        response = platform.get(URL, {"external_id": [str(n) for n in range(101)]})
        assert response.status_code == 400
        assert "external_id" in response.json()

    def test_a_malformed_external_id_in_the_query_is_400(self, platform):
        response = platform.get(URL, {"external_id": ["ok", " bad"]})
        assert response.status_code == 400

    def test_updated_since_lists_changes_oldest_first(self, platform):
        with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
            platform_user_put(external_id="old")
            platform_user_put(external_id="changed")
        with time_machine.travel(NOW, tick=False):
            platform_user_put(external_id="new")
        with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
            platform_user_put(external_id="changed", name="Renamed")

        response = platform.get(URL, {"updated_since": "2025-03-10T12:00:00Z"})

        assert response.status_code == 200
        assert [row["external_id"] for row in response.json()["results"]] == ["new", "changed"]
        # "+01:00" sent without percent-encoding arrives as " 01:00": read as meant.
        unencoded = platform.get(f"{URL}?updated_since=2025-03-10T13:00:00+01:00")
        assert [row["external_id"] for row in unencoded.json()["results"]] == ["new", "changed"]

    @pytest.mark.parametrize("value", ["2025-03-10T12:00:00", "yesterday", "2025-13-01T00:00:00Z"])
    def test_a_bad_or_naive_time_is_400(self, platform, value):
        response = platform.get(URL, {"updated_since": value})
        assert response.status_code == 400
        assert "updated_since" in response.json()

    def test_pages_hold_at_most_100_and_the_cursor_walks_them_all(self, platform):
        User.objects.bulk_create(
            [User(username=f"user{n}", external_id=f"e{n}", avatar_image="otter", updated_at=NOW) for n in range(105)]
        )

        first = platform.get(URL, {"updated_since": "2025-01-01T00:00:00Z"}).json()
        second = platform.get(first["next"]).json()

        assert len(first["results"]) == 100
        assert len(second["results"]) == 5 and second["next"] is None
        assert len({row["external_id"] for row in first["results"] + second["results"]}) == 105
        assert platform.get(URL, {"limit": 1000}).json()["next"] is not None

    def test_the_list_costs_the_same_queries_for_3_and_60_users(self, platform, django_assert_num_queries):
        flag = Flag.objects.get(name="gamification")
        flag.everyone = None
        flag.save()
        group = Group.objects.create(name="pilot")
        flag.groups.add(group)
        for n in range(3):
            user, _ = platform_user_put(external_id=f"a{n}")
            user.groups.add(group)
        platform.get(URL)  # warms waffle's cache of the flag
        # Token, the caller's permissions (user's, groups'), the page, the users' groups.
        with django_assert_num_queries(5):
            body = platform.get(URL).json()
        assert [row["features"] for row in body["results"]] == [{"gamification": True}] * 3

        for n in range(57):
            platform_user_put(external_id=f"b{n}")
        platform.get(URL)
        with django_assert_num_queries(5):
            body = platform.get(URL).json()
        assert len(body["results"]) == 60


@pytest.mark.django_db
class TestTokens:
    def test_exchange_gives_a_new_expiring_token_per_call_that_logs_the_user_in(self, platform, settings):
        user, _ = platform_user_put(external_id="7", email="ana@example.com")

        with time_machine.travel(NOW, tick=False):
            first = platform.post(f"{URL}7/tokens/")
            second = platform.post(f"{URL}7/tokens/")

        assert first.status_code == second.status_code == 201
        assert set(first.json()) == {"token", "expires_at"}
        assert first.json()["token"] != second.json()["token"]
        assert dt.datetime.fromisoformat(first.json()["expires_at"]) == NOW + settings.TOKEN_TTL
        assert ClientToken.objects.filter(user=user).count() == 2
        learner = APIClient()
        learner.credentials(HTTP_AUTHORIZATION=f"Token {first.json()['token']}")
        with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
            me = learner.get("/api/me/").json()
        assert (me["username"], me["email"]) == (user.username, "ana@example.com")
        assert "external_id" not in me

    def test_unknown_is_404(self, platform):
        assert platform.post(f"{URL}nobody/tokens/").status_code == 404

    def test_no_tokens_for_staff_or_service_accounts(self, platform):
        staff, _ = platform_user_put(external_id="staff")
        User.objects.filter(pk=staff.pk).update(is_staff=True)
        other_service, _ = platform_user_put(external_id="svc")
        other_service.user_permissions.add(Permission.objects.get(codename="report_events_for_others"))

        assert platform.post(f"{URL}staff/tokens/").status_code == 403
        assert platform.post(f"{URL}svc/tokens/").status_code == 403
        assert not ClientToken.objects.filter(user__in=[staff, other_service]).exists()


@pytest.mark.django_db
class TestPrivacy:
    def test_other_learners_never_see_external_ids_or_emails(self, auth_client, user):
        ana, _ = platform_user_put(external_id="secret-7", email="ana@example.com", username="ana_rossi")
        make_friends(user, ana)

        bodies = [
            auth_client.get("/api/users/ana_rossi/").content,
            auth_client.get("/api/users/?search=ana").content,
            auth_client.get("/api/friends/").content,
            auth_client.get(f"/api/users/{user.username}/friends/").content,
        ]

        for body in bodies:
            assert b"ana_rossi" in body
            assert b"secret-7" not in body and b"ana@example.com" not in body


def word(**extra) -> dict:
    return {"type": "word_learned", "word": "haus", "language": "de", **extra}


@pytest.mark.django_db
class TestEventsByExternalId:
    def test_the_platform_names_learners_by_external_id(self, db):
        account = service_account()
        ana, _ = platform_user_put(external_id="7")
        bo, _ = platform_user_put(external_id="8")

        response = client_for(account).post(
            "/api/events/", {"events": [word(external_user_id="7"), word(external_user_id="8")]}, format="json"
        )

        assert response.status_code == 201
        assert sorted(badge["username"] for badge in response.json()["new_badges"]) == sorted(
            [ana.username, bo.username]
        )
        assert sorted(ActivityEvent.objects.values_list("user__external_id", flat=True)) == ["7", "8"]

    def test_an_unknown_external_id_is_400_naming_the_event(self, db):
        account = service_account()
        platform_user_put(external_id="7")

        response = client_for(account).post(
            "/api/events/", {"events": [word(external_user_id="7"), word(external_user_id="ghost")]}, format="json"
        )

        assert response.status_code == 400
        assert response.json() == {"events": [{}, {"external_user_id": ['Unknown external user id "ghost".']}]}
        assert not ActivityEvent.objects.exists()

    def test_external_ids_are_compared_exactly(self, db):
        account = service_account()
        platform_user_put(external_id="abc")
        response = client_for(account).post("/api/events/", word(external_user_id="ABC"), format="json")
        assert response.status_code == 400
        assert "external_user_id" in response.json()

    def test_naming_both_user_and_external_id_is_400(self, db):
        account = service_account()
        ana, _ = platform_user_put(external_id="7")
        response = client_for(account).post(
            "/api/events/", word(external_user_id="7", user=ana.username), format="json"
        )
        assert response.status_code == 400
        assert "external_user_id" in response.json()

    def test_a_learner_naming_an_external_id_is_403_even_their_own(self, db):
        ana, _ = platform_user_put(external_id="7")
        response = client_for(ana).post("/api/events/", word(external_user_id="7"), format="json")
        assert response.status_code == 403
        assert not ActivityEvent.objects.exists()
