"""``manage.py create_service_account NAME`` (SPEC §3, §10): the platform's reporting account."""

import datetime as dt
import re

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from gamification.constants import USERNAME_MAX_LENGTH
from gamification.durations import duration_parse
from gamification.models import User
from gamification.services.tokens import auth_token_issue, auth_token_revoke_all
from gamification.services.users import user_create
from gamification.validators import username_normalize

PERMISSION_APP_LABEL = "gamification"
PERMISSION_CODENAME = "report_events_for_others"
SERVICE_EMAIL_DOMAIN = "service.invalid"  # RFC 2606: never a deliverable address
# A service account's token outlives a learner's: a platform that pauses for a month must not find
# itself locked out. Use renews it like any token, so a busy platform's token never expires.
DEFAULT_TTL = "365d"
CLIENT_NAME = "create_service_account"


def service_username(name: str) -> str:
    """A valid username from a free-form name: runs of other characters become ``_``."""
    username = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_")[:USERNAME_MAX_LENGTH]
    return username_normalize(username)


def service_email(username: str) -> str:
    local = re.sub(r"[^a-z0-9_\-]+", "-", username.lower()).strip("-") or "service"
    return f"{local}@{SERVICE_EMAIL_DOMAIN}"


def ttl_argument(text: str) -> dt.timedelta | None:
    if text.strip().lower() == "never":
        return None
    try:
        return duration_parse(text)
    except ValueError as error:
        raise CommandError(f"--ttl: {error}") from None


class Command(BaseCommand):
    help = (
        "Create (or reuse) the account the learning platform uses to report events for its learners, grant it "
        "the permission to report for others, and print a new API token for it alone on the last line. The account "
        "cannot log in with a password. Safe to run twice: the account is reused and its earlier tokens keep "
        "working (so a running platform is not cut off) unless --revoke-others is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Name of the account, e.g. zeeguu-platform (also its username).")
        parser.add_argument(
            "--ttl",
            default=DEFAULT_TTL,
            help=(
                f"How long the token lives unused (default {DEFAULT_TTL}; seconds, 90d, 12h, P90D), or 'never'. "
                "Each use renews it."
            ),
        )
        parser.add_argument(
            "--revoke-others",
            action="store_true",
            help="End the account's earlier tokens (rotation: deploy the new token first).",
        )

    def handle(self, *args, name: str, ttl: str, revoke_others: bool, **options) -> None:
        lifetime = ttl_argument(ttl)
        try:
            username = service_username(name)
        except ValidationError as error:
            raise CommandError(f"Cannot make a username of {name!r}: {' '.join(error.messages)}") from None
        email = service_email(username)
        permission = Permission.objects.filter(
            content_type__app_label=PERMISSION_APP_LABEL, codename=PERMISSION_CODENAME
        ).first()
        if permission is None:
            raise CommandError("The permission to report events for others is missing: run `manage.py migrate`.")

        revoked = 0
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email=email).first()
            created = user is None
            if created:
                if User.objects.filter(username_key=username.lower()).exists():
                    raise CommandError(f"The username {username!r} belongs to another account; choose another NAME.")
                try:
                    user = user_create(email=email, password=None, name=name.strip()[:100], username=username)
                except ValidationError as error:
                    raise CommandError(" ".join(error.messages)) from None
            user.user_permissions.add(permission)
            if revoke_others:
                revoked = auth_token_revoke_all(user=user)
            issued = auth_token_issue(user=user, client_name=CLIENT_NAME, ttl=lifetime, expires=lifetime is not None)

        if created:
            self.stdout.write(self.style.SUCCESS(f"Created service account {user.username!r} ({email})."))
        else:
            self.stdout.write(f"Service account {user.username!r} exists already; reused.")
        if revoke_others:
            self.stdout.write(f"Ended its {revoked} earlier token(s).")
        elif not created:
            self.stdout.write("Its earlier tokens keep working (--revoke-others ends them).")
        self.stdout.write("It may report events for other users: POST /api/events/ with 'user' on each event.")
        if issued.expires_at is None:
            self.stdout.write(
                "The token never expires; revoke it in the admin (API tokens) when it is no longer needed."
            )
        else:
            self.stdout.write(f"The token expires at {issued.expires_at.isoformat()} unless used (use renews it).")
        self.stdout.write("Send the token below as 'Authorization: Token <token>':")
        self.stdout.write(issued.token)
