"""Admin pages for API tokens: who holds one and until when, never the digest; staff revoke."""

import datetime as dt

import pytest
from django.utils import timezone
from knox.crypto import hash_token

from gamification.models import ClientToken
from gamification.services.tokens import auth_token_issue
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/gamification/clienttoken/"


@pytest.fixture
def staff_client(client):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_the_list_shows_holder_client_and_expiry_but_no_digest_or_key(staff_client):
    learner = UserFactory(username="token_holder")
    issued = auth_token_issue(user=learner, client_name="Firefox on a phone")
    token = ClientToken.objects.get(user=learner)

    page = staff_client.get(LIST)

    assert page.status_code == 200
    html = page.content.decode()
    assert "token_holder" in html and "Firefox on a phone" in html
    assert [row.pk for row in page.context["cl"].result_list] == [token.pk]
    assert "expiry" in page.context["cl"].list_display
    for secret in (issued.token, issued.token[:15], token.digest, token.digest[:32]):
        assert secret not in html


def test_the_detail_page_is_read_only_and_shows_no_digest(staff_client):
    issued = auth_token_issue(user=UserFactory(), client_name="app")
    token = ClientToken.objects.get()

    page = staff_client.get(f"{LIST}{token.pk}/change/")

    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == set()  # every field read-only
    body = page.content.decode()
    assert token.digest not in body and issued.token[:15] not in body


def test_staff_cannot_add_tokens(staff_client):
    assert staff_client.get(f"{LIST}add/").status_code == 403


def test_the_status_filter(staff_client):
    live = auth_token_issue(user=UserFactory())
    forever = auth_token_issue(user=UserFactory(), expires=False)
    expired = auth_token_issue(user=UserFactory(), ttl=dt.timedelta(hours=1))
    ClientToken.objects.filter(digest=hash_token(expired.token)).update(expiry=timezone.now() - dt.timedelta(1))

    def listed(status: str) -> set[str]:
        return {row.digest for row in staff_client.get(LIST, {"status": status}).context["cl"].result_list}

    assert listed("live") == {hash_token(live.token), hash_token(forever.token)}
    assert listed("expired") == {hash_token(expired.token)}
    assert listed("never") == {hash_token(forever.token)}


def test_deleting_a_token_revokes_it_and_leaves_the_users_others(staff_client):
    learner = UserFactory()
    phone, laptop = client_for(learner, "phone"), client_for(learner, "laptop")
    phone_token = ClientToken.objects.get(client_name="phone")

    response = staff_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [phone_token.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert phone.get("/api/me/").status_code == 401
    assert laptop.get("/api/me/").status_code == 200


def test_the_legacy_authtoken_admin_is_not_offered(staff_client):
    assert staff_client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert staff_client.get("/admin/knox/authtoken/").status_code == 404
