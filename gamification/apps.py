from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Gamification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gamification import signals  # noqa: F401  (connects receivers)
