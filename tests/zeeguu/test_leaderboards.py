"""Leaderboards and cohorts through the Zeeguu-compatible paths (docs/zeeguu.md)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from gamification.models import ClassroomRole
from tests.boards import answer, first, practice
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory, make_friends
from tests.zeeguu.conftest import frontend_for, message_of

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# A Wednesday in the week Monday 2024-06-10 .. Sunday 2024-06-16.
NOW = dt.datetime(2024, 6, 12, 12, 0, tzinfo=UTC)
# What the frontend sends for that week (its computeWeeklyPeriod): local wall clock, no offset.
WEEK = "from_date=2024-06-10T00:00:00&to_date=2024-06-16T23:59:59"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def board(user, query: str, path: str = "/friends_leaderboard"):
    response = frontend_for(user).get(f"{path}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def values(rows: list[dict]) -> dict[str, int]:
    return {row["user"]["username"]: row["value"] for row in rows}


class TestFriendsBoard:
    def test_shape_units_and_order(self):
        me = UserFactory(username="me_user", name="Me")
        ann, ben, cal = (UserFactory(username=name) for name in ("ann", "ben", "cal"))
        for friend in (ann, ben, cal):
            make_friends(me, friend, since=NOW - dt.timedelta(days=30))
        practice(ann, "reading", 90, NOW - dt.timedelta(hours=1))
        practice(ann, "reading", 30, NOW - dt.timedelta(hours=2))
        practice(me, "reading", 61, NOW - dt.timedelta(hours=3))
        practice(ben, "listening", 500, NOW - dt.timedelta(hours=3))

        rows = board(me, f"metric=reading_time&{WEEK}")

        assert [row["user"]["username"] for row in rows[:2]] == ["ann", "me_user"]
        assert values(rows) == {"ann": 120_000, "me_user": 61_000, "ben": 0, "cal": 0}
        first_row = rows[0]
        assert set(first_row) == {"user", "value"}
        assert set(first_row["user"]) == {"name", "username", "avatar"}
        assert first_row["user"]["avatar"] == {
            "image_name": ann.avatar_image,
            "character_color": ann.avatar_character_color,
            "background_color": ann.avatar_background_color,
        }

    @pytest.mark.parametrize(
        "metric, expected",
        [
            ("reading_time", 10_000),
            ("listening_time", 20_000),
            ("exercise_time", 30_000),
            ("exercises_done", 2),
            ("read_articles", 1),
        ],
    )
    def test_each_metric_key_of_the_frontend(self, metric, expected):
        me = UserFactory(username="me_user")
        at = NOW - dt.timedelta(hours=1)
        practice(me, "reading", 10, at)
        practice(me, "listening", 20, at)
        practice(me, "exercises", 30, at)
        answer(me, at)
        answer(me, at)
        answer(me, at, correct=False)
        first(me, "article", at, "article-1")

        assert values(board(me, f"metric={metric}&{WEEK}")) == {"me_user": expected}

    def test_dates_without_an_offset_are_the_users_wall_clock(self):
        me = UserFactory(username="me_user", timezone="Europe/Copenhagen")  # UTC+2 in June
        # 00:30 local on Monday 10 June, and 00:30 local on Monday 17 June.
        practice(me, "reading", 100, dt.datetime(2024, 6, 9, 22, 30, tzinfo=UTC))
        practice(me, "reading", 7, dt.datetime(2024, 6, 16, 22, 30, tzinfo=UTC))
        # Half a second after 23:59:59 local on Sunday still belongs to the week.
        practice(me, "reading", 3, dt.datetime(2024, 6, 16, 21, 59, 59, 500_000, tzinfo=UTC))

        assert values(board(me, f"metric=reading_time&{WEEK}")) == {"me_user": 103_000}

    def test_an_offset_given_is_respected(self):
        me = UserFactory(username="me_user", timezone="Europe/Copenhagen")
        practice(me, "reading", 5, dt.datetime(2024, 6, 10, 0, 30, tzinfo=UTC))
        practice(me, "reading", 9, dt.datetime(2024, 6, 9, 23, 30, tzinfo=UTC))

        utc_week = "from_date=2024-06-10T00:00:00Z&to_date=2024-06-16T23:59:59%2B00:00"
        assert values(board(me, f"metric=reading_time&{utc_week}")) == {"me_user": 5_000}

    def test_bare_dates_cover_whole_days(self):
        me = UserFactory(username="me_user")
        practice(me, "reading", 4, dt.datetime(2024, 6, 11, 23, 0, tzinfo=UTC))
        practice(me, "reading", 8, dt.datetime(2024, 6, 12, 0, 0, tzinfo=UTC))

        assert values(board(me, "metric=reading_time&from_date=2024-06-11&to_date=2024-06-11")) == {"me_user": 4_000}

    def test_without_dates_all_activity_counts(self):
        me = UserFactory(username="me_user")
        practice(me, "reading", 4, NOW - dt.timedelta(days=300))
        practice(me, "reading", 6, NOW)
        assert values(board(me, "metric=reading_time")) == {"me_user": 10_000}

    def test_members_are_the_friends_at_to_date(self):
        me = UserFactory(username="me_user")
        kept, gone, new = (UserFactory(username=name) for name in ("kept", "gone", "new"))
        make_friends(me, kept, since=NOW - dt.timedelta(days=60))
        ended = make_friends(me, gone, since=NOW - dt.timedelta(days=60))
        ended.active, ended.ended_at = None, NOW - dt.timedelta(days=1)
        ended.save(update_fields=["active", "ended_at"])
        make_friends(me, new, since=NOW - dt.timedelta(hours=1))

        this_week = board(me, f"metric=reading_time&{WEEK}")
        last_week = board(me, "metric=reading_time&from_date=2024-06-03T00:00:00&to_date=2024-06-09T23:59:59")

        assert set(values(this_week)) == {"me_user", "kept", "new"}
        assert set(values(last_week)) == {"me_user", "kept", "gone"}

    def test_limit(self):
        me = UserFactory(username="me_user")
        for name in ("a1", "a2", "a3"):
            make_friends(me, UserFactory(username=name), since=NOW - dt.timedelta(days=9))
        assert len(board(me, f"metric=reading_time&{WEEK}&limit=2")) == 2
        assert len(board(me, f"metric=reading_time&{WEEK}")) == 4

    def test_a_constant_number_of_queries(self, django_assert_num_queries):
        me = UserFactory(username="me_user")
        client = frontend_for(me)
        client.get("/validate")
        with django_assert_num_queries(3):  # session token, friendships with users, values
            client.get(f"/friends_leaderboard?metric=reading_time&{WEEK}")
        for i in range(15):
            friend = UserFactory()
            make_friends(me, friend, since=NOW - dt.timedelta(days=9))
            practice(friend, "reading", i + 1, NOW)
        with django_assert_num_queries(3):
            assert len(client.get(f"/friends_leaderboard?metric=reading_time&{WEEK}").json()) == 16


class TestQueryErrors:
    @pytest.mark.parametrize(
        "query, message",
        [
            ("metric=nope&limit=x&from_date=bad", "limit must be an integer"),
            ("metric=reading_time&limit=1.5", "limit must be an integer"),
            ("metric=reading_time&limit=", "limit must be an integer"),
            ("metric=nope&limit=0&from_date=bad", "limit must be greater than 0"),
            ("metric=reading_time&limit=-3", "limit must be greater than 0"),
            ("metric=nope&from_date=bad&to_date=bad", "from_date must be a valid ISO datetime"),
            ("metric=nope&from_date=2024-06-10T00:00:00&to_date=2024-13-01", "to_date must be a valid ISO datetime"),
            (f"metric=reading_time&from_date={'2' * 200}", "from_date must be a valid ISO datetime"),
            (
                "metric=nope&from_date=2024-06-17T00:00:00&to_date=2024-06-16T23:59:59",
                "from_date must be before or equal to to_date",
            ),
            ("metric=nope&" + WEEK, "Invalid leaderboard metric"),
            (WEEK, "Invalid leaderboard metric"),
            ("metric=correct_exercises&" + WEEK, "Invalid leaderboard metric"),
        ],
    )
    def test_checked_in_upstreams_order_with_its_messages(self, query, message):
        response = frontend_for(UserFactory()).get(f"/friends_leaderboard?{query}")
        assert message_of(response, 400) == message

    def test_equal_bounds_are_allowed(self):
        me = UserFactory(username="me_user")
        query = "metric=reading_time&from_date=2024-06-10T00:00:00&to_date=2024-06-10T00:00:00"
        assert values(board(me, query)) == {"me_user": 0}

    @pytest.mark.parametrize(
        "dates",
        [
            "from_date=0001-01-01T00:00:00&to_date=9999-12-31T23:59:59",
            "from_date=0001-01-01&to_date=9999-12-31",
            "from_date=0001-01-01T00:00:00%2B14:00&to_date=9999-12-31T23:59:59-12:00",
        ],
    )
    def test_extreme_dates_are_unbounded_not_an_error(self, dates):
        me = UserFactory(username="me_user", timezone="Pacific/Kiritimati")
        practice(me, "reading", 2, NOW)
        assert values(board(me, f"metric=reading_time&{dates}")) == {"me_user": 2_000}


class TestCohorts:
    @pytest.fixture
    def classroom(self):
        return ClassroomFactory(name="Class 7B", leaderboard_enabled=True)

    def test_its_students_ranked_for_a_student(self, classroom):
        me, mate = UserFactory(username="me_user"), UserFactory(username="mate")
        teacher = UserFactory(username="teacher")
        MembershipFactory(classroom=classroom, user=me)
        MembershipFactory(classroom=classroom, user=mate)
        MembershipFactory(classroom=classroom, user=teacher, role=ClassroomRole.TEACHER)
        practice(mate, "reading", 30, NOW)

        rows = board(me, f"metric=reading_time&{WEEK}", path=f"/cohort_leaderboard/{classroom.pk}")

        assert [(row["user"]["username"], row["value"]) for row in rows] == [("mate", 30_000), ("me_user", 0)]
        assert set(rows[0]["user"]["avatar"]) == {"image_name", "character_color", "background_color"}
        # Its teacher sees it, unranked.
        assert set(
            values(board(teacher, WEEK + "&metric=reading_time", path=f"/cohort_leaderboard/{classroom.pk}"))
        ) == {
            "me_user",
            "mate",
        }

    def test_a_non_member_and_an_unknown_numeric_id_get_upstreams_403(self, classroom):
        client = frontend_for(UserFactory())
        for cohort in (classroom.pk, 987654, 10**30):
            response = client.get(f"/cohort_leaderboard/{cohort}?metric=reading_time&{WEEK}")
            assert message_of(response, 403) == "You can only view leaderboards for cohorts you belong to or teach."

    def test_a_student_while_the_board_is_off_gets_a_403_saying_so(self, classroom):
        classroom.leaderboard_enabled = False
        classroom.save(update_fields=["leaderboard_enabled"])
        me = UserFactory()
        MembershipFactory(classroom=classroom, user=me)

        response = frontend_for(me).get(f"/cohort_leaderboard/{classroom.pk}?metric=reading_time&{WEEK}")

        assert message_of(response, 403) == "The teacher has not switched this classroom's leaderboard on."

    @pytest.mark.parametrize("cohort", ["abc", "-1", "1.5", "1e3"])
    def test_a_non_numeric_id_is_a_404(self, cohort):
        response = frontend_for(UserFactory()).get(f"/cohort_leaderboard/{cohort}?metric=reading_time")
        assert message_of(response, 404) == "Not found."

    def test_query_errors_come_before_the_403(self, classroom):
        response = frontend_for(UserFactory()).get(f"/cohort_leaderboard/{classroom.pk}?metric=nope")
        assert message_of(response, 400) == "Invalid leaderboard metric"

    def test_student_info_lists_the_classrooms_i_am_a_student_of(self, classroom):
        me = UserFactory(name="Me", email="me@example.com")
        MembershipFactory(classroom=classroom, user=me)
        MembershipFactory(classroom=ClassroomFactory(name="Taught"), user=me, role=ClassroomRole.TEACHER)

        response = frontend_for(me).get("//student_info")

        assert response.status_code == 200
        assert response.json() == {
            "name": "Me",
            "email": "me@example.com",
            "cohorts": [{"id": classroom.pk, "name": "Class 7B", "language_id": None, "language_code": "de"}],
        }


def test_week_boundaries_follow_a_zone_far_from_utc():
    # Tokyo is UTC+9: its Monday 00:00 is Sunday 15:00 UTC.
    me = UserFactory(username="me_user", timezone="Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    practice(me, "reading", 1, dt.datetime(2024, 6, 10, 0, 0, tzinfo=tokyo))
    practice(me, "reading", 50, dt.datetime(2024, 6, 9, 23, 59, tzinfo=tokyo))
    assert values(board(me, f"metric=reading_time&{WEEK}")) == {"me_user": 1_000}
