"""Other users over HTTP: search, profiles and friends lists (SPEC §5, §6.2, §6.3)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from gamification.models import User
from gamification.views.throttles import SearchThrottle
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db

RELATIONSHIP_KEYS = {"status", "friend_streak", "friends_since", "request_id"}
NO_RELATIONSHIP = {"status": "none", "friend_streak": None, "friends_since": None, "request_id": None}


@pytest.fixture
def me():
    return UserFactory(username="me_user")


def usernames(response) -> list[str]:
    return [item["username"] for item in response.json()]


class TestSearch:
    def test_results_are_summaries_with_relationship(self, me):
        friend = UserFactory(username="fox_friend", name="Fran")
        friendship = make_friends(me, friend)
        asked = UserFactory(username="fox_asked")
        sent = make_friend_request(me, asked)
        asker = UserFactory(username="fox_asker")
        received = make_friend_request(asker, me)
        UserFactory(username="fox_nobody")

        response = client_for(me).get("/api/users/", {"search": "FOX"})

        assert response.status_code == 200
        body = {item["username"]: item for item in response.json()}
        assert set(body["fox_friend"]) == {"username", "name", "avatar", "relationship"}
        assert body["fox_friend"]["name"] == "Fran"
        assert set(body["fox_friend"]["avatar"]) == {"image", "character_color", "background_color"}
        rel = body["fox_friend"]["relationship"]
        assert set(rel) == RELATIONSHIP_KEYS
        assert rel["status"] == "friends" and rel["friend_streak"] == 0 and rel["request_id"] is None
        assert dt.datetime.fromisoformat(rel["friends_since"]) == friendship.created_at
        assert body["fox_asked"]["relationship"] == {**NO_RELATIONSHIP, "status": "request_sent", "request_id": sent.pk}
        assert body["fox_asker"]["relationship"] == {
            **NO_RELATIONSHIP,
            "status": "request_received",
            "request_id": received.pk,
        }
        assert body["fox_nobody"]["relationship"] == NO_RELATIONSHIP

    @pytest.mark.parametrize("query", ["", "?search=", "?search=%20%20", "?other=fox"])
    def test_missing_or_blank_term_is_an_empty_list(self, me, query):
        UserFactory(username="fox")

        response = client_for(me).get(f"/api/users/{query}")

        assert response.status_code == 200
        assert response.json() == []

    def test_order_exact_prefix_contains_then_length_then_alphabet(self, me):
        for name in ["xx_fox", "fox_b", "FOX", "a_fox", "Fox_a", "foxes", "Foxes1", "fox.a"]:
            UserFactory(username=name)
        UserFactory(username="zed", name="fox")

        response = client_for(me).get("/api/users/?search=fox")

        # Same length: code point order of the lower-cased names ("." < "_" < letters).
        assert usernames(response) == ["FOX", "fox.a", "Fox_a", "fox_b", "foxes", "Foxes1", "zed", "a_fox", "xx_fox"]

    @pytest.mark.parametrize("term,expected", [("%", []), ("_", ["a_b"]), ("\\", []), ("a_", ["a_b"]), ("a%", [])])
    def test_wildcards_are_literal(self, me, term, expected):
        me.username = "meuser"
        me.save(update_fields=["username"])
        UserFactory(username="a_b")
        UserFactory(username="abc")

        response = client_for(me).get("/api/users/", {"search": term})

        assert response.status_code == 200
        assert usernames(response) == expected

    def test_sql_injection_is_harmless(self, me):
        UserFactory(username="victim")
        count = User.objects.count()

        response = client_for(me).get("/api/users/", {"search": "'; DROP TABLE gamification_user; --"})

        assert response.status_code == 200
        assert response.json() == []
        assert User.objects.count() == count

    def test_never_myself(self, me):
        UserFactory(username="me_user2")

        assert usernames(client_for(me).get("/api/users/?search=me_user")) == ["me_user2"]

    def test_display_name_equality_ignoring_case(self, me):
        UserFactory(username="u_one", name="Ana Lopez")
        UserFactory(username="u_two", name="Ana Lopez Garcia")

        assert usernames(client_for(me).get("/api/users/", {"search": "ana LOPEZ"})) == ["u_one"]

    def test_at_most_20(self, me):
        User.objects.bulk_create(
            [
                User(
                    email=f"w{i}@example.com",
                    username=f"wolf{i:02d}",
                    avatar_image="wolf",
                    avatar_character_color="#F6D110",
                    avatar_background_color="#FFF9C7",
                )
                for i in range(25)
            ]
        )

        assert len(client_for(me).get("/api/users/?search=wolf").json()) == 20

    @pytest.mark.parametrize("term", ["\x00", "a\x00b", " \x00 "])
    def test_a_null_character_is_400(self, me, term):
        UserFactory(username="plain_user")

        response = client_for(me).get("/api/users/", {"search": term})

        assert response.status_code == 400
        assert "search" in response.json()

    @pytest.mark.parametrize("term", ["🦊", "ß", "ﬁ", "İ", "%%%", "\\%", "'", '"', "` OR 1=1"])
    def test_odd_terms_never_fail(self, me, term):
        UserFactory(username="plain_user", name="İstanbul ß")

        response = client_for(me).get("/api/users/", {"search": term})

        assert response.status_code == 200
        assert response.json() == []

    def test_a_term_longer_than_100_characters_is_400(self, me):
        response = client_for(me).get("/api/users/", {"search": "a" * 101})

        assert response.status_code == 400
        assert "search" in response.json()

    def test_anonymous_is_401(self):
        assert APIClient().get("/api/users/?search=fox").status_code == 401

    def test_search_is_rate_limited(self, me, settings, monkeypatch):
        settings.THROTTLING_ENABLED = True
        monkeypatch.setattr(SearchThrottle, "rate", "2/min", raising=False)
        client = client_for(me)

        statuses = [client.get("/api/users/?search=fox").status_code for _ in range(3)]

        assert statuses == [200, 200, 429]

    def test_query_count_does_not_grow_with_results(self, me, django_assert_num_queries):
        # No friend among the results: token, prefix search, full search (fewer than 20 prefix
        # matches), relationships (friendships and requests in one query).
        UserFactory(username="owl_0")
        client = client_for(me)
        with django_assert_num_queries(4):
            assert len(client.get("/api/users/?search=owl").json()) == 1
        for i in range(1, 20):
            other = UserFactory(username=f"owl_{i}")
            if i % 3 == 0:
                make_friend_request(me, other)
            elif i % 3 == 1:
                make_friend_request(other, me)
        # 20 prefix matches: the prefix search is the answer, relationships included (token,
        # the prefix search).
        with django_assert_num_queries(2):
            assert len(client.get("/api/users/?search=owl").json()) == 20

    def test_query_count_with_friends_among_results_is_fixed(self, me, django_assert_num_queries):
        # 20 results either way (prefix matches), from one friend to twenty.
        make_friends(me, UserFactory(username="elk_0"))
        for i in range(1, 20):
            UserFactory(username=f"elk_x{i}")
        client = client_for(me)
        with CaptureQueriesContext(connection) as baseline:
            assert len(client.get("/api/users/?search=elk").json()) == 20
        User.objects.filter(username__startswith="elk_x").delete()
        for i in range(1, 20):
            make_friends(me, UserFactory(username=f"elk_{i}"))
        with django_assert_num_queries(len(baseline)):
            body = client.get("/api/users/?search=elk").json()
        assert len(body) == 20 and {item["relationship"]["status"] for item in body} == {"friends"}


class TestProfile:
    def test_summary_created_at_and_relationship(self, me, django_assert_num_queries):
        other = UserFactory(username="Heron", name="Hera")
        client = client_for(me)

        with django_assert_num_queries(3):  # token, user, friendships and requests
            response = client.get("/api/users/heron/")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"username", "name", "avatar", "created_at", "relationship"}
        assert body["username"] == "Heron" and body["name"] == "Hera"
        assert dt.datetime.fromisoformat(body["created_at"]) == other.created_at
        assert body["relationship"] == NO_RELATIONSHIP

    def test_my_own_profile_is_self(self, me):
        body = client_for(me).get("/api/users/ME_USER/").json()

        assert body["relationship"] == {**NO_RELATIONSHIP, "status": "self"}

    def test_a_friends_profile_shows_the_friendship_from_both_sides_of_the_pair(self, me):
        since = timezone.now() - dt.timedelta(days=10)
        heron = UserFactory(username="heron")
        make_friends(me, heron, since=since)

        mine = client_for(me).get("/api/users/heron/").json()["relationship"]
        theirs = client_for(heron).get("/api/users/me_user/").json()["relationship"]

        assert mine == theirs
        assert mine["status"] == "friends" and mine["friend_streak"] == 0 and mine["request_id"] is None
        assert dt.datetime.fromisoformat(mine["friends_since"]) == since

    def test_pending_requests_show_their_id_on_both_sides(self, me):
        heron = UserFactory(username="heron")
        request = make_friend_request(heron, me)

        mine = client_for(me).get("/api/users/heron/").json()["relationship"]
        theirs = client_for(heron).get("/api/users/me_user/").json()["relationship"]

        assert mine == {**NO_RELATIONSHIP, "status": "request_received", "request_id": request.pk}
        assert theirs == {**NO_RELATIONSHIP, "status": "request_sent", "request_id": request.pk}

    @pytest.mark.parametrize("username", ["nobody", "x" * 51, "a%20b", "..", "%00"])
    def test_unknown_username_is_404(self, me, username):
        response = client_for(me).get(f"/api/users/{username}/")

        assert response.status_code == 404
        assert response.json() == {"detail": "No user with this username."} or "detail" in response.json()


class TestUserFriends:
    def test_my_own_friends(self, me, django_assert_num_queries):
        make_friends(me, UserFactory(username="b_friend"))
        make_friends(me, UserFactory(username="A_friend"))
        client = client_for(me)

        with django_assert_num_queries(3):  # token, user, friends
            response = client.get("/api/users/me_user/friends/")

        assert response.status_code == 200
        assert usernames(response) == ["A_friend", "b_friend"]
        assert set(response.json()[0]) == {"username", "name", "avatar"}

    def test_a_friend_sees_their_friends_including_me(self, me, django_assert_num_queries):
        heron = UserFactory(username="heron")
        make_friends(me, heron)
        make_friends(heron, UserFactory(username="crane"))
        client = client_for(me)

        with django_assert_num_queries(3):  # token, user with are we friends, friends
            response = client.get("/api/users/HERON/friends/")

        assert response.status_code == 200
        assert usernames(response) == ["crane", "me_user"]

    def test_query_count_is_the_same_with_many_friends(self, me, django_assert_num_queries):
        heron = UserFactory(username="heron")
        make_friends(me, heron)
        for i in range(40):
            make_friends(heron, UserFactory(username=f"crane{i:02d}"))

        client = client_for(me)

        with django_assert_num_queries(3):
            assert len(client.get("/api/users/heron/friends/").json()) == 41

    def test_a_stranger_gets_403(self, me):
        heron = UserFactory(username="heron")
        make_friends(heron, UserFactory(username="crane"))

        response = client_for(me).get("/api/users/heron/friends/")

        assert response.status_code == 403
        assert "detail" in response.json()

    def test_unknown_user_is_404(self, me):
        assert client_for(me).get("/api/users/nobody/friends/").status_code == 404
