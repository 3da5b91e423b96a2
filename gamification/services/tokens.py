"""API tokens, one per client (SPEC §5), on django-rest-knox's token model.

- Every register, login and platform token exchange issues a new token; the caller sees the key
  once, the database keeps its SHA-512 digest and nothing from which the key could be recovered.
- A token expires ``TOKEN_TTL`` after it was issued or last renewed. Authenticating renews it
  to now + ``TOKEN_TTL``, but writes only when that moves the expiry by more than
  ``TOKEN_REFRESH_INTERVAL`` (an hour): one UPDATE an hour per busy client, none per request. A
  token issued with a longer life (service accounts) is never shortened by renewal.
- Authenticating costs one query (the token with its user, by its unique digest) in the common
  case.
- Expired tokens answer 401 and stay until purged: the owner's at their next login, everyone's by
  ``manage.py purge_expired_tokens``. Revoking is deleting the row.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token

from gamification.exceptions import AuthenticationError
from gamification.models import ClientToken, User
from gamification.models.tokens import CLIENT_NAME_MAX_LENGTH
from gamification.services.db import atomic_with_retry

# Keys are 64 hex characters (40 for tokens converted from DRF's authtoken); anything much longer
# is not worth hashing.
MAX_KEY_LENGTH = 256
PURGE_BATCH = 1000


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime | None  # None: never expires


def _client_name(raw: str) -> str:
    printable = "".join(character for character in raw if character.isprintable())
    return printable.strip()[:CLIENT_NAME_MAX_LENGTH]


def auth_token_issue(
    *, user: User, client_name: str = "", ttl: dt.timedelta | None = None, expires: bool = True
) -> IssuedToken:
    """A new token for one client of ``user``; the user's other tokens are untouched.

    ``ttl`` defaults to ``settings.TOKEN_TTL``; ``expires=False`` gives a token that never
    expires (service accounts only). The user's expired tokens are purged, and beyond
    ``TOKEN_MAX_PER_USER`` live tokens the oldest are ended.
    """
    lifetime = (ttl or settings.TOKEN_TTL) if expires else None
    name = _client_name(client_name)

    def issue() -> tuple[ClientToken, str]:
        ClientToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
        token, key = ClientToken.objects.create(user=user, expiry=lifetime, client_name=name)
        surplus = list(
            ClientToken.objects.filter(user=user)
            .order_by("-created", "-id")
            .values_list("id", flat=True)[settings.TOKEN_MAX_PER_USER :]
        )
        if surplus:
            ClientToken.objects.filter(id__in=surplus).delete()
        return token, key

    token, key = atomic_with_retry(issue)
    return IssuedToken(token=key, expires_at=token.expiry)


def auth_token_authenticate(*, key: str) -> ClientToken:
    """The live token whose key is ``key``, with its user loaded; renewed when due (see above).

    Raises AuthenticationError for an unknown or expired key and for an inactive user.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise AuthenticationError()
    token = ClientToken.objects.select_related("user").filter(digest=hash_token(key)).first()
    if token is None:
        raise AuthenticationError()
    now = timezone.now()
    if token.expiry is not None and token.expiry <= now:
        raise AuthenticationError("Token expired; log in again.")
    if not token.user.is_active:
        raise AuthenticationError("User inactive or deleted.")
    if token.expiry is not None:
        renewed = now + settings.TOKEN_TTL
        if renewed - token.expiry > settings.TOKEN_REFRESH_INTERVAL:
            # Conditional, so that a concurrent request's later renewal is never undone.
            ClientToken.objects.filter(id=token.id, expiry__lt=renewed).update(expiry=renewed)
            token.expiry = renewed
    return token


def auth_token_revoke(*, token: ClientToken) -> None:
    """Logout of one client: this token stops working, the user's others keep working."""
    ClientToken.objects.filter(id=token.id).delete()


def auth_token_revoke_all(*, user: User) -> int:
    """Logout everywhere: every token of ``user`` stops working. Returns how many there were."""
    deleted, _ = ClientToken.objects.filter(user=user).delete()
    return deleted


def auth_tokens_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete every expired token (they only answer 401), in batches. Returns how many."""
    now = now or timezone.now()
    total = 0
    while True:
        batch = list(ClientToken.objects.filter(expiry__lte=now).values_list("id", flat=True)[:PURGE_BATCH])
        if not batch:
            return total
        deleted, _ = ClientToken.objects.filter(id__in=batch, expiry__lte=now).delete()
        total += deleted
