import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gamification.exceptions import ConflictError, ForbiddenError, NotFoundError
from gamification.models import Classroom, ClassroomMembership
from gamification.services import classrooms as classroom_services
from gamification.services.classrooms import (
    classroom_create,
    classroom_join,
    classroom_member_add,
    classroom_member_change,
    classroom_member_remove,
    classroom_set_leaderboard,
    classroom_update,
    invite_code_normalize,
)
from tests.factories import ClassroomFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_makes_a_random_upper_case_code_and_the_teachers():
    alice, bob = UserFactory(username="Alice"), UserFactory(username="bob")

    classroom = classroom_create(name="  German A1 ", language_code="DE", teacher_usernames=["alice", "BOB", "Alice"])

    assert classroom.name == "German A1"
    assert classroom.language_id == "de"
    assert classroom.leaderboard_enabled is False
    assert len(classroom.invite_code) == 8
    assert classroom.invite_code == invite_code_normalize(classroom.invite_code)
    assert set(ClassroomMembership.objects.filter(classroom=classroom).values_list("user", "role")) == {
        (alice.pk, "teacher"),
        (bob.pk, "teacher"),
    }


def test_create_retries_when_the_generated_code_is_taken(monkeypatch):
    ClassroomFactory(invite_code="TAKEN234")
    codes = iter(["TAKEN234", "TAKEN234", "FRESH234"])
    monkeypatch.setattr(classroom_services, "invite_code_generate", lambda: next(codes))

    classroom = classroom_create(name="Retry", language_code="de")

    assert classroom.invite_code == "FRESH234"
    assert Classroom.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"language_code": "xx"}, "language"),
        ({"teacher_usernames": ["nobody_here"]}, "teachers"),
        ({"name": "   "}, "name"),
    ],
)
def test_create_with_bad_input_creates_nothing(kwargs, field):
    params = {"name": "Class", "language_code": "de", "teacher_usernames": [], **kwargs}

    with pytest.raises(ValidationError) as error:
        classroom_create(**params)

    assert field in error.value.message_dict
    assert not Classroom.objects.exists()


def test_join_unknown_code_is_not_found():
    with pytest.raises(NotFoundError):
        classroom_join(user=UserFactory(), invite_code="   ")


def test_join_twice_is_a_conflict():
    classroom = ClassroomFactory(invite_code="JOIN2345")
    me = UserFactory()
    classroom_join(user=me, invite_code="join2345")

    with pytest.raises(ConflictError):
        classroom_join(user=me, invite_code="JOIN2345")

    assert ClassroomMembership.objects.filter(classroom=classroom, user=me).count() == 1


def test_set_leaderboard_checks_the_teacher_role():
    classroom = ClassroomFactory()
    student = MembershipFactory(classroom=classroom).user
    teacher = MembershipFactory(classroom=classroom, role="teacher").user

    with pytest.raises(ForbiddenError):
        classroom_set_leaderboard(classroom_id=classroom.pk, acting_user=student, enabled=True)
    with pytest.raises(NotFoundError):
        classroom_set_leaderboard(classroom_id=classroom.pk + 1000, acting_user=teacher, enabled=True)
    classroom_set_leaderboard(classroom_id=classroom.pk, acting_user=teacher, enabled=True)

    classroom.refresh_from_db()
    assert classroom.leaderboard_enabled is True


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_of_one_user_make_one_membership():
    classroom = ClassroomFactory(invite_code="RACE2345")
    me = UserFactory()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def join() -> None:
        try:
            barrier.wait()
            classroom_join(user=me, invite_code="RACE2345")
            outcomes.append("joined")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as error:  # any other outcome fails the assertion below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=join) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "joined"]
    assert ClassroomMembership.objects.filter(classroom=classroom, user=me).count() == 1


# Staff's writes (the admin calls these) -------------------------------------------------------


def joined_badge_holders() -> list[int]:
    from gamification.models import UserBadge

    return list(
        UserBadge.objects.filter(badge__activity_type__code="CLASSROOM_JOINED").values_list("user_id", flat=True)
    )


def test_create_with_a_chosen_code_stores_it_normalised():
    classroom = classroom_create(name="Dutch", language_code="nl", invite_code=" dutch b1x ", leaderboard_enabled=True)

    assert (classroom.invite_code, classroom.leaderboard_enabled) == ("DUTCHB1X", True)


