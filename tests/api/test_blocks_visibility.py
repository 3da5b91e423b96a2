"""While a block exists, in either direction, the two users do not exist for each other: search,
profiles and their sub-resources, friend requests, third parties' friends lists and friends
boards (past periods included) answer as for an unknown user. Classroom boards are unaffected.
Each endpoint's query count does not grow with the number of blocks."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import ClassroomRole, Friendship
from gamification.services.blocks import block_create
from tests.boards import practice
from tests.conftest import client_for
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db

PER_USER = ["/api/users/{}/", "/api/users/{}/friends/", "/api/users/{}/badges/", "/api/users/{}/streaks/"]


@pytest.fixture
def pair():
    """alice blocks bob; both have been friends and both practised this week."""
    alice = UserFactory(username="alice", name="Alice")
    bob = UserFactory(username="bob", name="Bob")
    make_friends(alice, bob, since=timezone.now() - dt.timedelta(days=60))
    now = timezone.now()
    practice(alice, "reading", 300, now)
    practice(bob, "reading", 600, now)
    block_create(blocker=alice, username="bob")
    return alice, bob


def both_ways(pair):
    alice, bob = pair
    return [(alice, bob), (bob, alice)]


def search(user, term):
    response = client_for(user).get("/api/users/", {"search": term})
    assert response.status_code == 200
    return [row["username"] for row in response.json()]


def test_search_leaves_them_out_both_ways(pair):
    third = UserFactory(username="bobby")
    for viewer, other in both_ways(pair):
        assert other.username not in search(viewer, other.username)
        assert other.username not in search(viewer, other.name)  # display-name match too
    assert search(pair[0], "bob") == [third.username]


@pytest.mark.parametrize("template", PER_USER)
def test_profile_and_sub_resources_are_404_both_ways_like_an_unknown_user(pair, template):
    for viewer, other in both_ways(pair):
        client = client_for(viewer)

        hidden = client.get(template.format(other.username.upper()))
        unknown = client.get(template.format("no_such_user"))

        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json() == unknown.json()


def test_a_friend_request_either_way_is_404_like_an_unknown_user(pair):
    for viewer, other in both_ways(pair):
        client = client_for(viewer)

        hidden = client.post("/api/friend-requests/", {"receiver": other.username}, format="json")
        unknown = client.post("/api/friend-requests/", {"receiver": "no_such_user"}, format="json")

        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json() == unknown.json()


def test_unblocking_makes_them_visible_again(pair):
    alice, bob = pair
    assert client_for(alice).delete("/api/blocks/bob/").status_code == 204

    assert client_for(bob).get("/api/users/alice/").status_code == 200
    assert "alice" in search(bob, "alice")
    assert client_for(bob).post("/api/friend-requests/", {"receiver": "alice"}, format="json").status_code == 201


def test_a_third_partys_friends_list_leaves_out_whom_the_viewer_is_blocked_with(pair):
    alice, bob = pair
    carol = UserFactory(username="carol")
    make_friends(carol, alice)
    make_friends(carol, bob)

    seen_by_alice = client_for(alice).get("/api/users/carol/friends/").json()
    seen_by_bob = client_for(bob).get("/api/users/carol/friends/").json()
    seen_by_carol = client_for(carol).get("/api/users/carol/friends/").json()

    assert [row["username"] for row in seen_by_alice] == ["alice"]
    assert [row["username"] for row in seen_by_bob] == ["bob"]
    assert [row["username"] for row in seen_by_carol] == ["alice", "bob"]


def board_names(user, **params):
    response = client_for(user).get("/api/leaderboards/friends/", {"metric": "reading_time", **params})
    assert response.status_code == 200, response.content
    return [row["user"]["username"] for row in response.json()["rows"]]


def test_they_leave_each_others_friends_boards_past_periods_included(pair):
    # Friends for the whole of last month: last month's board would show them.
    assert Friendship.objects.filter(active=None).count() == 1
    for viewer in pair:
        assert board_names(viewer) == [viewer.username]
        assert board_names(viewer, period="month", offset=-1) == [viewer.username]
        assert board_names(viewer, period="all") == [viewer.username]


def test_past_boards_still_show_them_without_a_block():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    friendship = make_friends(alice, bob, since=timezone.now() - dt.timedelta(days=90))
    Friendship.objects.filter(pk=friendship.pk).update(active=None, ended_at=timezone.now() - dt.timedelta(days=1))

    assert set(board_names(alice, period="month", offset=-1)) == {"alice", "bob"}


def test_classroom_boards_still_show_both(pair):
    alice, bob = pair
    classroom = ClassroomFactory(leaderboard_enabled=True)
    teacher = UserFactory(username="teacher")
    MembershipFactory(classroom=classroom, user=teacher, role=ClassroomRole.TEACHER)
    MembershipFactory(classroom=classroom, user=alice)
    MembershipFactory(classroom=classroom, user=bob)

    for viewer in (alice, bob, teacher):
        response = client_for(viewer).get(f"/api/leaderboards/classrooms/{classroom.pk}/", {"metric": "reading_time"})
        assert response.status_code == 200
        assert [row["user"]["username"] for row in response.json()["rows"]] == ["bob", "alice"]


# Query budgets: a block adds no query, whatever the number of blocks ------------------------------


def many_blocks(user, n):
    for _ in range(n):
        block_create(blocker=user, username=UserFactory().username)
    for _ in range(n):
        block_create(blocker=UserFactory(), username=user.username)


def count_queries(django_assert_max_num_queries, client, calls):
    counts = []
    for method, path, params in calls:
        with django_assert_max_num_queries(100) as captured:
            response = (
                getattr(client, method)(path, params, format="json") if method == "post" else client.get(path, params)
            )
        assert response.status_code < 500
        counts.append(len(captured.captured_queries))
    return counts


CALLS = [
    ("get", "/api/users/", {"search": "a"}),
    ("get", "/api/users/carol/", {}),
    ("get", "/api/users/carol/friends/", {}),
    ("get", "/api/users/carol/badges/", {}),
    ("get", "/api/users/carol/streaks/", {}),
    ("get", "/api/friends/", {}),
    ("get", "/api/friend-requests/", {}),
    ("get", "/api/leaderboards/friends/", {"metric": "reading_time"}),
    ("get", "/api/leaderboards/friends/", {"metric": "reading_time", "period": "month", "offset": -1}),
    ("get", "/api/blocks/", {}),
]


def test_query_counts_do_not_grow_with_the_number_of_blocks(django_assert_max_num_queries):
    viewer = UserFactory(username="viewer_a")
    carol = UserFactory(username="carol")
    make_friends(viewer, carol)
    for _ in range(3):
        friend = UserFactory()
        make_friends(carol, friend)
        make_friends(viewer, friend)
    client = client_for(viewer)
    client.get("/api/friends/")  # warm the token and caches
    many_blocks(viewer, 1)
    count_queries(django_assert_max_num_queries, client, CALLS)  # the badge catalogue is loaded once per process
    baseline = count_queries(django_assert_max_num_queries, client, CALLS)

    many_blocks(viewer, 40)
    # Blocked former friends of the viewer and of carol.
    for _ in range(10):
        friend = UserFactory()
        make_friends(carol, friend)
        make_friends(viewer, friend, since=timezone.now() - dt.timedelta(days=90))
        block_create(blocker=viewer, username=friend.username)
    after = count_queries(django_assert_max_num_queries, client, CALLS)

    assert after == baseline
