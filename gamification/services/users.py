"""Accounts: sign-up, profile changes and deletion (SPEC §1)."""

import random
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone

from gamification.constants import (
    AVATAR_IMAGES,
    EMAIL_MAX_LENGTH,
    MATCHING_COLOR_PAIRS,
    NAME_MAX_LENGTH,
)
from gamification.models import User
from gamification.models.users import normalize_email
from gamification.rules import PROFILE_CUSTOMISED
from gamification.services.db import atomic_with_retry, is_unique_violation
from gamification.services.friends import friends_recount_after_user_delete
from gamification.services.metrics import one_time_achieve
from gamification.services.tokens import IssuedToken, auth_token_issue
from gamification.services.usernames import animal_of, username_generate, username_is_taken
from gamification.services.webhooks import webhook_user_deleted
from gamification.validators import display_name_validate, timezone_validate, username_normalize

# A clash at insert means a concurrent sign-up took the generated name: retry a few times.
SIGNUP_ATTEMPTS = 5


def _is_username_clash(error: IntegrityError) -> bool:
    return is_unique_violation(error, on="username_key")


def _is_email_clash(error: IntegrityError) -> bool:
    return is_unique_violation(error, on="email")


def email_normalize(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValidationError({"email": ["Enter a valid email address."]})
    email = normalize_email(raw)
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError({"email": [f"An email has at most {EMAIL_MAX_LENGTH} characters."]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    return email


def avatar_random(*, animal: str | None = None, rng: random.Random | None = None) -> dict[str, str]:
    rng = rng or random.SystemRandom()
    character, background = rng.choice(MATCHING_COLOR_PAIRS)
    return {
        "avatar_image": animal if animal in AVATAR_IMAGES else rng.choice(AVATAR_IMAGES),
        "avatar_character_color": character,
        "avatar_background_color": background,
    }


def user_create(
    *,
    email: str | None,
    password: str | None,
    name: str = "",
    timezone: str = "UTC",
    username: str | None = None,
    validate_password_rules: bool = False,
    on_created: Callable[[User], Any] | None = None,
    **extra: Any,
) -> User:
    """Create an account with a generated username and a matching random avatar.

    ``email`` may be None (users the platform provisions); a duplicate email (ignoring case) is a
    ValidationError on ``email``. A clash of the generated
    username with a concurrent sign-up is retried with a fresh name. ``on_created`` runs in the
    insert's transaction (e.g. to issue the first token), so that both are written or neither.

    Validation and password hashing (tens of milliseconds by design) happen before the
    transaction opens: on SQLite a write transaction holds the database's only write lock.
    """
    email = email_normalize(email) if email is not None else None
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"A name has at most {NAME_MAX_LENGTH} characters."]})
    # The API's serializers check these too, with the same validators; the admin, the commands
    # and imports come straight here.
    for field, validate, value in (("name", display_name_validate, name), ("timezone", timezone_validate, timezone)):
        try:
            validate(value)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    if email is not None and User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["An account with this email already exists."]})
    if username is not None:
        username = username_normalize(username)
    if validate_password_rules and password is not None:
        candidate = User(email=email, name=name)
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
    password_hash = make_password(password)

    for attempt in range(SIGNUP_ATTEMPTS):
        chosen = username or username_generate()
        user = User(
            email=email,
            name=name,
            timezone=timezone,
            username=chosen,
            password=password_hash,
            **avatar_random(animal=animal_of(chosen)),
            **extra,
        )
        try:
            with transaction.atomic():
                user.save(force_insert=True)
                if on_created is not None:
                    on_created(user)
        except IntegrityError as error:
            if _is_username_clash(error):
                if username is not None:
                    raise ValidationError({"username": ["This username is taken."]}) from None
                if attempt + 1 < SIGNUP_ATTEMPTS:
                    continue
            if _is_email_clash(error):
                raise ValidationError({"email": ["An account with this email already exists."]}) from None
            raise
        return user
    raise ValidationError({"username": ["Could not find a free username; please try again."]})


