import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.crypto import hash_token

from gamification.models import ClientToken
from gamification.services import tokens as tokens_service
from gamification.services.tokens import auth_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_purges_expired_tokens_of_everyone_and_keeps_the_others(monkeypatch):
    monkeypatch.setattr(tokens_service, "PURGE_BATCH", 2)  # several batches
    users = [UserFactory() for _ in range(3)]
    expired = [auth_token_issue(user=user, ttl=dt.timedelta(hours=1)) for user in users for _ in range(2)]
    live = auth_token_issue(user=users[0])
    forever = auth_token_issue(user=users[1], expires=False)
    ClientToken.objects.filter(digest__in=[hash_token(t.token) for t in expired]).update(
        expiry=timezone.now() - dt.timedelta(seconds=1)
    )

    out = StringIO()
    call_command("purge_expired_tokens", stdout=out)

    assert out.getvalue().strip() == "Purged 6 expired token(s)."
    assert set(ClientToken.objects.values_list("digest", flat=True)) == {
        hash_token(live.token),
        hash_token(forever.token),
    }
    out = StringIO()
    call_command("purge_expired_tokens", stdout=out)
    assert out.getvalue().strip() == "Purged 0 expired token(s)."
