"""Reading classrooms (SPEC §5, §8)."""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from gamification.models import ClassroomMembership, ClassroomRole, User


@dataclass(frozen=True)
class ClassroomOfUser:
    """A classroom as one of its members sees it in their list."""

    id: int
    name: str
    language: str
    role: str
    leaderboard_enabled: bool
    student_count: int


def _student_count() -> Coalesce:
    students = (
        ClassroomMembership.objects.filter(classroom_id=OuterRef("classroom_id"), role=ClassroomRole.STUDENT)
        .order_by()
        .values("classroom_id")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(students, output_field=IntegerField()), Value(0))


def _memberships_of(user: User):
    return (
        ClassroomMembership.objects.filter(user=user)
        .select_related("classroom")
        .annotate(student_count=_student_count())
        .order_by("classroom__name", "classroom_id")
    )


def _as_item(membership: ClassroomMembership) -> ClassroomOfUser:
    classroom = membership.classroom
    return ClassroomOfUser(
        id=classroom.pk,
        name=classroom.name,
        language=classroom.language_id,
        role=membership.role,
        leaderboard_enabled=classroom.leaderboard_enabled,
        student_count=membership.student_count,
    )


def classrooms_of_user(*, user: User, role: str | None = None) -> list[ClassroomOfUser]:
    """The classrooms ``user`` belongs to, as a student or a teacher (or in ``role`` only), by
    name; one query."""
    memberships = _memberships_of(user)
    if role is not None:
        memberships = memberships.filter(role=role)
    return [_as_item(membership) for membership in memberships]


def classroom_of_user(*, user: User, classroom_id: int) -> ClassroomOfUser | None:
    """One of ``user``'s classrooms, or None when they are not a member; one query."""
    membership = _memberships_of(user).filter(classroom_id=classroom_id).first()
    return _as_item(membership) if membership is not None else None
