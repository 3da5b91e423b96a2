import pytest

from gamification.models import Classroom, ClassroomMembership, UserBadge
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def inline_management(total: int = 1) -> dict:
    return {
        "memberships-TOTAL_FORMS": str(total),
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }


def test_staff_create_a_classroom_with_a_teacher_and_a_student(staff_client):
    teacher, student = UserFactory(), UserFactory()

    response = staff_client.post(
        "/admin/gamification/classroom/add/",
        {
            "name": "Dutch B1",
            "language": "nl",
            "invite_code": " dutch b1x ",
            **inline_management(2),
            "memberships-0-user": str(teacher.pk),
            "memberships-0-role": "teacher",
            "memberships-1-user": str(student.pk),
            "memberships-1-role": "student",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    classroom = Classroom.objects.get(name="Dutch B1")
    assert classroom.invite_code == "DUTCHB1X"
    assert dict(ClassroomMembership.objects.filter(classroom=classroom).values_list("user", "role")) == {
        teacher.pk: "teacher",
        student.pk: "student",
    }
    # The student joined a classroom; the teacher did not.
    joined = UserBadge.objects.filter(badge__activity_type__code="CLASSROOM_JOINED")
    assert list(joined.values_list("user", flat=True)) == [student.pk]


def test_blank_invite_code_gets_a_random_one(staff_client):
    response = staff_client.post(
        "/admin/gamification/classroom/add/",
        {"name": "Random", "language": "de", "invite_code": "", **inline_management(0)},
    )

    assert response.status_code == 302
    assert len(Classroom.objects.get(name="Random").invite_code) == 8


def test_taken_invite_code_is_refused(staff_client):
    ClassroomFactory(invite_code="TAKEN234")

    response = staff_client.post(
        "/admin/gamification/classroom/add/",
        {"name": "Copy", "language": "de", "invite_code": "taken234", **inline_management(0)},
    )

    assert response.status_code == 200
    assert "Another classroom has this invite code." in response.content.decode()


def test_changelist_is_searchable_by_member_username_and_filterable(staff_client):
    classroom = ClassroomFactory(name="Findable")
    MembershipFactory(classroom=classroom, user=UserFactory(username="needle_user"), role="teacher")
    ClassroomFactory(name="Other")

    found = staff_client.get("/admin/gamification/classroom/", {"q": "needle"})
    filtered = staff_client.get("/admin/gamification/classroom/", {"leaderboard_enabled__exact": "1"})

    assert found.status_code == 200
    assert [c.name for c in found.context["cl"].result_list] == ["Findable"]
    assert "needle_user" in found.content.decode()
    assert list(filtered.context["cl"].result_list) == []


def test_membership_changelist_searches_by_username(staff_client):
    MembershipFactory(user=UserFactory(username="search_me"))
    MembershipFactory()

    response = staff_client.get("/admin/gamification/classroommembership/", {"q": "search_me", "role": "student"})

    assert response.status_code == 200
    assert [m.user.username for m in response.context["cl"].result_list] == ["search_me"]


def test_a_refused_invite_code_keeps_what_staff_typed_and_saves_nothing(staff_client):
    ClassroomFactory(invite_code="TAKEN234")
    student = UserFactory()

    response = staff_client.post(
        "/admin/gamification/classroom/add/",
        {"name": "Typed name", "language": "de", "invite_code": "taken 234", **inline_management(1),
         "memberships-0-user": str(student.pk), "memberships-0-role": "student"},
    )  # fmt: skip

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"invite_code": ["Another classroom has this invite code."]}
    assert form["name"].value() == "Typed name"
    assert not Classroom.objects.filter(name="Typed name").exists()
    assert not ClassroomMembership.objects.filter(user=student).exists()
    assert not UserBadge.objects.filter(user=student).exists()


def test_changing_a_teacher_into_a_student_in_the_admin_joins_the_classroom(staff_client):
    classroom = ClassroomFactory(name="Roles", invite_code="ROLES234")
    membership = MembershipFactory(classroom=classroom, role="teacher")
    url = f"/admin/gamification/classroom/{classroom.pk}/change/"

    response = staff_client.post(
        url,
        {"name": "Roles", "language": "de", "invite_code": "ROLES234",
         "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
         "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": str(membership.pk),
         "memberships-0-classroom": str(classroom.pk), "memberships-0-user": str(membership.user_id),
         "memberships-0-role": "student"},
    )  # fmt: skip

    assert response.status_code == 302, response.content[:3000]
    assert ClassroomMembership.objects.get(pk=membership.pk).role == "student"
    assert UserBadge.objects.filter(user_id=membership.user_id, badge__activity_type__code="CLASSROOM_JOINED").exists()


def test_a_student_added_on_the_membership_page_joins_the_classroom(staff_client):
    classroom, student = ClassroomFactory(), UserFactory()

    response = staff_client.post(
        "/admin/gamification/classroommembership/add/",
        {"classroom": str(classroom.pk), "user": str(student.pk), "role": "student"},
    )

    assert response.status_code == 302, response.content[:3000]
    assert UserBadge.objects.filter(user=student, badge__activity_type__code="CLASSROOM_JOINED").exists()
