import pytest
from rest_framework.test import APIClient

from gamification.models import ClassroomMembership, UserBadge, UserMetric
from tests.conftest import client_for
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
JOIN_URL = "/api/classrooms/join/"


def detail_url(classroom) -> str:
    return f"/api/classrooms/{classroom.pk}/"


def has_joined_badge(user) -> bool:
    return UserBadge.objects.filter(user=user, badge__activity_type__code="CLASSROOM_JOINED").exists()


class TestList:
    def test_lists_my_classrooms_with_role_and_student_count(self):
        me = UserFactory()
        taught = ClassroomFactory(name="B German", language_id="de", leaderboard_enabled=True)
        attended = ClassroomFactory(name="A French", language_id="fr")
        other = ClassroomFactory(name="C not mine")
        MembershipFactory(classroom=taught, user=me, role="teacher")
        MembershipFactory(classroom=taught)
        MembershipFactory(classroom=taught)
        MembershipFactory(classroom=taught, role="teacher")
        MembershipFactory(classroom=attended, user=me)
        MembershipFactory(classroom=other)

        response = client_for(me).get("/api/classrooms/")

        assert response.status_code == 200
        assert response.json() == [
            {
                "id": attended.pk,
                "name": "A French",
                "language": "fr",
                "role": "student",
                "leaderboard_enabled": False,
                "student_count": 1,
            },
            {
                "id": taught.pk,
                "name": "B German",
                "language": "de",
                "role": "teacher",
                "leaderboard_enabled": True,
                "student_count": 2,
            },
        ]

    def test_no_classrooms_is_an_empty_list(self):
        assert client_for(UserFactory()).get("/api/classrooms/").json() == []

    def test_anonymous_is_401(self):
        assert APIClient().get("/api/classrooms/").status_code == 401

    @pytest.mark.parametrize("classrooms", [1, 12])
    def test_query_count_does_not_grow_with_classrooms(self, classrooms, django_assert_num_queries):
        me = UserFactory()
        for _ in range(classrooms):
            classroom = ClassroomFactory()
            MembershipFactory(classroom=classroom, user=me)
            MembershipFactory(classroom=classroom)
        client = client_for(me)

        with django_assert_num_queries(2):  # token + classrooms
            response = client.get("/api/classrooms/")

        assert len(response.json()) == classrooms
        assert {item["student_count"] for item in response.json()} == {2}


class TestJoin:
    def test_join_as_student_awards_the_one_time_badge(self):
        me = UserFactory()
        classroom = ClassroomFactory(invite_code="ABCD2345", language_id="es")
        MembershipFactory(classroom=classroom)

        response = client_for(me).post(JOIN_URL, {"invite_code": "ABCD2345"}, format="json")

        assert response.status_code == 201
        assert response.json() == {
            "id": classroom.pk,
            "name": classroom.name,
            "language": "es",
            "role": "student",
            "leaderboard_enabled": False,
            "student_count": 2,
        }
        assert ClassroomMembership.objects.get(classroom=classroom, user=me).role == "student"
        assert has_joined_badge(me)

    def test_code_is_matched_ignoring_case_and_whitespace(self):
        classroom = ClassroomFactory(invite_code="ABCD2345")

        response = client_for(UserFactory()).post(JOIN_URL, {"invite_code": "  abcd 2345\n"}, format="json")

        assert response.status_code == 201
        assert response.json()["id"] == classroom.pk

    def test_unknown_code_is_404(self):
        ClassroomFactory(invite_code="ABCD2345")
        me = UserFactory()

        response = client_for(me).post(JOIN_URL, {"invite_code": "ZZZZ9999"}, format="json")

        assert response.status_code == 404
        assert "detail" in response.json()
        assert not ClassroomMembership.objects.filter(user=me).exists()
        assert not has_joined_badge(me)

    @pytest.mark.parametrize("role", ["student", "teacher"])
    def test_already_a_member_is_409(self, role):
        classroom = ClassroomFactory(invite_code="ABCD2345")
        me = MembershipFactory(classroom=classroom, role=role).user

        response = client_for(me).post(JOIN_URL, {"invite_code": "abcd2345"}, format="json")

        assert response.status_code == 409
        assert ClassroomMembership.objects.get(classroom=classroom, user=me).role == role

    def test_second_classroom_keeps_a_single_badge_and_metric(self):
        me = UserFactory()
        client = client_for(me)
        for code in ("FIRST234", "SECOND23"):
            ClassroomFactory(invite_code=code)
            assert client.post(JOIN_URL, {"invite_code": code}, format="json").status_code == 201

        assert UserBadge.objects.filter(user=me, badge__activity_type__code="CLASSROOM_JOINED").count() == 1
        assert UserMetric.objects.get(user=me, activity_type__code="CLASSROOM_JOINED").value == 1

    @pytest.mark.parametrize("body", [{}, {"invite_code": ""}, {"invite_code": "   "}, {"invite_code": None}, ["x"]])
    def test_missing_or_blank_code_is_400(self, body):
        response = client_for(UserFactory()).post(JOIN_URL, body, format="json")

        assert response.status_code == 400

    def test_anonymous_is_401(self):
        assert APIClient().post(JOIN_URL, {"invite_code": "ABCD2345"}, format="json").status_code == 401


