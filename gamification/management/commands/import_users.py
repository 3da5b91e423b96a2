"""``manage.py import_users FILE``: create or update users by the platform's id (SPEC §11.2)."""

from gamification.imports import users_import
from gamification.management.import_command import ImportCommand, Progress


class Command(ImportCommand):
    help = (
        "Create or update users from NDJSON (one {external_id, name?, email?, username?, timezone?} a line) or CSV "
        "with a header of those columns; - reads standard input. Safe to run again. Rejected lines go to "
        "FILE.rejected.ndjson. Exit status 0 all imported, 1 some lines rejected, 2 the file was refused."
    )
    noun = "user line"

    def run_import(self, stream, *, rejected, err, size, no_progress):
        progress = Progress(err, desc="Users", unit="line", enabled=not no_progress)
        try:
            return users_import(stream=stream, on_rejected=rejected, on_progress=progress.update)
        finally:
            progress.close()
