"""``manage.py create_webhook URL --secret SECRET --events TYPE[,TYPE...]`` (SPEC §10, §11.3)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gamification.models import WebhookEventType
from gamification.services.webhooks import webhook_endpoint_put


class Command(BaseCommand):
    help = (
        "Register an outbound webhook endpoint, or update the one with this URL (secret, event types, active), and "
        "print its id alone on the last line. Safe to run twice. The URL must be https, or plain http to a "
        "loopback address. Event types: " + ", ".join(WebhookEventType.values) + " (or 'all')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="Where to POST events, e.g. https://platform.example.org/hooks/gamification")
        parser.add_argument("--secret", required=True, help="The secret the receiver checks signatures with.")
        parser.add_argument(
            "--events",
            required=True,
            action="append",
            help="Event types, comma-separated (may be repeated), or 'all'.",
        )
        parser.add_argument("--inactive", action="store_true", help="Register it switched off (nothing is sent).")
        parser.add_argument("--description", default=None, help="A note for staff (shown in the admin).")

    def handle(self, *args, **options) -> None:
        types = [part.strip() for value in options["events"] for part in value.split(",") if part.strip()]
        if any(value.lower() == "all" for value in types):
            types = list(WebhookEventType.values)
        try:
            endpoint, created = webhook_endpoint_put(
                url=options["url"],
                secret=options["secret"],
                event_types=types,
                active=not options["inactive"],
                description=options["description"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        state = "active" if endpoint.active else "inactive"
        self.stderr.write(
            f"{'Registered' if created else 'Updated'} webhook endpoint {endpoint.pk} ({state}): {endpoint.url} "
            f"for {', '.join(endpoint.event_types)}"
        )
        self.stdout.write(str(endpoint.pk))