class TestLeaderboardSwitch:
    def test_teacher_switches_the_board_on_and_off(self):
        classroom = ClassroomFactory()
        teacher = MembershipFactory(classroom=classroom, role="teacher").user
        MembershipFactory(classroom=classroom)
        client = client_for(teacher)

        on = client.patch(detail_url(classroom), {"leaderboard_enabled": True}, format="json")
        classroom.refresh_from_db()
        assert classroom.leaderboard_enabled is True
        off = client.patch(detail_url(classroom), {"leaderboard_enabled": False}, format="json")

        assert on.status_code == 200
        assert on.json() == {
            "id": classroom.pk,
            "name": classroom.name,
            "language": "de",
            "role": "teacher",
            "leaderboard_enabled": True,
            "student_count": 1,
        }
        assert off.json()["leaderboard_enabled"] is False
        classroom.refresh_from_db()
        assert classroom.leaderboard_enabled is False

    @pytest.mark.parametrize("role", ["student", None])
    def test_student_or_stranger_is_403(self, role):
        classroom = ClassroomFactory()
        user = MembershipFactory(classroom=classroom, role=role).user if role else UserFactory()

        response = client_for(user).patch(detail_url(classroom), {"leaderboard_enabled": True}, format="json")

        assert response.status_code == 403
        classroom.refresh_from_db()
        assert classroom.leaderboard_enabled is False

    def test_teacher_of_another_classroom_is_403(self):
        classroom = ClassroomFactory()
        other_teacher = MembershipFactory(role="teacher").user

        response = client_for(other_teacher).patch(detail_url(classroom), {"leaderboard_enabled": True}, format="json")

        assert response.status_code == 403

    @pytest.mark.parametrize("classroom_id", ["424242", "9" * 25])
    def test_unknown_classroom_is_404(self, classroom_id):
        response = client_for(UserFactory()).patch(
            f"/api/classrooms/{classroom_id}/", {"leaderboard_enabled": True}, format="json"
        )

        assert response.status_code == 404

    @pytest.mark.parametrize("body", [{}, {"leaderboard_enabled": None}, {"leaderboard_enabled": "maybe"}, [True]])
    def test_missing_or_non_boolean_value_is_400(self, body):
        classroom = ClassroomFactory()
        teacher = MembershipFactory(classroom=classroom, role="teacher").user

        response = client_for(teacher).patch(detail_url(classroom), body, format="json")

        assert response.status_code == 400
        classroom.refresh_from_db()
        assert classroom.leaderboard_enabled is False

    def test_anonymous_is_401(self):
        classroom = ClassroomFactory()

        response = APIClient().patch(detail_url(classroom), {"leaderboard_enabled": True}, format="json")

        assert response.status_code == 401
