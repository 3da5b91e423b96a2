import datetime as dt

import pytest

from gamification.exceptions import ForbiddenError, NotFoundError
from gamification.selectors.leaderboards import METRICS, Standing, classroom_leaderboard, friends_leaderboard
from tests.boards import answer, board_values, first, practice
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory, make_friends

UTC = dt.UTC
# Wednesday of ISO week 24 (Monday 10 June 2024).
NOW = dt.datetime(2024, 6, 12, 12, 0, tzinfo=UTC)
THIS_WEEK = dt.datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
LAST_WEEK = dt.datetime(2024, 6, 5, 9, 0, tzinfo=UTC)
LAST_MONTH = dt.datetime(2024, 5, 20, 9, 0, tzinfo=UTC)
LONG_AGO = dt.datetime(2023, 1, 10, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def friends_board(user, **params):
    params.setdefault("metric", "reading_time")
    return friends_leaderboard(user=user, now=NOW, **params)


def my_value(board) -> int:
    return next(row.value for row in board.rows if row.is_self)


# Each metric: what counts for it, and a row that looks alike but does not.
METRIC_CASES = {
    "reading_time": (
        lambda u: [practice(u, "reading", 300, THIS_WEEK), practice(u, "reading", 60, THIS_WEEK)],
        lambda u: [practice(u, "listening", 999, THIS_WEEK), practice(u, "reading", 999, LAST_WEEK)],
        360,
    ),
    "listening_time": (
        lambda u: [practice(u, "listening", 120, THIS_WEEK)],
        lambda u: [practice(u, "reading", 999, THIS_WEEK), practice(u, "exercises", 999, THIS_WEEK)],
        120,
    ),
    "exercise_time": (
        lambda u: [practice(u, "exercises", 45, THIS_WEEK), practice(u, "exercises", 15, THIS_WEEK)],
        lambda u: [practice(u, "watching", 999, THIS_WEEK), practice(u, "browsing", 999, THIS_WEEK)],
        60,
    ),
    "correct_exercises": (
        lambda u: [answer(u, THIS_WEEK), answer(u, THIS_WEEK), answer(u, THIS_WEEK)],
        lambda u: [answer(u, THIS_WEEK, correct=False), answer(u, LAST_WEEK)],
        3,
    ),
    "read_articles": (
        lambda u: [first(u, "article", THIS_WEEK, "1"), first(u, "article", THIS_WEEK, "2")],
        lambda u: [first(u, "article", LAST_WEEK, "3"), first(u, "audio_lesson", THIS_WEEK, "1")],
        2,
    ),
    "audio_lessons": (
        lambda u: [first(u, "audio_lesson", THIS_WEEK, "7")],
        lambda u: [first(u, "article", THIS_WEEK, "7"), first(u, "audio_lesson", LAST_WEEK, "8")],
        1,
    ),
    "translated_words": (
        lambda u: [first(u, "translated_word", THIS_WEEK, f"de:{word}") for word in ("haus", "baum", "hund")],
        # First translated last week: not a word first translated this week.
        lambda u: [first(u, "translated_word", LAST_WEEK, "de:katze"), first(u, "learned_word", THIS_WEEK, "de:x")],
        3,
    ),
    "learned_words": (
        lambda u: [first(u, "learned_word", THIS_WEEK, "de:haus"), first(u, "learned_word", THIS_WEEK, "de:baum")],
        lambda u: [first(u, "translated_word", THIS_WEEK, "de:haus"), first(u, "learned_word", LAST_WEEK, "de:y")],
        2,
    ),
}


def test_every_metric_has_a_case():
    assert set(METRIC_CASES) == set(METRICS)


@pytest.mark.parametrize("metric", sorted(METRIC_CASES))
def test_metric_counts_only_its_own_rows_in_the_period(metric):
    counting, not_counting, expected = METRIC_CASES[metric]
    me, other = UserFactory(), UserFactory()
    counting(me)
    not_counting(me)
    not_counting(other)
    counting(UserFactory())  # a stranger's activity never shows

    board = friends_board(me, metric=metric)

    assert [row.user.pk for row in board.rows] == [me.pk]
    assert my_value(board) == expected
    assert board.me.value == expected


class TestPeriods:
    def test_current_and_previous_week(self):
        me = UserFactory()
        practice(me, "reading", 100, THIS_WEEK)
        practice(me, "reading", 40, LAST_WEEK)
        practice(me, "reading", 7, dt.datetime(2024, 6, 3, 0, 0, tzinfo=UTC))  # Monday 00:00: last week
        practice(me, "reading", 1000, dt.datetime(2024, 6, 2, 23, 59, tzinfo=UTC))  # the week before

        current = friends_board(me, period="week", offset=0)
        previous = friends_board(me, period="week", offset=-1)

        assert my_value(current) == 100
        assert (current.period_start.isoformat(), current.period_end.isoformat()) == (
            "2024-06-10T00:00:00+00:00",
            "2024-06-17T00:00:00+00:00",
        )
        assert my_value(previous) == 47
        assert previous.period_end == current.period_start

    def test_current_and_previous_month(self):
        me = UserFactory()
        practice(me, "reading", 100, THIS_WEEK)
        practice(me, "reading", 10, dt.datetime(2024, 6, 1, 0, 0, tzinfo=UTC))
        practice(me, "reading", 40, LAST_MONTH)
        practice(me, "reading", 1000, LONG_AGO)

        current = friends_board(me, period="month", offset=0)
        previous = friends_board(me, period="month", offset=-1)

        assert my_value(current) == 110
        assert current.period_start.isoformat() == "2024-06-01T00:00:00+00:00"
        assert current.period_end.isoformat() == "2024-07-01T00:00:00+00:00"
        assert my_value(previous) == 40
        assert previous.period_start.isoformat() == "2024-05-01T00:00:00+00:00"

    def test_all_time_counts_everything_and_has_no_bounds(self):
        me = UserFactory()
        for at in (THIS_WEEK, LAST_WEEK, LAST_MONTH, LONG_AGO):
            practice(me, "reading", 10, at)

        board = friends_board(me, period="all")

        assert my_value(board) == 40
        assert (board.period_start, board.period_end) == (None, None)

    def test_week_boundaries_follow_the_requesting_users_timezone(self):
        # Monday 10 June 01:00 in Brisbane (UTC+10) is Sunday 9 June 15:00 UTC.
        now = dt.datetime(2024, 6, 9, 15, 0, tzinfo=UTC)
        me = UserFactory(timezone="Australia/Brisbane")
        friend = UserFactory(timezone="UTC")
        make_friends(me, friend, since=LONG_AGO)
        practice(me, "reading", 30, dt.datetime(2024, 6, 9, 14, 30, tzinfo=UTC))  # Monday 00:30 local
        practice(me, "reading", 500, dt.datetime(2024, 6, 9, 13, 30, tzinfo=UTC))  # Sunday 23:30 local
        # The friend's Sunday afternoon (UTC) is on my Monday: the board is in MY calendar.
        practice(friend, "reading", 20, dt.datetime(2024, 6, 9, 14, 45, tzinfo=UTC))

        current = friends_leaderboard(user=me, metric="reading_time", now=now)
        previous = friends_leaderboard(user=me, metric="reading_time", offset=-1, now=now)

        assert current.period_start.isoformat() == "2024-06-10T00:00:00+10:00"
        assert board_values(current) == {me.username: 30, friend.username: 20}
        assert previous.period_end.isoformat() == "2024-06-10T00:00:00+10:00"
        assert board_values(previous) == {me.username: 500, friend.username: 0}


class TestRanking:
    def test_ties_share_a_rank_and_order_by_username_ignoring_case(self):
        me = UserFactory(username="mia")
        bob = UserFactory(username="Bob")
        alice = UserFactory(username="alice")
        carl = UserFactory(username="carl")
        for friend in (bob, alice, carl):
            make_friends(me, friend, since=LONG_AGO)
        practice(bob, "reading", 50, THIS_WEEK)
        practice(alice, "reading", 50, THIS_WEEK)
        practice(carl, "reading", 20, THIS_WEEK)

        board = friends_board(me)

        assert [(row.rank, row.user.username, row.value) for row in board.rows] == [
            (1, "alice", 50),
            (1, "Bob", 50),
            (3, "carl", 20),
            (4, "mia", 0),
        ]
        assert [row.is_self for row in board.rows] == [False, False, False, True]
        assert [row.is_friend for row in board.rows] == [True, True, True, False]

    def test_me_is_given_beyond_the_limit(self):
        me = UserFactory()
        for seconds in (90, 80, 70):
            friend = UserFactory()
            make_friends(me, friend, since=LONG_AGO)
            practice(friend, "reading", seconds, THIS_WEEK)
        practice(me, "reading", 5, THIS_WEEK)

        board = friends_board(me, limit=2)

        assert [row.value for row in board.rows] == [90, 80]
        assert not any(row.is_self for row in board.rows)
        assert (board.me.rank, board.me.value) == (4, 5)

    def test_every_friend_appears_with_zero(self):
        me = UserFactory()
        quiet = UserFactory()
        make_friends(me, quiet, since=LONG_AGO)

        board = friends_board(me)

        assert board_values(board) == {me.username: 0, quiet.username: 0}
        assert [row.rank for row in board.rows] == [1, 1]


class TestFriendScope:
    def test_friend_removed_this_week_is_on_last_weeks_board_only(self):
        me, removed, stranger = UserFactory(), UserFactory(), UserFactory()
        friendship = make_friends(me, removed, since=LONG_AGO)
        friendship.active, friendship.ended_at = None, dt.datetime(2024, 6, 11, 8, 0, tzinfo=UTC)
        friendship.save(update_fields=["active", "ended_at"])
        practice(removed, "reading", 60, LAST_WEEK)
        practice(stranger, "reading", 60, LAST_WEEK)

        last_week = friends_board(me, offset=-1)
        this_week = friends_board(me, offset=0)

        assert board_values(last_week) == {removed.username: 60, me.username: 0}
        # Still listed last week, but no longer a friend now.
        assert [row.is_friend for row in last_week.rows] == [False, False]
        assert board_values(this_week) == {me.username: 0}

    def test_friend_added_this_week_is_not_on_last_weeks_board(self):
        me, new_friend = UserFactory(), UserFactory()
        make_friends(me, new_friend, since=dt.datetime(2024, 6, 11, 8, 0, tzinfo=UTC))
        practice(new_friend, "reading", 60, LAST_WEEK)

        assert board_values(friends_board(me, offset=-1)) == {me.username: 0}
        assert board_values(friends_board(me, offset=0)) == {new_friend.username: 0, me.username: 0}

    def test_friends_again_after_a_break_appear_once(self):
        me, friend = UserFactory(), UserFactory()
        old = make_friends(me, friend, since=LONG_AGO)
        old.active, old.ended_at = None, LAST_MONTH
        old.save(update_fields=["active", "ended_at"])
        make_friends(me, friend, since=LAST_WEEK)
        practice(friend, "reading", 15, THIS_WEEK)

        board = friends_board(me, period="all")

        assert board_values(board) == {friend.username: 15, me.username: 0}
        assert board.rows[0].is_friend is True

    def test_friends_of_friends_are_not_on_my_board(self):
        me, friend, their_friend = UserFactory(), UserFactory(), UserFactory()
        make_friends(me, friend, since=LONG_AGO)
        make_friends(friend, their_friend, since=LONG_AGO)

        assert set(board_values(friends_board(me))) == {me.username, friend.username}


class TestClassroomBoard:
    def make_classroom(self, *, students: int, enabled: bool = True):
        classroom = ClassroomFactory(leaderboard_enabled=enabled)
        teacher = MembershipFactory(classroom=classroom, role="teacher").user
        pupils = [MembershipFactory(classroom=classroom).user for _ in range(students)]
        return classroom, teacher, pupils

    def test_students_are_ranked_and_the_teacher_is_not(self):
        classroom, teacher, (ann, ben, cid) = self.make_classroom(students=3)
        practice(ann, "exercises", 100, THIS_WEEK)
        practice(ben, "exercises", 300, THIS_WEEK)
        practice(teacher, "exercises", 999, THIS_WEEK)
        make_friends(ann, cid, since=LONG_AGO)

        seen_by_ann = classroom_leaderboard(user=ann, classroom_id=classroom.pk, metric="exercise_time", now=NOW)
        seen_by_teacher = classroom_leaderboard(
            user=teacher, classroom_id=classroom.pk, metric="exercise_time", now=NOW
        )

        assert [(row.user.pk, row.value, row.rank) for row in seen_by_ann.rows] == [
            (ben.pk, 300, 1),
            (ann.pk, 100, 2),
            (cid.pk, 0, 3),
        ]
        assert [row.is_friend for row in seen_by_ann.rows] == [False, False, True]
        assert [row.is_self for row in seen_by_ann.rows] == [False, True, False]
        assert (seen_by_ann.me.rank, seen_by_ann.me.value) == (2, 100)
        assert [row.user.pk for row in seen_by_teacher.rows] == [ben.pk, ann.pk, cid.pk]
        assert not any(row.is_self for row in seen_by_teacher.rows)
        assert seen_by_teacher.me is None

    def test_student_of_a_disabled_board_is_refused_and_the_teacher_is_not(self):
        classroom, teacher, (student,) = self.make_classroom(students=1, enabled=False)

        with pytest.raises(ForbiddenError):
            classroom_leaderboard(user=student, classroom_id=classroom.pk, metric="reading_time")
        board = classroom_leaderboard(user=teacher, classroom_id=classroom.pk, metric="reading_time")

        assert [row.user.pk for row in board.rows] == [student.pk]

    def test_stranger_is_refused(self):
        classroom, _, _ = self.make_classroom(students=1)

        with pytest.raises(ForbiddenError):
            classroom_leaderboard(user=UserFactory(), classroom_id=classroom.pk, metric="reading_time")

    def test_classroom_without_members_exists_for_a_stranger(self):
        classroom = ClassroomFactory(leaderboard_enabled=True)

        with pytest.raises(ForbiddenError):
            classroom_leaderboard(user=UserFactory(), classroom_id=classroom.pk, metric="reading_time")

    def test_teacher_of_a_classroom_without_students_sees_an_empty_board(self):
        classroom, teacher, _ = self.make_classroom(students=0)

        board = classroom_leaderboard(user=teacher, classroom_id=classroom.pk, metric="learned_words")

        assert (board.rows, board.me) == ([], None)

    @pytest.mark.parametrize("classroom_id", [0, 987654321, 2**70])
    def test_unknown_classroom_is_not_found(self, classroom_id):
        with pytest.raises(NotFoundError):
            classroom_leaderboard(user=UserFactory(), classroom_id=classroom_id, metric="reading_time")

    def test_periods_apply_to_classroom_boards(self):
        classroom, _, (student,) = self.make_classroom(students=1)
        practice(student, "reading", 10, THIS_WEEK)
        practice(student, "reading", 20, LAST_WEEK)

        def value(**params) -> int:
            board = classroom_leaderboard(
                user=student, classroom_id=classroom.pk, metric="reading_time", now=NOW, **params
            )
            return board.me.value

        assert value(offset=0) == 10
        assert value(offset=-1) == 20
        assert value(period="all") == 30


class TestQueryCount:
    @pytest.mark.parametrize("friends", [1, 25])
    def test_friends_board_takes_two_queries_whatever_the_number_of_friends(self, friends, django_assert_num_queries):
        me = UserFactory()
        for _ in range(friends):
            friend = UserFactory()
            make_friends(me, friend, since=LONG_AGO)
            practice(friend, "reading", 10, THIS_WEEK)
            first(friend, "article", THIS_WEEK, "1")

        for metric in ("reading_time", "read_articles"):
            for period in ("week", "all"):
                with django_assert_num_queries(2):
                    board = friends_board(me, metric=metric, period=period, offset=-1)

                assert len(board.rows) == friends + 1

    def test_mariadb_reads_each_metrics_values_through_its_index(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from gamification.selectors.leaderboards import METRIC_SOURCES

        if connection.vendor != "mysql":
            pytest.skip("FORCE INDEX is MariaDB's")
        me = UserFactory()
        make_friends(me, UserFactory(), since=LONG_AGO)
        for metric in METRICS:
            for period in ("week", "all"):
                with CaptureQueriesContext(connection) as captured:
                    friends_board(me, metric=metric, period=period)
                values_sql = captured.captured_queries[-1]["sql"]
                assert f"FORCE INDEX (`{METRIC_SOURCES[metric].index}`)" in values_sql, (metric, period)

    def test_friends_board_without_friends_gives_my_value(self, django_assert_num_queries):
        me = UserFactory()
        practice(me, "reading", 10, THIS_WEEK)

        with django_assert_num_queries(2):
            board = friends_board(me, metric="reading_time")

        assert [(row.user.username, row.value, row.rank) for row in board.rows] == [(me.username, 10, 1)]
        assert board.me == Standing(rank=1, value=10)

    @pytest.mark.parametrize("students", [1, 25])
    def test_classroom_board_takes_two_queries_whatever_the_number_of_students(
        self, students, django_assert_num_queries
    ):
        classroom = ClassroomFactory(leaderboard_enabled=True)
        me = MembershipFactory(classroom=classroom).user
        for _ in range(students):
            student = MembershipFactory(classroom=classroom).user
            make_friends(me, student, since=LONG_AGO)
            answer(student, THIS_WEEK)

        with django_assert_num_queries(2):
            board = classroom_leaderboard(user=me, classroom_id=classroom.pk, metric="correct_exercises", now=NOW)

        assert len(board.rows) == students + 1
        assert sum(row.is_friend for row in board.rows) == students
