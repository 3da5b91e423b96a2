"""Users the learning platform provisions (SPEC §11.1), known by their ``external_id``.

The platform's service account creates or updates them by external id; the Zeeguu-compatible
sessions (SPEC §12) find or provision them the same way. They may have no email and no usable
password: they log in only with tokens the platform obtains for them.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from gamification.exceptions import ForbiddenError
from gamification.models import User
from gamification.services.db import is_unique_violation
from gamification.services.service_accounts import PLATFORM_PERMISSION
from gamification.services.tokens import IssuedToken, auth_token_issue
from gamification.services.users import user_create, user_update
from gamification.validators import external_id_validate


def platform_user_get(*, external_id: str) -> User | None:
    """The user with this external id (compared exactly), or None."""
    try:
        external_id_validate(external_id)
    except ValidationError:
        return None
    return User.objects.filter(external_id=external_id).first()


def platform_user_put(
    *,
    external_id: str,
    name: str | None = None,
    email: str | None = None,
    username: str | None = None,
    timezone: str | None = None,
) -> tuple[User, bool]:
    """Create the user with this external id, or update the fields given (None: unchanged);
    returns ``(user, created)``. Idempotent: the same call twice changes nothing the second time.

    A new user gets a generated username (unless one is given), a matching avatar, no usable
    password, and no email unless one is given. Email and username rules are those of SPEC §1
    (ValidationError with field errors). Two concurrent creations of one external id: the unique
    constraint lets one insert, and the other updates the row it made.
    """
    try:
        external_id_validate(external_id)
    except ValidationError as error:
        raise ValidationError({"external_id": error.messages}) from None
    existing = User.objects.filter(external_id=external_id).first()
    if existing is None:
        try:
            user = user_create(
                email=email,
                password=None,
                name=name or "",
                timezone=timezone or "UTC",
                username=username,
                external_id=external_id,
            )
        except IntegrityError as error:
            if not is_unique_violation(error, on="external_id"):
                raise
            existing = User.objects.get(external_id=external_id)
        else:
            return user, True
    updated = user_update(user=existing, email=email, name=name, username=username, timezone=timezone)
    return updated, False


def platform_user_token_issue(*, user: User, client_name: str = "") -> IssuedToken:
    """A new client token for a user the platform provisioned, to hand to its frontend (SPEC §5:
    per client, expiring after ``TOKEN_TTL``, renewed by use). The user's other tokens keep
    working.

    Refused (ForbiddenError) for staff, superusers and accounts that may report for others: a
    platform that could mint their tokens would hold their powers too.
    """
    if user.is_staff or user.is_superuser or user.has_perm(PLATFORM_PERMISSION):
        raise ForbiddenError("Tokens are issued only for learners, not for staff or service accounts.")
    return auth_token_issue(user=user, client_name=client_name)
