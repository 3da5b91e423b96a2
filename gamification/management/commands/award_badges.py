"""``manage.py award_badges [--type CODE ...]``: award the badges existing metrics qualify for."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gamification.models import ActivityType
from gamification.selectors.badges import badge_award_candidates_count
from gamification.services.metrics import badges_award_qualified


class Command(BaseCommand):
    help = (
        "Award every badge that users' current metrics already qualify for, e.g. after staff added a "
        "level or lowered a threshold. Safe to run again: nobody gets a badge twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--type",
            dest="codes",
            action="append",
            metavar="CODE",
            help="Only this activity type (e.g. TRANSLATED_WORDS); repeat for several. Default: all.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args, codes: list[str] | None = None, no_progress: bool = False, **options):
        activity_types = list(ActivityType.objects.order_by("id"))
        if codes:
            by_code = {activity_type.code: activity_type for activity_type in activity_types}
            wanted = [code.strip().upper() for code in codes]
            unknown = [code for code in wanted if code not in by_code]
            if unknown:
                raise CommandError(
                    f"Unknown activity type code: {', '.join(unknown)}. Known codes: {', '.join(by_code) or 'none'}."
                )
            activity_types = [by_code[code] for code in dict.fromkeys(wanted)]

        total = badge_award_candidates_count(activity_types=activity_types)
        # stderr keeps stdout for the result; OutputWrapper would add a newline to every redraw.
        with tqdm(
            total=total, unit="user", desc="Checking metrics", file=self.stderr._out, disable=no_progress
        ) as progress:
            awarded = badges_award_qualified(activity_types=activity_types, on_progress=progress.update)

        names = ", ".join(activity_type.code for activity_type in activity_types) or "no activity types"
        self.stdout.write(self.style.SUCCESS(f"Awarded {awarded} badge{'s' if awarded != 1 else ''} ({names})."))
