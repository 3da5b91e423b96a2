from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from gamification.models import ActivityEvent, User, UserMetric
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_service_account", *args, stdout=out)
    return out.getvalue()


def test_prints_the_token_alone_on_the_last_line():
    output = run("zeeguu-platform")

    account = User.objects.get(username="zeeguu-platform")
    token = output.strip().splitlines()[-1]
    assert token == Token.objects.get(user=account).key
    assert account.email == "zeeguu-platform@service.invalid"
    assert not account.has_usable_password()
    assert account.is_active and not account.is_staff
    assert account.has_perm("gamification.report_events_for_others")


def test_running_twice_reuses_the_account_and_its_token():
    first = run("zeeguu-platform").strip().splitlines()[-1]
    second = run("zeeguu-platform").strip().splitlines()[-1]

    assert first == second
    assert User.objects.filter(email="zeeguu-platform@service.invalid").count() == 1
    assert Token.objects.count() == 1


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
    from rest_framework.test import APIClient

    learner = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {run('zeeguu-platform').strip().splitlines()[-1]}")

    response = client.post(
        "/api/events/",
        {"type": "exercise_answered", "correct": True, "language": "de", "user": learner.username},
        format="json",
    )

    assert response.status_code == 201
    assert ActivityEvent.objects.get().user == learner
    assert UserMetric.objects.get(user=learner, activity_type__code="CORRECT_EXERCISES").value == 1


def test_the_account_cannot_log_in_with_a_password():
    from rest_framework.test import APIClient

    run("zeeguu-platform")
    response = APIClient().post(
        "/api/auth/login/", {"email": "zeeguu-platform@service.invalid", "password": ""}, format="json"
    )
    assert response.status_code == 400
