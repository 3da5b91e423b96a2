"""Transaction helpers shared by the services."""

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction

T = TypeVar("T")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
RETRYABLE_MYSQL_CODES = {1213, 1205}
MAX_ATTEMPTS = 6


def _is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(error)


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
