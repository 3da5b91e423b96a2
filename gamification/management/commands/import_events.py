"""``manage.py import_events FILE``: backfill the activity log (SPEC §11.2)."""

from gamification.imports import events_import
from gamification.management.import_command import ImportCommand, Progress


class Command(ImportCommand):
    help = (
        "Import historical events from NDJSON (one event of POST /api/events/ a line, naming its learner by "
        "external_user_id or user, with occurred_at; any age). - reads standard input. Safe to run again: an event "
        "without idempotency_key gets one from its content. Then rebuilds the touched users' metrics, streaks and "
        "badges (stamped with the time each threshold was crossed); sends no webhooks. Rejected lines go to "
        "FILE.rejected.ndjson. Exit status 0 all imported or duplicates, 1 some lines rejected, 2 the file was refused."
    )
    noun = "event line"

    def run_import(self, stream, *, rejected, err, size, no_progress):
        progress = Progress(err, desc="Events", unit="line", enabled=not no_progress)
        rebuild: list[Progress] = []

        def rebuild_start(users: int) -> None:
            progress.close()
            rebuild.append(Progress(err, desc="Rebuilding", unit="user", total=users, enabled=not no_progress))

        try:
            return events_import(
                stream=stream,
                on_rejected=rejected,
                on_progress=progress.update,
                on_rebuild_start=rebuild_start,
                on_rebuild_progress=lambda n: rebuild[-1].update(n),
            )
        finally:
            progress.close()
            for bar in rebuild:
                bar.close()
