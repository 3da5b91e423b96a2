import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from gamification.models import Friendship
from tests.boards import first, practice
from tests.conftest import client_for
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory, make_friends

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 12, 12, 0, tzinfo=UTC)  # Wednesday
THIS_WEEK = dt.datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
LAST_WEEK = dt.datetime(2024, 6, 5, 9, 0, tzinfo=UTC)
LONG_AGO = dt.datetime(2023, 1, 10, 9, 0, tzinfo=UTC)
FRIENDS_URL = "/api/leaderboards/friends/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def classroom_url(classroom) -> str:
    return f"/api/leaderboards/classrooms/{classroom.pk}/"


class TestFriendsBoard:
    def test_response_shape(self):
        me = UserFactory(username="me_user", name="Me")
        friend = UserFactory(username="pal")
        make_friends(me, friend, since=LONG_AGO)
        practice(friend, "reading", 120, THIS_WEEK)
        practice(me, "reading", 60, THIS_WEEK)

        response = client_for(me).get(FRIENDS_URL, {"metric": "reading_time"})

        assert response.status_code == 200
        body = response.json()
        assert body == {
            "metric": "reading_time",
            "period": "week",
            "period_start": "2024-06-10T00:00:00+00:00",
            "period_end": "2024-06-17T00:00:00+00:00",
            "rows": [
                {
                    "rank": 1,
                    "user": {
                        "username": "pal",
                        "name": "",
                        "avatar": {
                            "image": friend.avatar_image,
                            "character_color": friend.avatar_character_color,
                            "background_color": friend.avatar_background_color,
                        },
                    },
                    "value": 120,
                    "is_self": False,
                    "is_friend": True,
                },
                {
                    "rank": 2,
                    "user": {
                        "username": "me_user",
                        "name": "Me",
                        "avatar": {
                            "image": me.avatar_image,
                            "character_color": me.avatar_character_color,
                            "background_color": me.avatar_background_color,
                        },
                    },
                    "value": 60,
                    "is_self": True,
                    "is_friend": False,
                },
            ],
            "me": {"rank": 2, "value": 60},
        }
        assert "@" not in response.content.decode()

    def test_period_bounds_are_in_the_requesters_timezone(self):
        me = UserFactory(timezone="Australia/Brisbane")

        body = client_for(me).get(FRIENDS_URL, {"metric": "reading_time", "period": "month", "offset": -1}).json()

        assert body["period"] == "month"
        assert body["period_start"] == "2024-05-01T00:00:00+10:00"
        assert body["period_end"] == "2024-06-01T00:00:00+10:00"

    def test_all_time_has_null_bounds(self):
        me = UserFactory()
        first(me, "article", LONG_AGO, "42")

        body = client_for(me).get(FRIENDS_URL, {"metric": "read_articles", "period": "all"}).json()

        assert (body["period_start"], body["period_end"]) == (None, None)
        assert body["me"] == {"rank": 1, "value": 1}

    def test_limit_cuts_rows_but_not_me(self):
        me = UserFactory()
        for seconds in (30, 20):
            friend = UserFactory()
            make_friends(me, friend, since=LONG_AGO)
            practice(friend, "listening", seconds, THIS_WEEK)

        body = client_for(me).get(FRIENDS_URL, {"metric": "listening_time", "limit": 1}).json()

        assert [row["value"] for row in body["rows"]] == [30]
        assert body["me"] == {"rank": 3, "value": 0}

    def test_friend_removed_this_week_via_the_api(self):
        me, pal = UserFactory(), UserFactory()
        make_friends(me, pal, since=LONG_AGO)
        practice(pal, "reading", 60, LAST_WEEK)
        client = client_for(me)
        # Unfriended on Tuesday of this week.
        Friendship.objects.filter(active=True).update(active=None, ended_at=THIS_WEEK)

        last_week = client.get(FRIENDS_URL, {"metric": "reading_time", "offset": -1}).json()
        this_week = client.get(FRIENDS_URL, {"metric": "reading_time"}).json()

        assert [row["user"]["username"] for row in last_week["rows"]] == [pal.username, me.username]
        assert [row["user"]["username"] for row in this_week["rows"]] == [me.username]

    def test_anonymous_is_401(self):
        response = APIClient().get(FRIENDS_URL, {"metric": "reading_time"})

        assert response.status_code == 401

    @pytest.mark.parametrize("friends", [2, 30])
    def test_query_count_does_not_grow_with_friends(self, friends, django_assert_num_queries):
        me = UserFactory()
        for _ in range(friends):
            friend = UserFactory()
            make_friends(me, friend, since=LONG_AGO)
            practice(friend, "reading", 10, THIS_WEEK)
        client = client_for(me)

        # token lookup + friendships with both users + values
        with django_assert_num_queries(3):
            response = client.get(FRIENDS_URL, {"metric": "reading_time"})

        assert len(response.json()["rows"]) == friends + 1


