"""The Celery application (SPEC §15), used when ``CELERY_BROKER_URL`` is set.

Start a worker with its scheduler: ``python manage.py run_worker`` (which runs
``celery -A zeeguu_site worker --beat`` when a broker is configured), or separately
``celery -A zeeguu_site worker`` and one ``celery -A zeeguu_site beat``. Settings are Django's
``CELERY_*`` (zeeguu_site/settings.py); tasks live in ``gamification/tasks.py``; the schedule is
``gamification.worker.PERIODIC_JOBS``, the same one ``run_worker`` follows without a broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zeeguu_site.settings")

app = Celery("zeeguu_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["gamification"])


@app.on_after_finalize.connect
def _schedule_periodic_jobs(sender: Celery, **kwargs) -> None:
    """Celery beat runs every job of the one schedule as ``gamification.periodic_job``."""
    from gamification.tasks import periodic_job
    from gamification.worker import PERIODIC_JOBS, celery_interval

    for job in PERIODIC_JOBS:
        sender.add_periodic_task(celery_interval(job), periodic_job.s(job.name), name=job.name, expires=300)
