"""Browser tests of the admin console: real Chromium (Debian's /usr/bin/chromium, headless)
driven by pytest-playwright against pytest-django's live server.

Test modules here carry the ``browser`` marker: they run in the SQLite pass only (see
tests/conftest.py), against a live server, so in transactional tests. ``make test``
installs Chromium when it is missing. A failing test leaves a full-page screenshot under
``test-results/<test>/`` (pytest-playwright's ``--screenshot=only-on-failure``, set in
pyproject.toml).
"""

import asyncio
import importlib
import os
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


ALLOW_ORM = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright_from_the_start():
    """Before any session fixture (the database set-up may come after Playwright's start when
    only browser tests run): see ``_orm_beside_playwright``."""
    os.environ[ALLOW_ORM] = "true"


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright(_orm_beside_playwright_from_the_start):
    """Playwright's sync API marks its asyncio loop as running in this thread between its calls,
    which Django's guard against ORM calls from async code takes for an async context. Within
    these modules the guard is lifted; afterwards the loop is unmarked again (the browser lives
    on for the next module and is closed at the end of the session), so that the tests that
    follow run as without Playwright and the variable never reaches their subprocesses
    (``check --deploy`` rightly refuses it)."""
    os.environ[ALLOW_ORM] = "true"
    yield
    os.environ.pop(ALLOW_ORM, None)
    asyncio._set_running_loop(None)


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
    # 0020 lets the group follow the "award badges" task its action starts.
    codenames = [*migration.CODENAMES, "view_taskrun"]
    group.permissions.set(Permission.objects.filter(content_type__app_label="gamification", codename__in=codenames))
    return group
