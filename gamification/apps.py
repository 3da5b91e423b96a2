from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Gamification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gamification import checks, signals  # noqa: F401  (registers the system checks)

        signals.connect_receivers()
