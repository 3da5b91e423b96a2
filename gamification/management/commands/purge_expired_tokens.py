"""``manage.py purge_expired_tokens``: delete API tokens that have expired (SPEC §5)."""

from django.core.management.base import BaseCommand

from gamification.services.tokens import auth_tokens_purge_expired


class Command(BaseCommand):
    help = (
        "Delete every expired API token. Expired tokens only answer 401; a user's own are purged at their next "
        "login, this removes everyone's (run it daily from cron, for instance). Safe to run any time."
    )

    def handle(self, *args, **options) -> None:
        purged = auth_tokens_purge_expired()
        self.stdout.write(f"Purged {purged} expired token(s).")
