"""``manage.py rebuild_metrics``: recompute metrics and streaks from the activity log (SPEC §10)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gamification.models import User
from gamification.services.rebuild import metrics_rebuild


class Command(BaseCommand):
    help = (
        "Recompute first occurrences, the COUNTER metrics fed by events, streaks and the FRIENDS gauge from the "
        "activity log, then award every badge the metrics qualify for (badges are never taken away). The result "
        "equals the live values; safe to run twice. Best run while no events are being recorded."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--user",
            dest="usernames",
            action="append",
            metavar="USERNAME",
            help="Only this user (ignoring case); repeat for several. Default: everyone.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args, usernames: list[str] | None = None, no_progress: bool = False, **options) -> None:
        user_ids = None
        if usernames:
            keys = {name.strip().lower() for name in usernames}
            found = dict(User.objects.filter(username_key__in=keys).values_list("username_key", "pk"))
            unknown = sorted(keys - set(found))
            if unknown:
                raise CommandError(f"Unknown username: {', '.join(unknown)}.")
            user_ids = list(found.values())
        total = len(user_ids) if user_ids is not None else User.objects.count()

        # The bar goes to stderr (stdout keeps the summary), only when someone watches it.
        err = getattr(self.stderr, "_out", sys.stderr)
        show = not no_progress and hasattr(err, "isatty") and err.isatty()
        with tqdm(total=total, unit="user", desc="Rebuilding", file=err, disable=not show) as progress:
            result = metrics_rebuild(user_ids=user_ids, on_progress=progress.update)

        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {result.users} user{'s' if result.users != 1 else ''}: "
                f"{result.metrics_changed} metric value{'s' if result.metrics_changed != 1 else ''} changed, "
                f"{result.badges_awarded} badge{'s' if result.badges_awarded != 1 else ''} awarded."
            )
        )
