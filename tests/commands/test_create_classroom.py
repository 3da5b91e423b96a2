from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gamification.models import Classroom, ClassroomMembership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_classroom", *args, stdout=out)
    return out.getvalue()


def test_prints_id_and_invite_code_alone_on_the_last_line():
    teacher = UserFactory(username="MsSmith")

    output = run("German A1", "--language", "de", "--teacher", "mssmith")

    classroom = Classroom.objects.get()
    assert output.strip().splitlines()[-1] == f"{classroom.pk} {classroom.invite_code}"
    assert classroom.name == "German A1"
    assert classroom.language_id == "de"
    assert ClassroomMembership.objects.get(classroom=classroom).user == teacher
    assert ClassroomMembership.objects.get(classroom=classroom).role == "teacher"


def test_several_teachers():
    first, second = UserFactory(), UserFactory()

    run("Class", "--language", "fr", "--teacher", first.username, "--teacher", second.username)

    assert set(ClassroomMembership.objects.values_list("user", flat=True)) == {first.pk, second.pk}


def test_running_twice_reuses_the_classroom_and_adds_new_teachers():
    first, second = UserFactory(), UserFactory()
    once = run("Class", "--language", "fr", "--teacher", first.username)

    twice = run("class", "--language", "fr", "--teacher", first.username, "--teacher", second.username)

    assert once.splitlines()[-1] == twice.splitlines()[-1]
    assert Classroom.objects.count() == 1
    assert ClassroomMembership.objects.filter(role="teacher").count() == 2


def test_same_name_in_another_language_is_another_classroom():
    run("Class", "--language", "fr")
    run("Class", "--language", "de")

    assert Classroom.objects.count() == 2


@pytest.mark.parametrize(
    "args",
    [
        ("Class", "--language", "xx"),
        ("Class", "--language", "de", "--teacher", "nobody"),
        ("   ", "--language", "de"),
    ],
)
def test_unknown_language_or_teacher_is_an_error_and_creates_nothing(args):
    with pytest.raises(CommandError):
        run(*args)

    assert not Classroom.objects.exists()


def test_student_named_as_teacher_is_an_error():
    student = MembershipFactory(classroom__name="Class", classroom__language_id="de").user

    with pytest.raises(CommandError):
        run("Class", "--language", "de", "--teacher", student.username)

    assert ClassroomMembership.objects.get(user=student).role == "student"


def test_language_is_required():
    with pytest.raises(CommandError):
        run("Class")
