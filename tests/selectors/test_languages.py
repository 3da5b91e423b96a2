"""The known language codes, cached per process (gamification.selectors.languages): a request
outside a transaction reads them once per process, a code added since is known at once, an old
copy is read again, and inside a transaction nothing cached is used or kept."""

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gamification.models import Language
from gamification.selectors import languages
from tests.api.test_events_api import post, word
from tests.conftest import client_for
from tests.factories import UserFactory

LANGUAGE_READ = re.compile(r"FROM [`\"]?gamification_language[`\"]?(\s|$)")


def language_reads(queries) -> int:
    return sum(1 for query in queries.captured_queries if LANGUAGE_READ.search(query["sql"]))


def event(code: str) -> dict:
    return {**word(f"w-{code}-{time.monotonic_ns()}"), "language": code}


@pytest.fixture(autouse=True)
def _no_copy():
    languages.forget()
    yield
    languages.forget()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_codes_are_read_once_per_process():
    client = client_for(UserFactory())
    with CaptureQueriesContext(connection) as first:
        assert post(client, event("de")).status_code == 201
    with CaptureQueriesContext(connection) as second:
        assert post(client, {"events": [event("de"), event("fr")]}).status_code == 201
    assert language_reads(first) == 1
    assert language_reads(second) == 0


@pytest.mark.django_db(transaction=True)
def test_a_code_added_by_another_process_is_known_at_once_and_an_unknown_one_refused():
    client = client_for(UserFactory())
    assert post(client, event("de")).status_code == 201  # the copy is read
    Language.objects.bulk_create([Language(code="zz", name="Zedish")])  # no signal: as elsewhere
    with CaptureQueriesContext(connection) as queries:
        assert post(client, event("zz")).status_code == 201
    assert language_reads(queries) == 1  # missing from the copy: read again, once
    with CaptureQueriesContext(connection) as queries:
        response = post(client, event("qq"))
    assert response.status_code == 400
    assert "Unknown language" in str(response.json())
    assert language_reads(queries) == 1  # at most one read again per request, however many misses


@pytest.mark.django_db(transaction=True)
def test_a_copy_older_than_the_ttl_is_read_again(monkeypatch):
    Language.objects.bulk_create([Language(code="zz", name="Zedish")])
    client = client_for(UserFactory())
    assert post(client, event("de")).status_code == 201  # the copy holds zz
    with connection.cursor() as cursor:  # removed by hand in another process: no signal here
        cursor.execute("DELETE FROM gamification_language WHERE code = 'zz'")
    monkeypatch.setattr(languages, "LANGUAGE_CODES_TTL", -1.0)
    assert post(client, event("zz")).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_saving_or_deleting_a_language_in_this_process_drops_the_copy():
    client = client_for(UserFactory())
    assert post(client, event("de")).status_code == 201
    assert languages._copies
    language = Language.objects.create(code="zz", name="Zedish")
    assert not languages._copies
    assert post(client, event("zz")).status_code == 201
    language.name = "Zed"
    language.save()
    assert not languages._copies


@pytest.mark.django_db
def test_inside_a_transaction_a_copy_is_neither_used_nor_kept():
    languages._copies["default"] = languages._Copy(frozenset({"qq"}), time.monotonic())  # stale
    client = client_for(UserFactory())
    assert post(client, event("qq")).status_code == 400
    assert post(client, event("de")).status_code == 201
    assert languages._copies["default"].codes == {"qq"}  # nothing read in a transaction was kept
