"""Browser tests of the admin console: real Chromium (Debian's /usr/bin/chromium, headless)
driven by pytest-playwright against pytest-django's live server.

Test modules here carry the ``browser`` marker: they run in the SQLite pass only (see
tests/conftest.py), against a live server, so in transactional tests. ``make test``
installs Chromium when it is missing. A failing test leaves a full-page screenshot under
``test-results/<test>/`` (pytest-playwright's ``--screenshot=only-on-failure``, set in
pyproject.toml).
"""

import importlib
import os
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API keeps an asyncio loop running in this thread (in another greenlet),
    which Django's guard against ORM calls from async code would take for an async context."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright's own browser download is not available here: Debian's Chromium is.
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": ["--no-sandbox", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP}


# Steps answer in milliseconds here: a step that waits seconds has failed (and fails fast).
STEP_TIMEOUT_MS = 5000


@pytest.fixture(autouse=True)
def _short_timeouts(page):
    page.set_default_timeout(STEP_TIMEOUT_MS)
    expect.set_options(timeout=STEP_TIMEOUT_MS)


@pytest.fixture
def log_in(live_server, context):
    """Log ``user`` in to the admin of this browser context (a session cookie, as after the login
    form), and return the live server's URL."""

    def login(user) -> str:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
        return live_server.url

    return login


@pytest.fixture
def badge_editors_group(db):
    """The group as its migration creates it (a transactional test's database was flushed)."""
    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("gamification.migrations.0004_badge_editors_group")
    group, _ = Group.objects.get_or_create(name=migration.GROUP_NAME)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="gamification", codename__in=migration.CODENAMES)
    )
    return group
