"""``/search_users?query=`` (docs/zeeguu.md; behaviours of upstream's own search tests)."""

from urllib.parse import quote

import pytest

from gamification.throttles import SearchThrottle
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends
from tests.zeeguu.conftest import frontend_for, message_of

pytestmark = pytest.mark.django_db


def search(user, term: str) -> list[str]:
    response = frontend_for(user).get(f"/search_users?query={quote(term)}")
    assert response.status_code == 200, response.content
    return [item["username"] for item in response.json()]


@pytest.fixture
def viewer():
    return UserFactory(username="john", email="john@example.com")


def test_usernames_match_ignoring_case(viewer):
    UserFactory(username="brave_tiger1")
    UserFactory(username="brave_owl2")
    assert "brave_tiger1" in search(viewer, "brave")
    assert "brave_owl2" in search(viewer, "BRAVE")


@pytest.mark.parametrize("term", ["nomatch_at_all", "", "   ", "someone@example.com"])
def test_no_match_empty_and_email_find_nobody(viewer, term):
    UserFactory(username="someone", email="someone@example.com")
    assert search(viewer, term) == []


def test_the_query_parameter_may_be_missing(viewer):
    assert frontend_for(viewer).get("/search_users").json() == []


def test_percent_and_underscore_are_literal(viewer):
    UserFactory(username="nopercent_user")
    UserFactory(username="aXc_user42")
    UserFactory(username="a_c_literal")
    assert search(viewer, "%") == []
    assert search(viewer, "a_c") == ["a_c_literal"]


def test_an_injection_string_is_just_text(viewer):
    assert search(viewer, "'; DROP TABLE user; --") == []
    assert search(viewer, "j") == []  # the viewer is never found, and the table is still there


def test_exact_then_prefix_then_the_rest_shorter_first(viewer):
    for name in ("bigjohn", "johnny", "john1", "john123456", "johnathan"):
        UserFactory(username=name)
    other = UserFactory(username="someone_else")
    assert search(other, "john") == ["john", "john1", "johnny", "johnathan", "john123456", "bigjohn"]
    assert search(viewer, "john") == ["john1", "johnny", "johnathan", "john123456", "bigjohn"]


def test_shorter_first_then_alphabetical(viewer):
    for name in ("witty_beaver123456", "witty_beaver1", "witty_beaver0"):
        UserFactory(username=name)
    assert search(viewer, "witty_beaver") == ["witty_beaver0", "witty_beaver1", "witty_beaver123456"]


def test_a_whole_display_name_matches(viewer):
    UserFactory(username="zz_top", name="Maria Schmidt")
    assert search(viewer, "maria schmidt") == ["zz_top"]
    assert search(viewer, "maria") == []


def test_at_most_20(viewer):
    for i in range(25):
        UserFactory(username=f"many{i:02d}")
    assert len(search(viewer, "many")) == 20


@pytest.mark.parametrize("term", ["x" * 101, "jo\x00hn"])
def test_a_term_the_api_would_refuse_finds_nobody(viewer, term):
    UserFactory(username="johnny")
    assert search(UserFactory(), term) == []


def test_each_result_says_how_we_relate(viewer):
    friend, asked, asking, _stranger = (UserFactory(username=f"pal_{n}", name=n.title()) for n in ("f", "a", "b", "s"))
    make_friends(viewer, friend)
    make_friend_request(viewer, asked)
    make_friend_request(asking, viewer)

    results = {item["username"]: item for item in frontend_for(viewer).get("/search_users?query=pal_").json()}

    for item in results.values():
        assert set(item) == {"name", "username", "avatar", "friendship", "friend_request"}
    assert set(results["pal_f"]["friendship"]) == {"created_at", "friend_streak", "friend_streak_last_updated"}
    assert results["pal_f"]["friend_request"] is None
    assert results["pal_a"]["friendship"] is None
    assert results["pal_a"]["friend_request"]["sender"] == {"name": "", "username": "john"}
    assert results["pal_a"]["friend_request"]["receiver"] == {"name": "A", "username": "pal_a"}
    assert results["pal_a"]["friend_request"]["created_at"]
    # How the frontend tells "they sent you a request": the sender is the row's user.
    assert results["pal_b"]["friend_request"]["sender"]["username"] == "pal_b"
    assert results["pal_s"]["friendship"] is None and results["pal_s"]["friend_request"] is None


def test_a_constant_number_of_queries(viewer, django_assert_num_queries):
    make_friends(viewer, UserFactory(username="pal_first"))
    client = frontend_for(viewer)
    client.get("/validate")
    with django_assert_num_queries(4):  # session, search, friendships, requests
        assert len(client.get("/search_users?query=pal").json()) == 1
    for i in range(9):
        pal = UserFactory(username=f"pal{i}")
        if i % 2:
            make_friends(viewer, pal)
        else:
            make_friend_request(pal, viewer)
    with django_assert_num_queries(4):
        assert len(client.get("/search_users?query=pal").json()) == 10


def test_searching_shares_the_api_rate_limit(viewer, settings, monkeypatch):
    settings.THROTTLING_ENABLED = True
    monkeypatch.setattr(SearchThrottle, "rate", "2/min", raising=False)
    assert client_for(viewer).get("/api/users/?search=a").status_code == 200
    assert frontend_for(viewer).get("/search_users?query=a").status_code == 200
    assert message_of(frontend_for(viewer).get("/search_users?query=a"), 429) == "Too many requests; try again later."
