"""Classrooms: creation by staff, joining by invite code, the teacher's leaderboard switch (SPEC §8).

Invite codes are stored upper-case without whitespace and matched after the same normalisation,
so ``" abcd efgh "`` finds ``ABCDEFGH``. Generated codes use an alphabet without look-alike
characters (no 0/O, 1/I/L) so that a code read aloud or copied from a whiteboard works. The
unique constraint on the code decides clashes at write time (never a look-up before it): a
generated code that clashes is replaced, a code staff chose is refused.

Every membership written here, by an invite code or by staff in the admin, goes through
``classroom_member_add``: a student membership achieves CLASSROOM_JOINED.
"""

import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from gamification.exceptions import ConflictError, ForbiddenError, NotFoundError
from gamification.models import Classroom, ClassroomMembership, ClassroomRole, Language, User
from gamification.rules import CLASSROOM_JOINED
from gamification.services.db import is_unique_violation
from gamification.services.metrics import one_time_achieve

INVITE_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8
# 31^8 ≈ 8.5e11 codes: a clash is rare; a few attempts make one practically impossible.
INVITE_CODE_ATTEMPTS = 8
# Primary keys are 64-bit: a larger id in a URL cannot exist (and SQLite would refuse the query).
MAX_ID = 2**63 - 1
INVITE_CODE_TAKEN = "Another classroom has this invite code."

T = TypeVar("T")


def invite_code_generate() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def invite_code_normalize(raw: str) -> str:
    """Invite codes are matched ignoring case and whitespace."""
    return "".join(raw.split()).upper()


def _is_invite_code_clash(error: IntegrityError) -> bool:
    return is_unique_violation(error, on="invite_code")


