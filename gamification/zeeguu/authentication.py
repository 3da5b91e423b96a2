"""``?session=<value>`` (else the ``chocolatechip`` cookie), as upstream reads them (SPEC §12).

A value is first looked up as a token of this service (``services.tokens``: one query by digest,
renewed by use like any token). Any other value is the platform's to vouch for when
``ZEEGUU_SESSION_INTROSPECTION_URL`` is set (``introspection``); without it, it is a 401. An
unknown session is a 401 and a platform that cannot answer a 503, never a wrong user.
"""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from gamification.exceptions import AuthenticationError
from gamification.models import ClientToken, User
from gamification.services.tokens import auth_token_authenticate
from gamification.zeeguu.introspection import session_user

# Tokens of this service have 64 characters, upstream sessions 32; anything far longer, or with
# characters no session has, is refused without asking anyone.
MAX_SESSION_LENGTH = 256
UNKNOWN_SESSION = "Unknown or expired session; log in again."
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _origin_allowed(request: Request) -> bool:
    """A cookie travels with any request the browser makes, so an unsafe request authenticated
    by the cookie alone must come from this site or an origin allowed by CORS (when the browser
    says where it comes from; ``SameSite=Lax`` already keeps the cookie off cross-site POSTs)."""
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in settings.CORS_ALLOWED_ORIGINS


class ZeeguuSessionAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ClientToken | None] | None:
        value = request.query_params.get("session") or ""
        from_cookie = False
        if not value:
            value = request.COOKIES.get(settings.ZEEGUU_SESSION_COOKIE) or ""
            from_cookie = bool(value)
        if not value:
            return None
        if from_cookie and request.method not in SAFE_METHODS and not _origin_allowed(request):
            raise exceptions.PermissionDenied("The session cookie is not accepted from this origin.")
        if len(value) > MAX_SESSION_LENGTH or not value.isprintable():
            raise exceptions.AuthenticationFailed(UNKNOWN_SESSION)
        try:
            token = auth_token_authenticate(key=value)
        except AuthenticationError as error:
            if not settings.ZEEGUU_SESSION_INTROSPECTION_URL:
                raise exceptions.AuthenticationFailed(error.message) from None
        else:
            return token.user, token
        user = session_user(value)
        if user is None:
            raise exceptions.AuthenticationFailed(UNKNOWN_SESSION)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        # A 401 must name a scheme; this one says where the session goes.
        return 'Session realm="zeeguu"'
