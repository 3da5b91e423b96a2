"""Sessions of the learning platform (SPEC §12): who a ``session`` value that is not a token of
this service belongs to, asked of the platform when ``ZEEGUU_SESSION_INTROSPECTION_URL`` is set.

The protocol (docs/zeeguu.md):

- request: ``GET <url>?session=<value>`` (added to any query the URL already has), with
  ``Accept: application/json``;
- a known session: ``200`` with a JSON object ``{"user_id": "...", "name"?, "email"?,
  "username"?, "timezone"?}``; ``user_id`` (a string, or an integer) is the platform's id of the
  user, our ``external_id``;
- an unknown or expired session: ``401`` or ``404`` (any body);
- anything else (no answer within ``ZEEGUU_SESSION_INTROSPECTION_TIMEOUT`` seconds for the whole
  exchange, a refused connection, another status, a body that is not that JSON object, a
  ``user_id`` that is not a valid external id) is a platform that cannot be trusted right now:
  the request is answered 503 and served as nobody.

The user is found by external id, or provisioned (``services.platform.platform_user_put``) with
the fields the platform sent; after that this service's profile is its own, and the platform
changes it through ``PUT /api/platform/users/<external_id>/`` (SPEC §11.1), so two sources never
take turns overwriting a name. Answers are cached in the Django cache under a digest of the value
(never the value itself): a known session ``ZEEGUU_SESSION_CACHE_SECONDS`` (60 s, as upstream
caches its own sessions), an unknown one ``ZEEGUU_SESSION_UNKNOWN_CACHE_SECONDS``; failures are
not cached.
"""

import contextlib
import hashlib
import http.client
import json
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from gamification.models import User
from gamification.services.platform import platform_user_get, platform_user_put
from gamification.validators import external_id_validate
from gamification.zeeguu.errors import PlatformUnavailable

logger = logging.getLogger("gamification.zeeguu")

CACHE_KEY_PREFIX = "zeeguu-session:"
UNKNOWN = "unknown"
# An answer is a small JSON object; more than this is not one.
MAX_ANSWER_BYTES = 64 * 1024
PROFILE_FIELDS = ("name", "email", "username", "timezone")


@dataclass(frozen=True)
class PlatformSession:
    external_id: str
    profile: dict[str, str]


def _cache_key(value: str) -> str:
    return CACHE_KEY_PREFIX + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class _Deadline:
    """Bounds the whole exchange: when the time is up, the connection's socket is shut down, which
    unblocks any read still waiting (a platform that trickles its answer byte by byte is as
    unavailable as one that says nothing; each read alone, and the connect, are bounded by the
    socket timeout). The socket is watched from the connect on: http.client hands it over to the
    response, and forgets it, when the answer is delimited by the end of the connection."""

    def __init__(self, seconds: float) -> None:
        self.passed = False
        self.sock: socket.socket | None = None
        self.timer = threading.Timer(seconds, self._abort)
        self.timer.daemon = True

    def _abort(self) -> None:
        self.passed = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> "_Deadline":
        self.timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.timer.cancel()


def _ask(value: str) -> tuple[int, bytes]:
    """``(status, body)`` of the platform's answer, within the timeout as a whole (else
    ``TimeoutError``)."""
    url = urlsplit(settings.ZEEGUU_SESSION_INTROSPECTION_URL)
    timeout = settings.ZEEGUU_SESSION_INTROSPECTION_TIMEOUT
    query = urlencode({"session": value})
    target = f"{url.path or '/'}?{url.query + '&' if url.query else ''}{query}"
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=timeout)
    try:
        with _Deadline(timeout) as deadline:
            connection.connect()
            deadline.sock = connection.sock
            connection.request(
                "GET", target, headers={"Accept": "application/json", "User-Agent": "zeeguu-gamification"}
            )
            response = connection.getresponse()
            body = response.read(MAX_ANSWER_BYTES + 1)
            response.close()
        if deadline.passed:
            # What was read may be cut short: never trust it.
            raise TimeoutError("the platform did not answer in time")
        return response.status, body
    finally:
        connection.close()


def _string_field(answer: dict, key: str) -> str | None:
    value = answer.get(key)
    return value if isinstance(value, str) else None


def introspect(value: str) -> PlatformSession | None:
    """Ask the platform about ``value``: the session's user, None for an unknown session, and
    PlatformUnavailable when the platform cannot be reached or answers anything else."""
    try:
        status, body = _ask(value)
    except (OSError, http.client.HTTPException) as error:
        logger.warning("Session introspection failed: %s", error.__class__.__name__)
        raise PlatformUnavailable() from None
    if status in (401, 404):
        return None
    if status != 200:
        logger.warning("Session introspection answered %s", status)
        raise PlatformUnavailable()
    try:
        answer: Any = json.loads(body) if len(body) <= MAX_ANSWER_BYTES else None
    except ValueError:
        answer = None
    user_id = answer.get("user_id") if isinstance(answer, dict) else None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    try:
        external_id_validate(user_id)
    except ValidationError:
        logger.warning("Session introspection answer is not the agreed JSON object with a user_id")
        raise PlatformUnavailable() from None
    profile = {key: text for key in PROFILE_FIELDS if (text := _string_field(answer, key))}
    return PlatformSession(external_id=user_id, profile=profile)


def _find_or_provision(session: PlatformSession) -> User:
    """The user with the session's external id, created with its profile when new. A profile
    value this service refuses (a username or email another account holds, a bad time zone) is
    left out rather than refusing the learner."""
    user = platform_user_get(external_id=session.external_id)
    if user is not None:
        return user
    profile = dict(session.profile)
    for _attempt in range(len(PROFILE_FIELDS) + 1):
        try:
            user, _created = platform_user_put(external_id=session.external_id, **profile)
        except ValidationError as error:
            refused = set(error.message_dict) if hasattr(error, "error_dict") else set(profile)
            if not refused & set(profile):
                break
            logger.info("Provisioning a platform user without %s", ", ".join(sorted(refused & set(profile))))
            profile = {key: text for key, text in profile.items() if key not in refused}
        else:
            return user
    raise PlatformUnavailable()


def session_user(value: str) -> User | None:
    """The user a platform session belongs to (found or provisioned), or None when the platform
    does not know it. Cached: see the module docstring."""
    key = _cache_key(value)
    cached = cache.get(key)
    if cached == UNKNOWN:
        return None
    if isinstance(cached, int):
        user = User.objects.filter(pk=cached).first()
        if user is not None:
            return user
    session = introspect(value)
    if session is None:
        cache.set(key, UNKNOWN, settings.ZEEGUU_SESSION_UNKNOWN_CACHE_SECONDS)
        return None
    user = _find_or_provision(session)
    cache.set(key, user.pk, settings.ZEEGUU_SESSION_CACHE_SECONDS)
    return user
