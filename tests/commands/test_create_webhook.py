"""``manage.py create_webhook URL --secret SECRET --events TYPE[,TYPE...]`` (SPEC §10)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gamification.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://platform.example.org/hooks/gamification"


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_webhook", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_registers_and_prints_the_id_alone_on_the_last_line():
    output = run(URL, "--secret", "s3cret", "--events", "badge.awarded,user.deleted")

    endpoint = WebhookEndpoint.objects.get()
    assert output.strip().splitlines()[-1] == str(endpoint.pk)
    assert (endpoint.url, endpoint.secret, endpoint.active) == (URL, "s3cret", True)
    assert endpoint.event_types == ["badge.awarded", "user.deleted"]


def test_running_twice_updates_the_endpoint_with_that_url():
    first = run(URL, "--secret", "one", "--events", "badge.awarded")
    second = run(URL, "--secret", "two", "--events", "streak.at_risk", "--events", "user.deleted", "--inactive")

    assert first.strip().splitlines()[-1] == second.strip().splitlines()[-1]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.event_types, endpoint.active) == (
        "two",
        ["streak.at_risk", "user.deleted"],
        False,
    )


def test_all_subscribes_to_every_type():
    run("http://127.0.0.1:9000/hook", "--secret", "x", "--events", "all")
    assert len(WebhookEndpoint.objects.get().event_types) == 5


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("http://platform.example.org/hook", "badge.awarded", "https"),
        (URL, "badge.awarded,nonsense", "nonsense"),
        ("not-a-url", "badge.awarded", "valid"),
    ],
)
def test_refusals_are_errors_and_store_nothing(url, events, message):
    with pytest.raises(CommandError, match=message):
        run(url, "--secret", "x", "--events", events)
    assert not WebhookEndpoint.objects.exists()
