"""Demo data for a local site: a staff login and a few learners. Safe to run again."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gamification.models import User
from gamification.services.users import user_create

STAFF_EMAIL = "admin@example.com"
DEMO_LEARNERS = [
    ("ada@example.com", "Ada", "Europe/Copenhagen", "ada"),
    ("bruno@example.com", "Bruno", "Europe/Berlin", "bruno"),
    ("chen@example.com", "Chen", "Asia/Shanghai", "chen"),
    ("dora@example.com", "Dora", "America/New_York", "dora"),
    ("emil@example.com", "Emil", "UTC", "emil"),
]


class Command(BaseCommand):
    help = "Create a staff login and demo learners (local development only). Prints how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password for every demo account (default: a new random one).")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the site will be served.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo is for local development: run it with DEBUG=1.")
        password = options["password"] or secrets.token_urlsafe(9)
        with transaction.atomic():
            staff = User.objects.filter(email=STAFF_EMAIL).first() or user_create(
                email=STAFF_EMAIL, password=password, name="Demo staff", username="admin"
            )
            staff.is_staff = staff.is_superuser = True
            staff.set_password(password)
            staff.save(update_fields=["is_staff", "is_superuser", "password"])
            for email, name, tz_name, username in DEMO_LEARNERS:
                learner = User.objects.filter(email=email).first() or user_create(
                    email=email, password=password, name=name, timezone=tz_name, username=username
                )
                learner.set_password(password)
                learner.save(update_fields=["password"])

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        self.stdout.write(f"  admin console  http://127.0.0.1:8000/admin/     {STAFF_EMAIL} / {password}")
        self.stdout.write("  API docs       http://127.0.0.1:8000/api/docs/  POST /api/auth/login/ with a learner:")
        for email, *_ in DEMO_LEARNERS:
            self.stdout.write(f"                 {email} / {password}")
        self.stdout.write("  (passwords are new on every run of seed_demo)")
