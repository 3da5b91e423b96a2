"""Request middleware."""

from django.middleware.common import CommonMiddleware


class CommonMiddlewareWithoutApiSlashRedirect(CommonMiddleware):
    """Django's CommonMiddleware, except that API paths are never redirected to add a slash.

    A redirect would turn a POST into a GET (and, with DEBUG on, Django raises instead): an API
    client that forgets the slash gets the JSON 404 instead.
    """

    def should_redirect_with_slash(self, request) -> bool:
        if request.path_info.startswith("/api/"):
            return False
        return super().should_redirect_with_slash(request)
