"""The learning platform's service account (SPEC §3, §10, §11.1): an account that may report
events for other users and manage the users the platform provisions.

It is an ordinary user holding the permission ``gamification.report_events_for_others`` (not
staff), with no usable password: it authenticates with tokens only.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from gamification.constants import USERNAME_MAX_LENGTH
from gamification.models import User
from gamification.services.tokens import IssuedToken, auth_token_issue, auth_token_revoke_all
from gamification.services.users import user_create
from gamification.validators import username_normalize

PERMISSION_APP_LABEL = "gamification"
PERMISSION_CODENAME = "report_events_for_others"
# What identifies the platform's account, for ``User.has_perm``.
PLATFORM_PERMISSION = f"{PERMISSION_APP_LABEL}.{PERMISSION_CODENAME}"
SERVICE_EMAIL_DOMAIN = "service.invalid"  # RFC 2606: never a deliverable address
CLIENT_NAME = "create_service_account"


class ServiceAccountError(Exception):
    """The account cannot be made as asked (the message says why)."""


@dataclass(frozen=True)
class ServiceAccountToken:
    user: User
    created: bool
    revoked: int
    issued: IssuedToken


def service_username(name: str) -> str:
    """A valid username from a free-form name: runs of other characters become ``_``."""
    username = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_")[:USERNAME_MAX_LENGTH]
    return username_normalize(username)


def service_email(username: str) -> str:
    local = re.sub(r"[^a-z0-9_\-]+", "-", username.lower()).strip("-") or "service"
    return f"{local}@{SERVICE_EMAIL_DOMAIN}"


def service_account_token_issue(
    *, name: str, ttl: dt.timedelta | None, revoke_others: bool = False
) -> ServiceAccountToken:
    """Create (or reuse, by its derived email) the service account called ``name``, grant it the
    permission to report for others, and issue a new token living ``ttl`` (None: never expires).
    With ``revoke_others`` its earlier tokens end (rotation); otherwise they keep working. One
    transaction; the account row is locked, so two runs at once make one account."""
    try:
        username = service_username(name)
    except ValidationError as error:
        raise ServiceAccountError(f"Cannot make a username of {name!r}: {' '.join(error.messages)}") from None
    email = service_email(username)
    permission = Permission.objects.filter(
        content_type__app_label=PERMISSION_APP_LABEL, codename=PERMISSION_CODENAME
    ).first()
    if permission is None:
        raise ServiceAccountError("The permission to report events for others is missing: run `manage.py migrate`.")
    revoked = 0
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email).first()
        created = user is None
        if created:
            if User.objects.filter(username_key=username.lower()).exists():
                raise ServiceAccountError(f"The username {username!r} belongs to another account; choose another NAME.")
            try:
                user = user_create(email=email, password=None, name=name.strip()[:100], username=username)
            except ValidationError as error:
                raise ServiceAccountError(" ".join(error.messages)) from None
        user.user_permissions.add(permission)
        if revoke_others:
            revoked = auth_token_revoke_all(user=user)
        issued = auth_token_issue(user=user, client_name=CLIENT_NAME, ttl=ttl, expires=ttl is not None)
    return ServiceAccountToken(user=user, created=created, revoked=revoked, issued=issued)
