"""Fixtures of the fault tests: a private MariaDB, a private Redis, and the app under gunicorn
talking to them (``tests/servers.py``). Session-scoped: the servers start once (~8 s with the
migrations); a test that stops one leaves it running again (``mariadb_restored``, ``redis_restored``)."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import AppServer, PrivateMariaDB, PrivateRedis, app_environment, prepare_database, register_learners

DATABASE = "faults"
WORKERS = 2
LEARNERS = 6
SEARCH_LIMIT = 3  # per minute and user: small enough for a test to reach


@dataclass
class App:
    server: AppServer
    env: dict[str, str]
    tokens: list[str]

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def mariadb(servers_dir):
    server = PrivateMariaDB(servers_dir / "mariadb", durable=False)
    server.directory.mkdir()
    server.install()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(servers_dir):
    directory = servers_dir / "redis"
    directory.mkdir()
    server = PrivateRedis(directory)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(mariadb, redis_server, servers_dir):
    env = app_environment(
        DATABASE_URL=mariadb.create_database(DATABASE),
        REDIS_URL=redis_server.url(),
        THROTTLING="on",
        THROTTLE_SEARCH=f"{SEARCH_LIMIT}/min",
        THROTTLE_EVENTS="100000/min",
        THROTTLE_AUTH="1000/min",
    )
    prepare_database(env)
    server = AppServer(env, directory=servers_dir, workers=WORKERS)
    server.start()
    tokens = register_learners(server.base_url, LEARNERS, prefix="fault-learner")
    yield App(server=server, env=env, tokens=tokens)
    server.stop()


@pytest.fixture
def mariadb_restored(mariadb):
    """The private MariaDB runs again after the test, whatever the test did to it."""
    yield mariadb
    if not mariadb.running:
        mariadb.start()


@pytest.fixture
def redis_restored(redis_server):
    """The private Redis runs again after the test."""
    yield redis_server
    if not redis_server.running:
        redis_server.start()
