"""``manage.py create_service_account NAME`` (SPEC §3, §10): the platform's reporting account."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gamification.durations import duration_parse
from gamification.services.service_accounts import ServiceAccountError, service_account_token_issue

# A service account's token outlives a learner's: a platform that pauses for a month must not find
# itself locked out. Use renews it like any token, so a busy platform's token never expires.
DEFAULT_TTL = "365d"


def ttl_argument(text: str) -> dt.timedelta | None:
    if text.strip().lower() == "never":
        return None
    try:
        return duration_parse(text)
    except ValueError as error:
        raise CommandError(f"--ttl: {error}") from None


class Command(BaseCommand):
    help = (
        "Create (or reuse) the account the learning platform uses to report events for its learners, grant it "
        "the permission to report for others, and print a new API token for it alone on the last line. The account "
        "cannot log in with a password. Safe to run twice: the account is reused and its earlier tokens keep "
        "working (so a running platform is not cut off) unless --revoke-others is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Name of the account, e.g. zeeguu-platform (also its username).")
        parser.add_argument(
            "--ttl",
            default=DEFAULT_TTL,
            help=(
                f"How long the token lives unused (default {DEFAULT_TTL}; seconds, 90d, 12h, P90D), or 'never'. "
                "Each use renews it."
            ),
        )
        parser.add_argument(
            "--revoke-others",
            action="store_true",
            help="End the account's earlier tokens (rotation: deploy the new token first).",
        )

    def handle(self, *args, name: str, ttl: str, revoke_others: bool, **options) -> None:
        lifetime = ttl_argument(ttl)
        try:
            result = service_account_token_issue(name=name, ttl=lifetime, revoke_others=revoke_others)
        except ServiceAccountError as error:
            raise CommandError(str(error)) from None
        user, created, revoked, issued = result.user, result.created, result.revoked, result.issued
        email = user.email

        if created:
            self.stdout.write(self.style.SUCCESS(f"Created service account {user.username!r} ({email})."))
        else:
            self.stdout.write(f"Service account {user.username!r} exists already; reused.")
        if revoke_others:
            self.stdout.write(f"Ended its {revoked} earlier token(s).")
        elif not created:
            self.stdout.write("Its earlier tokens keep working (--revoke-others ends them).")
        self.stdout.write("It may report events for other users: POST /api/events/ with 'user' on each event.")
        if issued.expires_at is None:
            self.stdout.write(
                "The token never expires; revoke it in the admin (API tokens) when it is no longer needed."
            )
        else:
            self.stdout.write(f"The token expires at {issued.expires_at.isoformat()} unless used (use renews it).")
        self.stdout.write("Send the token below as 'Authorization: Token <token>':")
        self.stdout.write(issued.token)