def test_a_chosen_code_another_classroom_holds_is_refused_by_the_constraint():
    from django.test.utils import CaptureQueriesContext

    ClassroomFactory(invite_code="TAKEN234")

    with pytest.raises(ValidationError) as error, CaptureQueriesContext(connection) as queries:
        classroom_create(name="Copy", language_code="de", invite_code="taken234")

    # No look-up of the code before the insert: the INSERT meets the unique constraint. (MySQL's
    # driver records a failed statement's text as None, so the INSERT itself is not matched.)
    statements = [str(query["sql"]) for query in queries.captured_queries]
    assert not [sql for sql in statements if "classroom" in sql and not sql.startswith("INSERT")], statements

    assert error.value.message_dict == {"invite_code": ["Another classroom has this invite code."]}
    assert not Classroom.objects.filter(name="Copy").exists()


def test_update_changes_the_fields_and_keeps_or_regenerates_the_code(monkeypatch):
    from gamification.models import Language

    classroom = ClassroomFactory(invite_code="KEEP2345")
    classroom_update(
        classroom=classroom, name=" Renamed ", language=Language.objects.get(code="fr"), invite_code="keep2345",
        leaderboard_enabled=True,
    )  # fmt: skip
    classroom.refresh_from_db()
    assert (classroom.name, classroom.language_id, classroom.invite_code, classroom.leaderboard_enabled) == (
        "Renamed",
        "fr",
        "KEEP2345",
        True,
    )

    ClassroomFactory(invite_code="CLASH234")
    codes = iter(["CLASH234", "FRESH234"])
    monkeypatch.setattr(classroom_services, "invite_code_generate", lambda: next(codes))
    classroom_update(classroom=classroom, name="Renamed", language=classroom.language, invite_code="",
                     leaderboard_enabled=True)  # fmt: skip
    classroom.refresh_from_db()
    assert classroom.invite_code == "FRESH234"


def test_update_to_a_code_another_classroom_holds_changes_nothing():
    ClassroomFactory(invite_code="OTHER234")
    classroom = ClassroomFactory(name="Mine", invite_code="MINE2345")

    with pytest.raises(ValidationError):
        classroom_update(classroom=classroom, name="Changed", language=classroom.language, invite_code="other234",
                         leaderboard_enabled=False)  # fmt: skip

    stored = Classroom.objects.get(pk=classroom.pk)
    assert (stored.name, stored.invite_code) == ("Mine", "MINE2345")


def test_a_student_added_by_staff_has_joined_a_classroom_a_teacher_has_not():
    classroom = ClassroomFactory()
    student, teacher = UserFactory(), UserFactory()

    classroom_member_add(classroom=classroom, user=student, role="student")
    classroom_member_add(classroom=classroom, user=teacher, role="teacher")

    assert joined_badge_holders() == [student.pk]


def test_adding_a_member_twice_is_a_conflict_decided_by_the_constraint():
    membership = MembershipFactory(user=UserFactory(username="twice"))

    with pytest.raises(ConflictError, match="twice is already a member"):
        classroom_member_add(classroom=membership.classroom, user=membership.user, role="teacher")


def test_changing_a_teacher_into_a_student_joins_and_another_user_replaces():
    membership = MembershipFactory(role="teacher")
    classroom_member_change(membership_id=membership.pk, user=membership.user, role="student")
    assert joined_badge_holders() == [membership.user_id]

    newcomer = UserFactory()
    replaced = classroom_member_change(membership_id=membership.pk, user=newcomer, role="teacher")

    assert list(ClassroomMembership.objects.filter(classroom=membership.classroom).values_list("user", "role")) == [
        (newcomer.pk, "teacher")
    ]
    assert replaced.user_id == newcomer.pk
    with pytest.raises(NotFoundError):
        classroom_member_change(membership_id=membership.pk, user=newcomer, role="student")


def test_removing_a_member_keeps_their_badge():
    membership = classroom_member_add(classroom=ClassroomFactory(), user=UserFactory(), role="student")

    classroom_member_remove(membership=membership)

    assert not ClassroomMembership.objects.filter(pk=membership.pk).exists()
    assert joined_badge_holders() == [membership.user_id]


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_with_one_chosen_code_make_one_classroom():
    from tests.threads import run_in_threads

    errors = run_in_threads(4, lambda i: classroom_create(name=f"Race {i}", language_code="de", invite_code="SAME2345"))

    assert len(errors) == 3 and all(isinstance(error, ValidationError) for error in errors), errors
    assert Classroom.objects.filter(invite_code="SAME2345").count() == 1
