"""Staff login at /admin/login/ locks out per account and per address (django-axes)."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "the-right-staff-password-9"


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", password=PASSWORD, is_staff=True, is_superuser=True)


def admin_login(client: Client, email: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db
def test_the_right_password_is_refused_after_too_many_wrong_ones(staff, settings):
    client = Client(REMOTE_ADDR="203.0.113.10")
    statuses = [
        admin_login(client, "staff@example.com", "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form says "wrong password" until the failure that reaches the limit locks the account.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    response = admin_login(client, "staff@example.com", PASSWORD)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not logged_in(response)


@pytest.mark.django_db
def test_an_account_is_locked_whatever_address_the_attempts_come_from(staff, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        admin_login(Client(REMOTE_ADDR=f"198.51.100.{i}"), "Staff@Example.com", "wrong")

    response = admin_login(Client(REMOTE_ADDR="192.0.2.200"), "staff@example.com", PASSWORD)

    assert response.status_code == 429


@pytest.mark.django_db
def test_an_address_is_locked_whatever_accounts_it_tries(staff, settings):
    client = Client(REMOTE_ADDR="203.0.113.66")
    for i in range(settings.AXES_FAILURE_LIMIT):
        admin_login(client, f"guess{i}@example.com", "wrong")

    assert admin_login(client, "staff@example.com", PASSWORD).status_code == 429
    assert logged_in(admin_login(Client(REMOTE_ADDR="203.0.113.67"), "staff@example.com", PASSWORD))


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(staff, settings):
    client = Client(REMOTE_ADDR="203.0.113.11")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "staff@example.com", "wrong")
    assert logged_in(admin_login(client, "staff@example.com", PASSWORD))
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "staff@example.com", "wrong")

    assert logged_in(admin_login(client, "staff@example.com", PASSWORD))


@pytest.mark.django_db
def test_staff_see_the_lockout_in_the_admin_and_can_lift_it(staff, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.12")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(attacker, "staff@example.com", "wrong")
    other_staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(other_staff)

    page = admin.get("/admin/axes/accessattempt/")

    assert page.status_code == 200
    assert "staff@example.com" in page.content.decode()
    AccessAttempt.objects.all().delete()  # what "delete selected access attempts" does
    assert logged_in(admin_login(attacker, "staff@example.com", PASSWORD))


@pytest.mark.django_db
def test_api_logins_do_not_count_towards_the_admin_lockout(staff, settings, api_client):
    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        response = api_client.post("/api/auth/login/", {"email": "staff@example.com", "password": "x"}, format="json")
        assert response.status_code == 400

    assert not AccessAttempt.objects.exists()
    assert logged_in(admin_login(Client(), "staff@example.com", PASSWORD))
