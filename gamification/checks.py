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


@checks.register(checks.Tags.database, deploy=True)
def check_replica_pins_shared(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Read-your-writes after a write needs the pin to the primary in a cache all processes see."""
    if not getattr(settings, "DATABASE_REPLICA_ALIAS", None):
        return []
    if settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            "DATABASE_REPLICA_URL is set but the cache is per process: a client that just wrote may read from the "
            "replica through another process and miss its own write.",
            hint="Set REDIS_URL.",
            id="gamification.W010",
        )
    ]


def warn_at_startup() -> None:
    """Called once per process by the WSGI entry point (gunicorn and friends start several)."""
    if rate_limits_per_process() and not settings.DEBUG:
        logger.warning(PER_PROCESS_LIMITS)


@checks.register(checks.Tags.database)
def check_catalogue_matches_rules(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """The loaded catalogue against ``gamification.rules``: an activity type no rule feeds, or one
    whose mechanism differs from its rule's, is an error (its metric would never move, or move
    wrongly); a rule without its row is a warning (``loaddata default_badges`` adds it). Runs
    with ``manage.py check --database default`` and before ``migrate``."""
    from django.db import DatabaseError

    from gamification.models import ActivityType
    from gamification.rules import RULES

    if not databases:
        return []
    try:
        loaded = dict(ActivityType.objects.values_list("code", "award_mechanism"))
    except DatabaseError:  # not migrated yet
        return []
    messages: list[checks.CheckMessage] = []
    for code, mechanism in sorted(loaded.items()):
        rule = RULES.get(code)
        if rule is None:
            messages.append(
                checks.Error(
                    f"Activity type {code} is in the catalogue but no rule feeds it: its metric never moves.",
                    hint=f"Known codes: {', '.join(RULES)}. Add a rule in gamification/rules.py or delete the row.",
                    id="gamification.E001",
                )
            )
        elif rule.mechanism != mechanism:
            messages.append(
                checks.Error(
                    f"Activity type {code} is a {mechanism} in the catalogue; its rule works as a {rule.mechanism}.",
                    id="gamification.E002",
                )
            )
    missing = [code for code in RULES if code not in loaded]
    if loaded and missing:
        messages.append(
            checks.Warning(
                f"No catalogue row for {', '.join(missing)}: those badges cannot be earned.",
                hint="python manage.py loaddata default_badges",
                id="gamification.W002",
            )
        )
    return messages
