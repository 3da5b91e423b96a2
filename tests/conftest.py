import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.servers import missing_binaries

_seed_migration = importlib.import_module("gamification.migrations.0002_seed_languages_and_flag")


def seed_reference_data() -> None:
    """Languages, the feature flag and the default badge catalogue, as `make run` has them."""
    _seed_migration.seed(django_apps, None)
    call_command("loaddata", "default_badges", verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed_reference_data()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests (real threads, MariaDB races) start from a flushed database: seed it
    again. pytest-django runs them after all other database tests."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
        from gamification.models import ActivityType

        if not ActivityType.objects.exists():
            seed_reference_data()
    yield


@pytest.fixture(autouse=True)
def _clear_cache():
    from gamification.selectors.catalogue import catalogue_forget

    cache.clear()
    # The per-process catalogue copy: tests change catalogue rows with queryset updates (no new
    # version token), so each test starts from the catalogue as its database has it.
    catalogue_forget()
    yield


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client():
    return APIClient()


def client_for(user, client_name: str = "tests") -> APIClient:
    """An API client logged in as ``user`` with a token of its own (as each login issues)."""
    from gamification.services.tokens import auth_token_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {auth_token_issue(user=user, client_name=client_name).token}")
    return client


@pytest.fixture
def auth_client(user):
    return client_for(user)


def is_mariadb() -> bool:
    return connection.vendor == "mysql"


def pytest_collection_modifyitems(config, items):
    on_mariadb = os.environ.get("DATABASE_URL", "").startswith("mysql")
    skip_mariadb = pytest.mark.skip(reason="needs MariaDB (run `make test`, which runs the suite on MariaDB too)")
    # Tests that start servers of their own do not depend on DATABASE_URL: once is enough.
    skip_servers = pytest.mark.skip(reason="starts its own MariaDB, Redis and gunicorn: runs in the SQLite pass only")
    missing = missing_binaries()
    no_binaries = pytest.mark.skip(reason=f"not installed here: {', '.join(missing)} (needed to start private servers)")
    # Browser tests drive the admin through a live server: the SQLite pass is enough.
    skip_browser = pytest.mark.skip(reason="drives the admin in Chromium: runs in the SQLite pass only")
    no_chromium = pytest.mark.skip(reason="Chromium is not installed at /usr/bin/chromium (`make test` installs it)")
    chromium_missing = not os.path.exists(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    for item in items:
        if "mariadb" in item.keywords and not on_mariadb:
            item.add_marker(skip_mariadb)
        if "browser" in item.keywords:
            if on_mariadb:
                item.add_marker(skip_browser)
            elif chromium_missing:
                item.add_marker(no_chromium)
        if "servers" in item.keywords:
            if on_mariadb:
                item.add_marker(skip_servers)
            elif missing:
                item.add_marker(no_binaries)


@pytest.fixture
def admin_user(db):
    """pytest-django's admin user, made through the sign-up service (the user manager only looks
    users up)."""
    from gamification.services.users import user_create

    return user_create(email="admin@example.com", password="password", is_staff=True, is_superuser=True)
