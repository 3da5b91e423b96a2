"""Tokens under concurrent use (MariaDB, real threads)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from knox.crypto import hash_token

from gamification.models import ClientToken
from gamification.services.tokens import auth_token_authenticate, auth_token_issue
from tests.factories import UserFactory
from tests.threads import run_in_threads

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_concurrent_logins_of_one_user_each_get_their_own_token():
    user = UserFactory()
    issued: list[str] = []

    errors = run_in_threads(THREADS, lambda _: issued.append(auth_token_issue(user=user).token))

    assert errors == []
    assert len(set(issued)) == THREADS
    assert ClientToken.objects.filter(user=user).count() == THREADS


def test_concurrent_logins_at_the_cap_keep_at_most_the_cap(settings):
    settings.TOKEN_MAX_PER_USER = 3
    user = UserFactory()
    for _ in range(3):
        auth_token_issue(user=user)

    errors = run_in_threads(THREADS, lambda _: auth_token_issue(user=user))

    assert errors == []
    assert 1 <= ClientToken.objects.filter(user=user).count() <= 3


def test_concurrent_requests_due_for_renewal_all_authenticate_and_renew_once():
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key = auth_token_issue(user=user).token

    later = start + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        errors = run_in_threads(THREADS, lambda _: auth_token_authenticate(key=key))

    assert errors == []
    assert ClientToken.objects.get(digest=hash_token(key)).expiry == later + dt.timedelta(days=30)
