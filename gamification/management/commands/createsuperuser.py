"""``python manage.py createsuperuser``: a staff account with every permission, made by the
sign-up service (generated username and avatar, Django's password validators).

Replaces Django's command of the same name (this app is listed before ``django.contrib.auth``),
which would bypass the service. Interactive by default; ``--noinput`` takes ``--email`` and the
password from ``DJANGO_SUPERUSER_PASSWORD``, as Django's does.
"""

import argparse
import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from gamification.services.users import user_create


class Command(BaseCommand):
    help = "Create a staff account with every permission (email login, generated username)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", help="The account's email (its login).")
        parser.add_argument("--name", default="", help="Display name (optional).")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Ask nothing: --email is required and the password comes from DJANGO_SUPERUSER_PASSWORD.",
        )
        # Django's own option, accepted so that scripts written for it keep working.
        parser.add_argument("--database", default="default", help=argparse.SUPPRESS)

    def handle(self, *args, email: str | None, name: str, interactive: bool, **options) -> None:
        if interactive:
            email = email or input("Email: ").strip()
            password = self._ask_password()
        else:
            password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or None
            if not email:
                raise CommandError("--email is required with --noinput.")
            if password is None:
                raise CommandError("Set DJANGO_SUPERUSER_PASSWORD with --noinput.")
        try:
            user = user_create(
                email=email,
                password=password,
                name=name,
                validate_password_rules=True,
                is_staff=True,
                is_superuser=True,
            )
        except ValidationError as error:
            messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            raise CommandError(
                "; ".join(
                    f"{field}: {' '.join(texts)}" if field else " ".join(texts) for field, texts in messages.items()
                )
            ) from None
        self.stdout.write(f"Superuser created: {user.email} (username {user.username}).")

    def _ask_password(self) -> str:
        while True:
            password = getpass.getpass("Password: ")
            if password and password == getpass.getpass("Password (again): "):
                return password
            self.stderr.write("The passwords are empty or do not match; try again.")
