"""System checks and start-up warnings about the deployment (``manage.py check --deploy``)."""

import logging

from django.conf import settings
from django.core import checks

logger = logging.getLogger("gamification.deploy")

# Cache backends whose data lives in one process: every worker would keep its own counts.
PER_PROCESS_CACHES = frozenset(
    {"django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"}
)
PER_PROCESS_LIMITS = (
    "Rate limits are kept in this process's memory: with several worker processes each keeps its own "
    "counts and a client gets the limit once per process. Set REDIS_URL so that all processes share them."
)


def rate_limits_per_process() -> bool:
    return settings.THROTTLING_ENABLED and settings.CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES


@checks.register(checks.Tags.caches, deploy=True)
def check_rate_limits_shared(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if not rate_limits_per_process():
        return []
    return [checks.Warning(PER_PROCESS_LIMITS, hint="REDIS_URL=redis://host:6379/0", id="gamification.W001")]


def warn_at_startup() -> None:
    """Called once per process by the WSGI entry point (gunicorn and friends start several)."""
    if rate_limits_per_process() and not settings.DEBUG:
        logger.warning(PER_PROCESS_LIMITS)
