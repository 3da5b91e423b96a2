"""Optional read replicas (SPEC §15): reads of the read-only API answers from a replica, with
read-your-writes for whoever just wrote.

With ``DATABASE_REPLICA_URL`` set, the settings add a ``replica`` database and this router.
``ReplicaReadsMiddleware`` marks a request as replica-readable when it is a GET/HEAD/OPTIONS under
``/api/`` or the Zeeguu-compatible prefix and its client is not pinned to the primary. The router
then sends that request's reads to the replica, except:

- credentials (API tokens, sessions) are always read from the primary: a token issued a moment
  ago must work on the very next request, whatever the replica's lag;
- inside a transaction on the primary, and for the rest of a request once it wrote anything
  (a GET may renew a token), reads stay on the primary;
- everything outside such requests (the admin, writes, the worker, commands) uses the primary.

Read-your-writes: a request that wrote (any unsafe method, or a write seen by the router) pins
its client to the primary for ``DATABASE_REPLICA_PIN_SECONDS`` (default 5, longer than the lag
we tolerate). The client is known by a hash of its credential (``Authorization`` header, session
cookie, Zeeguu session), and the pin is a key in the shared cache, so every app process honours
it; without ``REDIS_URL`` pins would be per process (a system check warns).
"""

import contextvars
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Always from the primary (model labels).
PRIMARY_ONLY_MODELS = frozenset({"gamification.ClientToken", "sessions.Session", "knox.AuthToken"})
PIN_KEY = "db:pin:{}"


@dataclass
class _RequestReads:
    replica: bool  # this request may read from the replica
    wrote: bool = False


_current: contextvars.ContextVar[_RequestReads | None] = contextvars.ContextVar("replica_reads", default=None)


def replica_alias() -> str | None:
    return getattr(settings, "DATABASE_REPLICA_ALIAS", None)


class ReplicaRouter:
    """Reads of replica-readable requests go to the replica; everything else to the primary."""

    def db_for_read(self, model, **hints) -> str:
        state = _current.get()
        alias = replica_alias()
        if (
            alias is None
            or state is None
            or not state.replica
            or state.wrote
            or model._meta.label in PRIMARY_ONLY_MODELS
            or connections[PRIMARY].in_atomic_block
        ):
            return PRIMARY
        return alias

    def db_for_write(self, model, **hints) -> str:
        state = _current.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two ways in

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == PRIMARY


def client_fingerprint(request: HttpRequest) -> str | None:
    """A hash of what identifies the client (its credential), or None for anonymous requests."""
    credential = (
        request.headers.get("Authorization")
        or request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        or request.COOKIES.get(settings.ZEEGUU_SESSION_COOKIE)
        or request.GET.get("session")
    )
    if not credential:
        return None
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path.startswith(f"/{settings.ZEEGUU_COMPAT_PREFIX}/")


def client_pinned(fingerprint: str | None) -> bool:
    return fingerprint is not None and cache.get(PIN_KEY.format(fingerprint)) is not None


def client_pin(fingerprint: str | None) -> None:
    if fingerprint is not None:
        cache.set(PIN_KEY.format(fingerprint), 1, settings.DATABASE_REPLICA_PIN_SECONDS)


class ReplicaReadsMiddleware:
    """Decides, per request, whether reads may go to the replica; pins writers to the primary."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if replica_alias() is None:
            return self.get_response(request)
        fingerprint = client_fingerprint(request)
        safe = request.method in SAFE_METHODS
        state = _RequestReads(replica=safe and _is_api_path(request.path) and not client_pinned(fingerprint))
        token = _current.set(state)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if not safe or state.wrote:
            client_pin(fingerprint)
        return response