class TestValidation:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({}, "metric"),
            ({"metric": ""}, "metric"),
            ({"metric": "steps"}, "metric"),
            ({"metric": "reading_time", "period": "year"}, "period"),
            ({"metric": "reading_time", "offset": 1}, "offset"),
            ({"metric": "reading_time", "offset": -521}, "offset"),
            ({"metric": "reading_time", "offset": "last"}, "offset"),
            ({"metric": "reading_time", "offset": "9" * 400}, "offset"),
            ({"metric": "reading_time", "limit": 0}, "limit"),
            ({"metric": "reading_time", "limit": 101}, "limit"),
            ({"metric": "reading_time", "limit": "ten"}, "limit"),
            ({"metric": "reading_time", "limit": "1.5"}, "limit"),
        ],
    )
    def test_bad_parameters_are_400_with_field_errors(self, params, field):
        response = client_for(UserFactory()).get(FRIENDS_URL, params)

        assert response.status_code == 400
        assert list(response.json()) == [field]

    def test_a_query_string_answers_the_same_each_time_valid_or_not(self):
        client = client_for(UserFactory())
        for _ in range(2):
            good = client.get(FRIENDS_URL, {"metric": "reading_time", "limit": 3, "period": "month"})
            bad = client.get(FRIENDS_URL, {"metric": "reading_time", "limit": 101})

            assert good.status_code == 200
            assert (good.json()["period"], good.json()["metric"]) == ("month", "reading_time")
            assert bad.status_code == 400
            assert list(bad.json()) == ["limit"]

    def test_bad_parameters_on_a_classroom_board_are_400(self):
        classroom = ClassroomFactory(leaderboard_enabled=True)
        student = MembershipFactory(classroom=classroom).user

        response = client_for(student).get(classroom_url(classroom), {"metric": "reading_time", "limit": 101})

        assert response.status_code == 400
        assert "limit" in response.json()

    @pytest.mark.parametrize(("params", "count"), [({"limit": 100, "offset": -520}, 1), ({"limit": 1}, 1)])
    def test_extreme_valid_parameters_are_accepted(self, params, count):
        response = client_for(UserFactory()).get(FRIENDS_URL, {"metric": "audio_lessons", **params})

        assert response.status_code == 200
        assert len(response.json()["rows"]) == count


class TestClassroomBoard:
    @pytest.fixture
    def classroom(self):
        return ClassroomFactory(leaderboard_enabled=True)

    def test_student_sees_classmates_with_friend_flags(self, classroom):
        me = MembershipFactory(classroom=classroom).user
        friend = MembershipFactory(classroom=classroom).user
        make_friends(me, friend, since=LONG_AGO)
        MembershipFactory(classroom=classroom, role="teacher")
        practice(friend, "exercises", 50, THIS_WEEK)

        response = client_for(me).get(classroom_url(classroom), {"metric": "exercise_time"})

        assert response.status_code == 200
        body = response.json()
        assert [(row["user"]["username"], row["value"], row["is_friend"], row["is_self"]) for row in body["rows"]] == [
            (friend.username, 50, True, False),
            (me.username, 0, False, True),
        ]
        assert body["me"] == {"rank": 2, "value": 0}

    def test_teacher_sees_students_and_is_not_ranked(self, classroom):
        teacher = MembershipFactory(classroom=classroom, role="teacher").user
        student = MembershipFactory(classroom=classroom).user

        body = client_for(teacher).get(classroom_url(classroom), {"metric": "reading_time"}).json()

        assert [row["user"]["username"] for row in body["rows"]] == [student.username]
        assert body["me"] is None

    def test_stranger_is_403(self, classroom):
        MembershipFactory(classroom=classroom)

        response = client_for(UserFactory()).get(classroom_url(classroom), {"metric": "reading_time"})

        assert response.status_code == 403
        assert "detail" in response.json()

    def test_anonymous_is_401(self, classroom):
        assert APIClient().get(classroom_url(classroom), {"metric": "reading_time"}).status_code == 401

    def test_disabled_board_is_403_for_students_and_open_to_teachers(self):
        classroom = ClassroomFactory(leaderboard_enabled=False)
        student = MembershipFactory(classroom=classroom).user
        teacher = MembershipFactory(classroom=classroom, role="teacher").user

        assert client_for(student).get(classroom_url(classroom), {"metric": "reading_time"}).status_code == 403
        assert client_for(teacher).get(classroom_url(classroom), {"metric": "reading_time"}).status_code == 200

    @pytest.mark.parametrize("classroom_id", ["987654", "9" * 30])
    def test_unknown_classroom_is_404(self, classroom_id):
        response = client_for(UserFactory()).get(
            f"/api/leaderboards/classrooms/{classroom_id}/", {"metric": "reading_time"}
        )

        assert response.status_code == 404
        assert "detail" in response.json()

    @pytest.mark.parametrize("students", [2, 30])
    def test_query_count_does_not_grow_with_students(self, classroom, students, django_assert_num_queries):
        me = MembershipFactory(classroom=classroom).user
        for _ in range(students - 1):
            practice(MembershipFactory(classroom=classroom).user, "reading", 5, THIS_WEEK)
        client = client_for(me)

        # token + classroom with its members and friend flags + values
        with django_assert_num_queries(3):
            response = client.get(classroom_url(classroom), {"metric": "reading_time"})

        assert len(response.json()["rows"]) == students
