"""``create_classroom NAME --language CODE [--teacher USERNAME ...]`` (SPEC §10)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from gamification.exceptions import ServiceError
from gamification.services.classrooms import classroom_ensure


class Command(BaseCommand):
    help = (
        "Create a classroom teaching a language, with its teachers, and print '<id> <invite_code>' alone on the "
        "last line. Safe to run twice: a classroom with the same name (ignoring case) and language is reused, and "
        "teachers it lacks are added. Unknown language or teacher: an error, and nothing is created. Students join "
        "with the invite code (POST /api/classrooms/join/); the leaderboard starts switched off."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The classroom's name, e.g. 'German A1 (Monday)'.")
        parser.add_argument("--language", required=True, help="ISO 639-1 code of the language taught, e.g. de.")
        parser.add_argument(
            "--teacher",
            action="append",
            default=[],
            metavar="USERNAME",
            help="Username of a teacher (ignoring case); repeat the option for several teachers.",
        )

    def handle(self, *args, **options) -> None:
        try:
            classroom, created = classroom_ensure(
                name=options["name"], language_code=options["language"], teacher_usernames=options["teacher"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except ServiceError as error:
            raise CommandError(error.message) from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created classroom {classroom.name!r} ({classroom.language_id})."))
        else:
            self.stdout.write(f"Classroom {classroom.name!r} ({classroom.language_id}) exists already; reused.")
        self.stdout.write(f"{classroom.pk} {classroom.invite_code}")
