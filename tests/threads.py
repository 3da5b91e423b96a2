"""Real threads for the concurrency tests (MariaDB): start together, report errors, close the
per-thread database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def run_in_threads(n: int, target: Callable[[int], object]) -> list[BaseException]:
    """Run ``target(index)`` in ``n`` threads released at the same moment; return their errors."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
