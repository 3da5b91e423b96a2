"""``manage.py create_service_account NAME`` (SPEC §3, §10): the platform's reporting account."""

import re

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from gamification.constants import USERNAME_MAX_LENGTH
from gamification.models import User
from gamification.services.usernames import username_normalize
from gamification.services.users import user_create

PERMISSION_APP_LABEL = "gamification"
PERMISSION_CODENAME = "report_events_for_others"
SERVICE_EMAIL_DOMAIN = "service.invalid"  # RFC 2606: never a deliverable address


def service_username(name: str) -> str:
    """A valid username from a free-form name: runs of other characters become ``_``."""
    username = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_")[:USERNAME_MAX_LENGTH]
    return username_normalize(username)


def service_email(username: str) -> str:
    local = re.sub(r"[^a-z0-9_\-]+", "-", username.lower()).strip("-") or "service"
    return f"{local}@{SERVICE_EMAIL_DOMAIN}"


class Command(BaseCommand):
    help = (
        "Create (or reuse) the account the learning platform uses to report events for its learners, grant it "
        "the permission to report for others, and print its API token alone on the last line. The account cannot "
        "log in with a password. Safe to run twice: the same account and token are returned."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Name of the account, e.g. zeeguu-platform (also its username).")

    def handle(self, *args, name: str, **options) -> None:
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
            token, _ = Token.objects.get_or_create(user=user)

        if created:
            self.stdout.write(self.style.SUCCESS(f"Created service account {user.username!r} ({email})."))
        else:
            self.stdout.write(f"Service account {user.username!r} exists already; reused.")
        self.stdout.write("It may report events for other users: POST /api/events/ with 'user' on each event.")
        self.stdout.write("Send the token below as 'Authorization: Token <token>':")
        self.stdout.write(token.key)
