"""Request middleware."""

from django.db import connections
from django.middleware.common import CommonMiddleware

from gamification.services.db import is_database_unavailable
from gamification.views.errors import database_unavailable


class CommonMiddlewareWithoutApiSlashRedirect(CommonMiddleware):
    """Django's CommonMiddleware, except that API paths are never redirected to add a slash.

    A redirect would turn a POST into a GET (and, with DEBUG on, Django raises instead): an API
    client that forgets the slash gets the JSON 404 instead.
    """

    def should_redirect_with_slash(self, request) -> bool:
        if request.path_info.startswith("/api/"):
            return False
        return super().should_redirect_with_slash(request)


class DatabaseUnavailableMiddleware:
    """A view that loses the database answers 503 with ``Retry-After`` instead of a 500 (SPEC §14).

    DRF views included: the API's exception handler leaves such errors alone, so they reach
    ``process_exception``. The broken connection is dropped at once (rather than at the end of
    the request), so the next request opens a fresh one as soon as the database is back.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception: Exception):
        if not is_database_unavailable(exception):
            return None
        for connection in connections.all(initialized_only=True):
            # Outside any transaction only (the view's have ended; a test's has not).
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
        return database_unavailable(request)