def user_register(
    *, email: str, password: str, name: str = "", timezone: str = "UTC", client_name: str = ""
) -> tuple[User, IssuedToken]:
    """Sign-up: the account (Django's password validators apply) and a token for the client that
    signed up, written together."""
    issued: list[IssuedToken] = []
    user = user_create(
        email=email,
        password=password,
        name=name,
        timezone=timezone,
        validate_password_rules=True,
        on_created=lambda created: issued.append(auth_token_issue(user=created, client_name=client_name)),
    )
    return user, issued[-1]


def user_authenticate(*, email: object, password: str) -> User | None:
    """The active user with this email (ignoring case) and password, else None.

    The API's login. Unlike ``django.contrib.auth.authenticate`` it sends no login signals, so
    the admin's lockout (django-axes, which counts failures per account and address) stays the
    admin's own: learners' API logins are limited by the "auth" rate instead. An unknown email
    costs one password hash too, so the answer's timing does not tell whether the email exists.
    """
    user = User.objects.filter(email=normalize_email(email)).first() if isinstance(email, str) else None
    if user is None:
        make_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


AVATAR_FIELDS = {
    "image": "avatar_image",
    "character_color": "avatar_character_color",
    "background_color": "avatar_background_color",
}


def user_update(
    *,
    user: User,
    email: str | None = None,
    username: str | None = None,
    name: str | None = None,
    timezone: str | None = None,
    avatar: dict[str, str] | None = None,
) -> User:
    """Change the fields given (None: unchanged), as ``serializers.users.MeUpdateSerializer``
    validated them; ``avatar`` holds any of ``image``, ``character_color``, ``background_color``.
    ``email`` is the platform's to change (SPEC §11.1), never the learner's (PATCH /api/me/ has
    no such field); a taken one is refused, and the unique index decides a race.

    A username another user holds (ignoring case) is refused; changing only the casing of one's
    own is allowed. The unique index on the lower-cased username decides concurrent renames: the
    loser gets a ValidationError, never a 500. The first avatar change achieves
    PROFILE_CUSTOMISED.
    """
    changes: dict[str, Any] = {}
    if email is not None and email_normalize(email) != user.email:
        email = email_normalize(email)
        if User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise ValidationError({"email": ["An account with this email already exists."]})
        changes["email"] = email
    if username is not None and username != user.username:
        if username_is_taken(username, exclude_user_id=user.pk):
            raise ValidationError({"username": ["This username is taken."]})
        changes["username"] = username
    if name is not None and name != user.name:
        changes["name"] = name
    if timezone is not None and timezone != user.timezone:
        changes["timezone"] = timezone
    avatar_changes = {
        AVATAR_FIELDS[key]: value for key, value in (avatar or {}).items() if getattr(user, AVATAR_FIELDS[key]) != value
    }
    changes.update(avatar_changes)
    if not changes:
        return user
    changes["updated_at"] = django_timezone.now()

    for field, value in changes.items():
        setattr(user, field, value)
    try:
        with transaction.atomic():
            user.save(update_fields=list(changes))
            if avatar_changes:
                _on_profile_customised(user)
    except IntegrityError as error:
        if _is_username_clash(error):
            user.refresh_from_db()
            raise ValidationError({"username": ["This username is taken."]}) from None
        if _is_email_clash(error):
            user.refresh_from_db()
            raise ValidationError({"email": ["An account with this email already exists."]}) from None
        raise
    if "username" in changes:
        user.refresh_from_db(fields=["username_key"])
    return user


def _on_profile_customised(user: User) -> None:
    one_time_achieve(user=user, code=PROFILE_CUSTOMISED)


def user_delete(*, user: User) -> None:
    """Delete the account and all its gamification data (cascades).

    Former friends' FRIENDS metric follows (their badges stay). ``user.deleted`` is written to
    the outbox in the same transaction, with the external id read before the row goes. Retried
    as a whole on a deadlock (e.g. with a friend accepting a request at the same moment).
    """
    external_id = user.external_id

    def run() -> None:
        webhook_user_deleted(external_id=external_id)
        friends_recount_after_user_delete(user=user)

    atomic_with_retry(run)
