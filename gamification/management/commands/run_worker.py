"""``manage.py run_worker`` (SPEC §15): the background worker.

Without ``CELERY_BROKER_URL`` (the ``make run`` default) it runs the schedule
(``gamification.worker.PERIODIC_JOBS``: webhook deliveries and retries, the streak-at-risk scan,
housekeeping) in this process on the database alone. With a broker it starts a Celery worker
with its beat (the same schedule, as tasks); ``--database`` keeps the database-backed loop
anyway (both may run at once: every job is safe to run twice). Stops cleanly on SIGTERM or
SIGINT (Ctrl-C) after the job in progress; claimed deliveries it could not finish come back
after their lease.
"""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from gamification.worker import PERIODIC_JOBS, Worker

logger = logging.getLogger("gamification.worker")


class Command(BaseCommand):
    help = (
        "Run the background worker: webhook deliveries, the streak-at-risk scan and housekeeping. On the database "
        "alone without CELERY_BROKER_URL; with it, a Celery worker with its scheduler (beat). Stops on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            action="store_true",
            help="Run the database-backed loop even when CELERY_BROKER_URL is set.",
        )
        parser.add_argument(
            "--no-beat",
            action="store_true",
            help="With a broker: start the Celery worker without its scheduler (run one `celery -A zeeguu_site beat`).",
        )
        parser.add_argument("--concurrency", type=int, default=None, help="With a broker: Celery worker processes.")

    def handle(self, *args, **options) -> None:
        if settings.CELERY_BROKER_URL and not options["database"]:
            self._run_celery(beat=not options["no_beat"], concurrency=options["concurrency"])
            return
        Worker(PERIODIC_JOBS).run_forever(install_signal_handlers=True)

    def _run_celery(self, *, beat: bool, concurrency: int | None) -> None:
        from zeeguu_site.celery import app

        argv = ["worker", "--loglevel", settings.LOG_LEVEL, "--queues", settings.CELERY_TASK_DEFAULT_QUEUE]
        if beat:
            argv.append("--beat")
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        logger.info("CELERY_BROKER_URL is set: starting `celery -A zeeguu_site %s`", " ".join(argv))
        app.worker_main(argv)
