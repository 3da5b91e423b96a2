"""The compiled token look-up (gamification.services.tokens._TokenLookup) gives what the ORM's
query gives: the same token and user, loaded alike, in one query."""

import datetime as dt

import pytest
from django.utils import timezone
from knox.crypto import hash_token

from gamification.models import ClientToken
from gamification.services.tokens import _token_by_digest, auth_token_authenticate, auth_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_same_instances_as_the_orm(django_assert_num_queries):
    user = UserFactory(name="Ødegård", timezone="Asia/Tokyo")
    key = auth_token_issue(user=user, client_name="phone").token
    digest = hash_token(key)
    expected = ClientToken.objects.select_related("user").get(digest=digest)
    with django_assert_num_queries(1):
        token = _token_by_digest(digest)
        assert token.user.username == user.username  # loaded with it, no second query
    assert fields(token) == fields(expected)
    assert fields(token.user) == fields(expected.user)
    assert timezone.is_aware(token.expiry) and timezone.is_aware(token.user.created_at)
    assert not token._state.adding and token._state.db == "default"


def test_unknown_digest_is_none():
    assert _token_by_digest(hash_token("0" * 64)) is None


def test_never_expiring_token_and_renewal_still_work():
    user = UserFactory()
    forever = auth_token_issue(user=user, expires=False).token
    assert auth_token_authenticate(key=forever).expiry is None
    key = auth_token_issue(user=user).token
    ClientToken.objects.filter(digest=hash_token(key)).update(expiry=timezone.now() + dt.timedelta(hours=1))
    renewed = auth_token_authenticate(key=key)
    assert renewed.expiry > timezone.now() + dt.timedelta(days=1)
    assert ClientToken.objects.get(digest=hash_token(key)).expiry == renewed.expiry
