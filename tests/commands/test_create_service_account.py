import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from gamification.models import ActivityEvent, ClientToken, User, UserMetric
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api_client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_service_account", *args, stdout=out)
    return out.getvalue()


def test_prints_the_token_alone_on_the_last_line():
    output = run("zeeguu-platform")

    account = User.objects.get(username="zeeguu-platform")
    token = output.strip().splitlines()[-1]
    assert ClientToken.objects.get(user=account).digest == hash_token(token)
    assert account.email == "zeeguu-platform@service.invalid"
    assert not account.has_usable_password()
    assert account.is_active and not account.is_staff
    assert account.has_perm("gamification.report_events_for_others")


def test_running_twice_reuses_the_account_and_both_tokens_work():
    first = run("zeeguu-platform").strip().splitlines()[-1]
    second = run("zeeguu-platform").strip().splitlines()[-1]

    assert first != second
    assert User.objects.filter(email="zeeguu-platform@service.invalid").count() == 1
    assert ClientToken.objects.count() == 2
    for token in (first, second):
        assert api_client_with(token).get("/api/me/").status_code == 200


def test_revoke_others_ends_the_earlier_tokens():
    first = run("zeeguu-platform").strip().splitlines()[-1]
    second = run("zeeguu-platform", "--revoke-others").strip().splitlines()[-1]

    assert api_client_with(first).get("/api/me/").status_code == 401
    assert api_client_with(second).get("/api/me/").status_code == 200
    assert ClientToken.objects.count() == 1


def test_the_token_lives_a_year_by_default_and_ttl_changes_it():
    run("zeeguu-platform")
    run("other-platform", "--ttl", "90d")
    run("forever-platform", "--ttl", "never")
    now = timezone.now()

    def expiry(username: str):
        return ClientToken.objects.get(user__username=username).expiry

    assert abs(expiry("zeeguu-platform") - (now + dt.timedelta(days=365))) < dt.timedelta(minutes=1)
    assert abs(expiry("other-platform") - (now + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    assert expiry("forever-platform") is None
    assert ClientToken.objects.get(user__username="forever-platform").client_name == "create_service_account"


def test_a_token_that_never_expires_still_authenticates_years_later():
    token = run("zeeguu-platform", "--ttl", "never").strip().splitlines()[-1]
    with time_machine.travel(timezone.now() + dt.timedelta(days=5 * 365)):
        assert api_client_with(token).get("/api/me/").status_code == 200
    assert ClientToken.objects.get().expiry is None  # renewal leaves it alone


@pytest.mark.parametrize("ttl", ["0", "soon", "-1", "99999d"])
def test_a_bad_ttl_is_an_error_and_creates_nothing(ttl):
    with pytest.raises(CommandError, match="--ttl"):
        run("zeeguu-platform", "--ttl", ttl)
    assert not User.objects.exists()
    assert not ClientToken.objects.exists()


def test_a_name_with_spaces_gives_a_valid_username():
    run("Zeeguu Platform (prod)")
    assert User.objects.get(email="zeeguu_platform_prod@service.invalid").username == "Zeeguu_Platform_prod"


def test_a_name_without_any_usable_character_is_an_error():
    with pytest.raises(CommandError):
        run("!!!")
    assert not User.objects.exists()


def test_a_username_held_by_a_learner_is_an_error():
    UserFactory(username="Platform")
    with pytest.raises(CommandError, match="another account"):
        run("platform")
    assert User.objects.count() == 1


def test_the_token_reports_events_for_learners():
    learner = UserFactory()
    client = api_client_with(run("zeeguu-platform").strip().splitlines()[-1])

    response = client.post(
        "/api/events/",
        {"type": "exercise_answered", "correct": True, "language": "de", "user": learner.username},
        format="json",
    )

    assert response.status_code == 201
    assert ActivityEvent.objects.get().user == learner
    assert UserMetric.objects.get(user=learner, activity_type__code="CORRECT_EXERCISES").value == 1


def test_the_account_cannot_log_in_with_a_password():
    run("zeeguu-platform")
    response = APIClient().post(
        "/api/auth/login/", {"email": "zeeguu-platform@service.invalid", "password": ""}, format="json"
    )
    assert response.status_code == 400
