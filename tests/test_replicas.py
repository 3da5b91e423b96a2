"""The read-replica router: read-only API requests read from the replica (here a second
connection to the test database), except credentials, reads inside a transaction, and clients
that just wrote (pinned to the primary through the shared cache for a few seconds)."""

import pytest
import time_machine
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gamification.models import ActivityType, ClientToken, User
from gamification.replicas import ReplicaRouter, _current, _RequestReads, client_fingerprint
from tests.api.test_events_api import post, word
from tests.conftest import client_for
from tests.factories import UserFactory

ROUTER = ReplicaRouter()


@pytest.fixture
def replica(settings):
    settings.DATABASE_REPLICA_ALIAS = "replica"
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    return "replica"


def reads_in(request_state):
    token = _current.set(request_state)
    try:
        return ROUTER.db_for_read(User), ROUTER.db_for_read(ClientToken)
    finally:
        _current.reset(token)


class TestRouterDecisions:
    def test_without_a_replica_everything_is_primary(self, settings):
        settings.DATABASE_REPLICA_ALIAS = None
        assert reads_in(_RequestReads(replica=True)) == ("default", "default")

    def test_a_replica_readable_request_reads_from_the_replica_but_credentials_from_the_primary(self, replica):
        assert reads_in(_RequestReads(replica=True)) == ("replica", "default")

    def test_outside_requests_and_in_unsafe_ones_reads_are_primary(self, replica):
        assert ROUTER.db_for_read(User) == "default"  # worker, commands, shell
        assert reads_in(_RequestReads(replica=False)) == ("default", "default")

    def test_after_a_write_the_rest_of_the_request_reads_from_the_primary(self, replica):
        state = _RequestReads(replica=True)
        token = _current.set(state)
        try:
            assert ROUTER.db_for_write(User) == "default"
            assert ROUTER.db_for_read(User) == "default"
        finally:
            _current.reset(token)

    @pytest.mark.django_db
    def test_inside_a_transaction_reads_stay_on_the_primary(self, replica):
        with transaction.atomic():
            assert reads_in(_RequestReads(replica=True)) == ("default", "default")

    def test_migrations_run_on_the_primary_only(self):
        assert ROUTER.allow_migrate("default", "gamification") is True
        assert ROUTER.allow_migrate("replica", "gamification") is False

    def test_clients_are_known_by_a_hash_of_their_credential(self, rf):
        token = rf.get("/api/me/", HTTP_AUTHORIZATION="Token abc")
        assert client_fingerprint(token) == client_fingerprint(rf.get("/api/x/", HTTP_AUTHORIZATION="Token abc"))
        assert client_fingerprint(token) != client_fingerprint(rf.get("/api/me/", HTTP_AUTHORIZATION="Token abd"))
        assert "abc" not in client_fingerprint(token)
        assert client_fingerprint(rf.get("/api/me/")) is None


def queries_by_alias(callable_):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica_queries,
    ):
        response = callable_()
    return response, len(primary), len(replica_queries)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
class TestThroughTheApi:
    def test_a_read_goes_to_the_replica_and_the_token_lookup_to_the_primary(self, replica):
        learner = UserFactory()
        client = client_for(learner)

        response, primary, from_replica = queries_by_alias(lambda: client.get("/api/badges/"))

        assert response.status_code == 200
        assert from_replica >= 1
        assert primary >= 1  # the token

    def test_the_writer_reads_its_write_from_the_primary_then_the_replica_again(self, replica):
        learner = UserFactory()
        client = client_for(learner)
        client.get("/api/badges/")
        assert post(client, word()).status_code == 201

        pinned, _, from_replica = queries_by_alias(lambda: client.get("/api/badges/"))
        assert pinned.status_code == 200 and from_replica == 0

        other = client_for(UserFactory())  # another client is not pinned
        _, _, other_replica = queries_by_alias(lambda: other.get("/api/badges/"))
        assert other_replica >= 1

        with time_machine.travel(timezone.now() + timezone.timedelta(seconds=6)):
            _, _, later_replica = queries_by_alias(lambda: client.get("/api/badges/"))
        assert later_replica >= 1

    def test_unsafe_requests_and_the_admin_never_read_from_the_replica(self, replica):
        assert ActivityType.objects.exists()
        client = client_for(UserFactory())
        _, _, from_replica = queries_by_alias(lambda: post(client, word("x")))
        assert from_replica == 0
        staff = UserFactory(is_staff=True, is_superuser=True)
        from django.test import Client

        admin = Client()
        admin.force_login(staff)
        _, _, admin_replica = queries_by_alias(lambda: admin.get("/admin/gamification/activitytype/"))
        assert admin_replica == 0
