"""Transaction helpers shared by the services."""

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction

T = TypeVar("T")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
RETRYABLE_MYSQL_CODES = {1213, 1205}
MAX_ATTEMPTS = 6

# The database cannot be reached or dropped the connection (SPEC §14: answered with a 503):
# 2002/2003 cannot connect (socket, TCP), 2005 unknown host, 2006 server gone away, 2013 and 2055
# connection lost, 1040 too many connections, 1053 server shutting down, 1927 connection killed
# (MariaDB), 4031 disconnected as idle (MySQL 8). Syntax errors, unknown tables or columns and
# constraint violations are bugs or bad input, never this.
UNAVAILABLE_MYSQL_CODES = {2002, 2003, 2005, 2006, 2013, 2055, 1040, 1053, 1927, 4031}
UNAVAILABLE_SQLITE_MESSAGES = ("unable to open database file", "disk i/o error", "database is locked")


def _is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(error)


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database is down or the connection to it broke (rather than
    that the query or the data was wrong). Such a request did nothing: its transaction never
    committed or, if the connection broke during COMMIT, its outcome is unknown to us; either
    way the client may repeat it (with its idempotency keys, a repeat changes nothing twice)."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    code = error.args[0] if error.args else None
    if isinstance(code, int):
        return code in UNAVAILABLE_MYSQL_CODES
    message = str(error).lower()
    return any(text in message for text in UNAVAILABLE_SQLITE_MESSAGES)


def atomic_with_retry(fn: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``fn`` in a transaction; retry the whole transaction on a deadlock.

    Retries only when this call owns the outermost transaction: inside someone else's
    transaction, the error propagates so that the owner retries (or fails) as a whole.
    """
    if connection.in_atomic_block:
        with transaction.atomic():
            return fn()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as error:
            if attempt == attempts or not _is_retryable(error):
                raise
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")
