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
    classroom_set_leaderboard,
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