def _with_invite_code(write: Callable[[str], T], *, chosen: str | None) -> T:
    """Run ``write(code)``, the INSERT or UPDATE that stores a classroom's invite code, in a
    savepoint. The unique constraint decides: a ``chosen`` code another classroom holds is a
    ``ValidationError``; a generated code that clashes is replaced and written again."""
    for attempt in range(1, INVITE_CODE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return write(chosen or invite_code_generate())
        except IntegrityError as error:
            if not _is_invite_code_clash(error):
                raise
            if chosen:
                raise ValidationError({"invite_code": [INVITE_CODE_TAKEN]}) from None
            if attempt == INVITE_CODE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _invite_code_chosen(raw: str | None) -> str | None:
    """A code staff typed, normalised; None when blank (a code is generated)."""
    code = invite_code_normalize(raw or "")
    if not code:
        return None
    if len(code) > Classroom._meta.get_field("invite_code").max_length:
        raise ValidationError({"invite_code": ["The invite code is too long."]})
    return code


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A classroom needs a name."]})
    if len(name) > Classroom._meta.get_field("name").max_length:
        raise ValidationError({"name": ["The name is too long."]})
    return name


def _language(code: str) -> Language:
    language = Language.objects.filter(code=(code or "").strip().lower()).first()
    if language is None:
        raise ValidationError({"language": [f"Unknown language code {code!r}."]})
    return language


def _users_by_username(usernames: Iterable[str]) -> list[User]:
    """The users with these usernames (ignoring case), in the order given, without repeats."""
    keys: list[str] = []
    for username in usernames:
        key = username.strip().lower()
        if key not in keys:
            keys.append(key)
    found = {user.username_key: user for user in User.objects.filter(username_key__in=keys)}
    missing = [key for key in keys if key not in found]
    if missing:
        raise ValidationError({"teachers": [f"Unknown username: {', '.join(missing)}."]})
    return [found[key] for key in keys]


def _add_teachers(*, classroom: Classroom, teachers: list[User]) -> int:
    """Make ``teachers`` teachers of ``classroom``; already a teacher is fine, a student is not.
    Returns the number of teachers added."""
    existing = dict(
        ClassroomMembership.objects.filter(classroom=classroom, user__in=teachers).values_list("user_id", "role")
    )
    students = [teacher.username for teacher in teachers if existing.get(teacher.pk) == ClassroomRole.STUDENT]
    if students:
        raise ConflictError(f"Already a student of this classroom: {', '.join(students)}.")
    new = [
        ClassroomMembership(classroom=classroom, user=teacher, role=ClassroomRole.TEACHER)
        for teacher in teachers
        if teacher.pk not in existing
    ]
    ClassroomMembership.objects.bulk_create(new)
    return len(new)


def classroom_create(
    *,
    name: str,
    language_code: str,
    teacher_usernames: Iterable[str] = (),
    invite_code: str | None = None,
    leaderboard_enabled: bool = False,
) -> Classroom:
    """Create a classroom with its invite code and its teachers.

    ``invite_code``: the code staff chose (normalised), or blank/None for a random one. Unknown
    language or teacher, or a chosen code another classroom holds → ``ValidationError`` and
    nothing is created. A clash of a generated code at insert is retried with a new code.
    """
    name = _name_clean(name)
    chosen = _invite_code_chosen(invite_code)
    language = _language(language_code)
    teachers = _users_by_username(teacher_usernames)

    def insert(code: str) -> Classroom:
        return Classroom.objects.create(
            name=name, language=language, invite_code=code, leaderboard_enabled=leaderboard_enabled
        )

    with transaction.atomic():
        classroom = _with_invite_code(insert, chosen=chosen)
        _add_teachers(classroom=classroom, teachers=teachers)
    return classroom


def classroom_update(
    *, classroom: Classroom, name: str, language: Language, invite_code: str | None, leaderboard_enabled: bool
) -> Classroom:
    """Staff's edit of a classroom. A blank ``invite_code`` gets a new random code; a chosen code
    another classroom holds → ``ValidationError`` and nothing changes."""
    name = _name_clean(name)
    chosen = _invite_code_chosen(invite_code)

    def update(code: str) -> Classroom:
        classroom.name, classroom.language, classroom.invite_code = name, language, code
        classroom.leaderboard_enabled = leaderboard_enabled
        classroom.save(update_fields=["name", "language", "invite_code", "leaderboard_enabled"])
        return classroom

    return _with_invite_code(update, chosen=chosen)


def classroom_ensure(*, name: str, language_code: str, teacher_usernames: Iterable[str] = ()) -> tuple[Classroom, bool]:
    """The classroom with this name (ignoring case) and language, created when absent, with the
    given teachers added. Returns ``(classroom, created)``; running it twice changes nothing."""
    language = _language(language_code)
    teachers = _users_by_username(teacher_usernames)
    with transaction.atomic():
        existing = Classroom.objects.filter(name__iexact=(name or "").strip(), language=language).order_by("id").first()
        if existing is None:
            return classroom_create(name=name, language_code=language.code, teacher_usernames=teacher_usernames), True
        _add_teachers(classroom=existing, teachers=teachers)
        return existing, False


def classroom_join(*, user: User, invite_code: str) -> Classroom:
    """Join the classroom of ``invite_code`` as a student and achieve CLASSROOM_JOINED.

    Unknown code → 404. Already a member, as a student or a teacher → 409; two concurrent joins
    of one user are settled by the (classroom, user) unique constraint: one wins, the other 409.
    """
    code = invite_code_normalize(invite_code)
    classroom = Classroom.objects.filter(invite_code=code).first() if code else None
    if classroom is None:
        raise NotFoundError("No classroom has this invite code.")
    already = ConflictError("You are already a member of this classroom.")
    if ClassroomMembership.objects.filter(classroom=classroom, user=user).exists():
        raise already
    classroom_member_add(classroom=classroom, user=user, role=ClassroomRole.STUDENT, already=already)
    return classroom


def classroom_member_add(
    *, classroom: Classroom, user: User, role: str, already: ConflictError | None = None
) -> ClassroomMembership:
    """Make ``user`` a member of ``classroom`` (a student or a teacher); a student has joined a
    classroom (CLASSROOM_JOINED), also when staff add them.

    Already a member → ``already`` (default: a ``ConflictError`` naming the user), decided by the
    (classroom, user) unique constraint, so two concurrent adds leave one row.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                membership = ClassroomMembership.objects.create(classroom=classroom, user=user, role=role)
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            raise already or ConflictError(f"{user.username} is already a member of {classroom.name}.") from None
        if role == ClassroomRole.STUDENT:
            one_time_achieve(user=user, code=CLASSROOM_JOINED)
    return membership


def classroom_member_change(*, membership_id: int, user: User, role: str) -> ClassroomMembership:
    """Staff's edit of a membership: another role (becoming a student is joining the classroom,
    CLASSROOM_JOINED), or another user (the old membership ends, the new user is added). The
    stored row is re-read under a lock; gone meanwhile → ``NotFoundError``."""
    with transaction.atomic():
        stored = (
            ClassroomMembership.objects.select_for_update().select_related("classroom").filter(pk=membership_id).first()
        )
        if stored is None:
            raise NotFoundError("This membership no longer exists.")
        if user.pk != stored.user_id:
            classroom_member_remove(membership=stored)
            return classroom_member_add(classroom=stored.classroom, user=user, role=role)
        if role != stored.role:
            stored.role = role
            stored.save(update_fields=["role"])
            if role == ClassroomRole.STUDENT:
                one_time_achieve(user=user, code=CLASSROOM_JOINED)
    return stored


def classroom_member_remove(*, membership: ClassroomMembership) -> None:
    """End a membership. Badges earned in the classroom stay (badges are never taken away)."""
    ClassroomMembership.objects.filter(pk=membership.pk).delete()


def classroom_set_leaderboard(*, classroom_id: int, acting_user: User, enabled: bool) -> Classroom:
    """Switch a classroom's leaderboard on or off. Teachers of that classroom only (else 403);
    unknown classroom → 404."""
    if not 0 < classroom_id <= MAX_ID:
        raise NotFoundError("Classroom not found.")
    with transaction.atomic():
        classroom = Classroom.objects.select_for_update().filter(pk=classroom_id).first()
        if classroom is None:
            raise NotFoundError("Classroom not found.")
        is_teacher = ClassroomMembership.objects.filter(
            classroom=classroom, user=acting_user, role=ClassroomRole.TEACHER
        ).exists()
        if not is_teacher:
            raise ForbiddenError("Only the classroom's teachers may change its leaderboard.")
        if classroom.leaderboard_enabled != enabled:
            classroom.leaderboard_enabled = enabled
            classroom.save(update_fields=["leaderboard_enabled"])
    return classroom
