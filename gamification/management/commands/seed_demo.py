"""Demo data for a local site: a staff login and a few learners with the gamification flag on.
Safe to run again."""

import datetime as dt
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from gamification.exceptions import ConflictError
from gamification.models import Classroom, ClassroomMembership, User
from gamification.selectors.relationships import are_friends
from gamification.services.classrooms import classroom_ensure, classroom_join, classroom_set_leaderboard
from gamification.services.events import events_record
from gamification.services.features import feature_flag_enable_for_users
from gamification.services.friends import friend_request_accept, friend_request_send
from gamification.services.users import user_create

STAFF_EMAIL = "admin@example.com"
DEMO_LEARNERS = [
    ("ada@example.com", "Ada", "Europe/Copenhagen", "ada"),
    ("bruno@example.com", "Bruno", "Europe/Berlin", "bruno"),
    ("chen@example.com", "Chen", "Asia/Shanghai", "chen"),
    ("dora@example.com", "Dora", "America/New_York", "dora"),
    ("emil@example.com", "Emil", "UTC", "emil"),
]
FRIEND_PAIRS = [("ada", "bruno"), ("ada", "chen"), ("ada", "dora"), ("bruno", "chen"), ("dora", "emil")]
DEMO_CLASSROOM = "German for beginners"
WORDS = ["Haus", "Baum", "Katze", "Hund", "Buch", "Schule", "Wasser", "Brot", "Apfel", "Stadt", "Zug", "Freund"]


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
            learners = {
                user.username: user for user in User.objects.filter(username__in=[row[3] for row in DEMO_LEARNERS])
            }
            # The demo shows the product: friends, streaks and badges are on for its learners.
            feature_flag_enable_for_users(users=learners.values())
            self._befriend(learners)
            self._record_activity(learners)
            classroom = self._classroom(staff, learners)

        self.stdout.write("")
        self.stdout.write(
            f"Demo: {len(learners)} learners (gamification flag on) with friendships and two weeks of activity; classroom"
            f" '{classroom.name}' (invite code {classroom.invite_code}, leaderboard on, teacher: admin)."
        )

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        base = options["base_url"].rstrip("/")
        self.stdout.write(f"  admin console  {base}/admin/     {STAFF_EMAIL} / {password}")
        self.stdout.write(f"  API docs       {base}/api/docs/  POST /api/auth/login/ with a learner:")
        for email, *_ in DEMO_LEARNERS:
            self.stdout.write(f"                 {email} / {password}")
        self.stdout.write("  (passwords are new on every run of seed_demo)")

    def _befriend(self, learners: dict[str, User]) -> None:
        for a, b in FRIEND_PAIRS:
            if are_friends(user_id=learners[a].pk, other_id=learners[b].pk):
                continue
            try:
                request = friend_request_send(sender=learners[a], receiver_username=b)
            except ConflictError:  # a request is already pending between them
                continue
            friend_request_accept(request_id=request.pk, acting_user=learners[b])

    def _record_activity(self, learners: dict[str, User]) -> None:
        """Two weeks of practice, words and exercises. Idempotency keys make a re-run count nothing
        twice (events are keyed by day, so a run on a later day adds that day's activity)."""
        today = timezone.now() - dt.timedelta(minutes=5)
        for rank, username in enumerate(sorted(learners)):
            user = learners[username]
            events = []
            for days_ago in range(13, -1, -1):
                if (days_ago + rank) % 5 == 4:  # everyone misses a day now and then
                    continue
                when = today - dt.timedelta(days=days_ago)
                day = when.date().isoformat()
                events.append(
                    {"type": "practice", "occurred_at": when, "language": "de", "kind": "reading",
                     "duration_seconds": 300 + 60 * rank, "idempotency_key": f"demo-practice-{day}"}
                )  # fmt: skip
                for i in range(rank + 1):
                    events.append(
                        {"type": "exercise_answered", "occurred_at": when, "language": "de", "correct": True,
                         "idempotency_key": f"demo-exercise-{day}-{i}"}
                    )  # fmt: skip
                word = WORDS[(days_ago + rank) % len(WORDS)]
                events.append(
                    {"type": "word_translated", "occurred_at": when, "language": "de", "word": word,
                     "idempotency_key": f"demo-word-{day}"}
                )  # fmt: skip
            events_record(reporter=user, events=events)

    def _classroom(self, staff: User, learners: dict[str, User]) -> Classroom:
        classroom, _ = classroom_ensure(name=DEMO_CLASSROOM, language_code="de", teacher_usernames=[staff.username])
        for username in ("ada", "bruno", "chen"):
            if not ClassroomMembership.objects.filter(classroom=classroom, user=learners[username]).exists():
                classroom_join(user=learners[username], invite_code=classroom.invite_code)
        return classroom_set_leaderboard(classroom_id=classroom.pk, acting_user=staff, enabled=True)
