"""Privacy settings (``/api/me/privacy/``) and how every endpoint obeys them: progress visible to
friends or nobody, discoverable in search, on other learners' leaderboards."""

import pytest
from django.utils import timezone

from gamification.models import ClassroomRole, LanguageStreak, PrivacySettings
from gamification.services.privacy import privacy_settings_update
from tests.boards import practice
from tests.conftest import client_for
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory, make_friends
from tests.zeeguu.conftest import frontend_for

pytestmark = pytest.mark.django_db

DEFAULTS = {"progress_visible_to": "friends", "discoverable": True, "on_leaderboards": True}


def test_defaults_without_a_row(auth_client):
    response = auth_client.get("/api/me/privacy/")

    assert response.status_code == 200
    assert response.json() == DEFAULTS
    assert not PrivacySettings.objects.exists()


def test_patch_changes_only_the_fields_sent_and_answers_all_three(user, auth_client):
    first = auth_client.patch("/api/me/privacy/", {"discoverable": False}, format="json")
    second = auth_client.patch("/api/me/privacy/", {"progress_visible_to": "nobody"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json() == {**DEFAULTS, "discoverable": False}
    assert second.json() == {"progress_visible_to": "nobody", "discoverable": False, "on_leaderboards": True}
    assert auth_client.get("/api/me/privacy/").json() == second.json()
    assert PrivacySettings.objects.get(user=user).progress_visible_to == "nobody"


@pytest.mark.parametrize(
    "body",
    [
        {"progress_visible_to": "everyone"},
        {"progress_visible_to": ""},
        {"progress_visible_to": None},
        {"progress_visible_to": ["friends"]},
        {"discoverable": "false"},
        {"discoverable": 0},
        {"on_leaderboards": None},
    ],
)
def test_other_values_are_400_and_change_nothing(auth_client, body):
    response = auth_client.patch("/api/me/privacy/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(body)
    assert auth_client.get("/api/me/privacy/").json() == DEFAULTS


def test_a_body_that_is_not_an_object_is_400(auth_client):
    assert auth_client.patch("/api/me/privacy/", [1], format="json").status_code == 400


def test_needs_a_login(api_client):
    assert api_client.get("/api/me/privacy/").status_code == 401
    assert api_client.patch("/api/me/privacy/", {}, format="json").status_code == 401


# progress_visible_to -----------------------------------------------------------------------------


@pytest.fixture
def private_friend():
    """``me`` and ``friend`` are friends; ``friend`` shows their progress to nobody."""
    me, friend = UserFactory(username="me_user"), UserFactory(username="friend")
    make_friends(me, friend)
    today = timezone.now().date()
    LanguageStreak.objects.create(
        user=friend, language_id="de", length=3, last_date=today, max_length=5, max_date=today
    )
    privacy_settings_update(user=friend, progress_visible_to="nobody")
    return me, friend


@pytest.mark.parametrize("part", ["friends", "badges", "streaks"])
def test_progress_nobody_makes_friends_get_403_and_leaves_the_user_200(private_friend, part):
    me, friend = private_friend

    assert client_for(me).get(f"/api/users/friend/{part}/").status_code == 403
    assert client_for(friend).get(f"/api/users/friend/{part}/").status_code == 200
    privacy_settings_update(user=friend, progress_visible_to="friends")
    assert client_for(me).get(f"/api/users/friend/{part}/").status_code == 200


def test_progress_nobody_hides_their_streaks_in_my_friends_list(private_friend):
    me, friend = private_friend

    (row,) = client_for(me).get("/api/friends/").json()

    assert row["username"] == "friend"
    assert row["languages"] == []
    privacy_settings_update(user=friend, progress_visible_to="friends")
    assert client_for(me).get("/api/friends/").json()[0]["languages"] != []


def test_progress_nobody_holds_on_the_zeeguu_paths(private_friend):
    me, _ = private_friend
    frontend = frontend_for(me)

    assert frontend.get("/friends_of/friend").status_code == 403
    assert frontend.get("/friend_badges/friend").status_code == 403
    stranger = UserFactory(username="stranger")
    LanguageStreak.objects.create(user=stranger, language_id="de", length=3, max_length=5)
    reduced = frontend.get("/friend_language_streak_history/stranger").json()
    assert frontend.get("/friend_language_streak_history/friend").json() == reduced  # a stranger's
    assert frontend_for(private_friend[1]).get("/language_streak_history").json() != reduced


# discoverable ------------------------------------------------------------------------------------


def search(user, term):
    response = client_for(user).get("/api/users/", {"search": term})
    assert response.status_code == 200
    return [row["username"] for row in response.json()]


def test_undiscoverable_users_are_found_by_their_exact_username_only():
    viewer = UserFactory(username="viewer")
    hidden = UserFactory(username="quiet_otter", name="Quiet")
    shown = UserFactory(username="quiet_owl")
    privacy_settings_update(user=hidden, discoverable=False)

    assert search(viewer, "quiet") == [shown.username]
    assert search(viewer, "Quiet") == [shown.username]  # nor by display name
    assert search(viewer, "QUIET_OTTER") == ["quiet_otter"]
    assert frontend_for(viewer).get("/search_users?query=quiet").json()[0]["username"] == "quiet_owl"
    assert len(frontend_for(viewer).get("/search_users?query=quiet").json()) == 1
    # A profile is still reachable by its username.
    assert client_for(viewer).get("/api/users/quiet_otter/").status_code == 200


# on_leaderboards ---------------------------------------------------------------------------------


def names_and_ranks(response):
    assert response.status_code == 200, response.content
    body = response.json()
    return [(row["rank"], row["user"]["username"]) for row in body["rows"]], body["me"]


@pytest.fixture
def board_cast():
    """Friends of ``me``: top (900 s), shy (600 s, off the boards), low (300 s); me: 100 s."""
    now = timezone.now()
    me = UserFactory(username="me_user")
    users = {"me_user": me}
    for name, seconds in (("top", 900), ("shy", 600), ("low", 300)):
        users[name] = UserFactory(username=name)
        make_friends(me, users[name])
        practice(users[name], "reading", seconds, now)
    practice(me, "reading", 100, now)
    make_friends(users["shy"], users["top"])
    privacy_settings_update(user=users["shy"], on_leaderboards=False)
    return users


def test_off_leaderboards_leaves_friends_boards_and_ranks_are_computed_without_them(board_cast):
    rows, me = names_and_ranks(client_for(board_cast["me_user"]).get("/api/leaderboards/friends/?metric=reading_time"))

    assert rows == [(1, "top"), (2, "low"), (3, "me_user")]
    assert me == {"rank": 3, "value": 100}


def test_off_leaderboards_still_sees_themself_ranked_among_the_others(board_cast):
    rows, me = names_and_ranks(client_for(board_cast["shy"]).get("/api/leaderboards/friends/?metric=reading_time"))

    assert rows == [(1, "top"), (2, "shy"), (3, "me_user")]
    assert me == {"rank": 2, "value": 600}


def test_off_leaderboards_on_classroom_boards_teachers_still_see_them(board_cast):
    classroom = ClassroomFactory(leaderboard_enabled=True)
    teacher = UserFactory(username="teacher")
    MembershipFactory(classroom=classroom, user=teacher, role=ClassroomRole.TEACHER)
    for name in ("top", "shy", "low"):
        MembershipFactory(classroom=classroom, user=board_cast[name])
    url = f"/api/leaderboards/classrooms/{classroom.pk}/?metric=reading_time"

    assert names_and_ranks(client_for(board_cast["low"]).get(url))[0] == [(1, "top"), (2, "low")]
    assert names_and_ranks(client_for(board_cast["shy"]).get(url))[0] == [(1, "top"), (2, "shy"), (3, "low")]
    assert names_and_ranks(client_for(teacher).get(url))[0] == [(1, "top"), (2, "shy"), (3, "low")]


def test_off_leaderboards_holds_on_the_zeeguu_boards(board_cast):
    rows = frontend_for(board_cast["me_user"]).get("/friends_leaderboard?metric=reading_time").json()

    assert [row["user"]["username"] for row in rows] == ["top", "low", "me_user"]


# Query budgets -----------------------------------------------------------------------------------


CALLS = [
    "/api/users/?search=a",
    "/api/friends/",
    "/api/users/carol/friends/",
    "/api/users/carol/badges/",
    "/api/leaderboards/friends/?metric=reading_time",
    "/api/leaderboards/classrooms/{classroom}/?metric=reading_time",
    "/api/me/privacy/",
]


def test_privacy_settings_add_no_query_whatever_their_number(django_assert_max_num_queries):
    viewer = UserFactory(username="viewer_a")
    carol = UserFactory(username="carol")
    make_friends(viewer, carol)
    classroom = ClassroomFactory(leaderboard_enabled=True)
    MembershipFactory(classroom=classroom, user=viewer)

    def add_friends(n, **settings):
        for _ in range(n):
            friend = UserFactory()
            make_friends(viewer, friend)
            make_friends(carol, friend)
            MembershipFactory(classroom=classroom, user=friend)
            if settings:
                privacy_settings_update(user=friend, **settings)

    def counts():
        client = client_for(viewer)
        result = []
        for path in CALLS:
            with django_assert_max_num_queries(100) as captured:
                assert client.get(path.format(classroom=classroom.pk)).status_code == 200
            result.append(len(captured.captured_queries))
        return result

    add_friends(2)
    add_friends(1, on_leaderboards=False, discoverable=False, progress_visible_to="nobody")
    counts()  # the badge catalogue is loaded once per process
    baseline = counts()
    add_friends(20, on_leaderboards=False, discoverable=False, progress_visible_to="nobody")
    privacy_settings_update(user=viewer, discoverable=False)

    assert counts() == baseline
