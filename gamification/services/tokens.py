"""API tokens, one per client (SPEC §5), on django-rest-knox's token model.

- Every register, login and platform token exchange issues a new token; the caller sees the key
  once, the database keeps its SHA-512 digest and nothing from which the key could be recovered.
- A token expires ``TOKEN_TTL`` after it was issued or last renewed. Authenticating renews it
  to now + ``TOKEN_TTL``, but writes only when that moves the expiry by more than
  ``TOKEN_REFRESH_INTERVAL`` (an hour): one UPDATE an hour per busy client, none per request. A
  token issued with a longer life (service accounts) is never shortened by renewal.
- Authenticating costs one query (the token with its user, by its unique digest) in the common
  case. That query is compiled once per process and database (``_TokenLookup``): building it with
  the ORM on every request cost more CPU than running it.
- Expired tokens answer 401 and stay until purged: the owner's at their next login, everyone's by
  ``manage.py purge_expired_tokens``. Revoking is deleting the row.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
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


class _TokenLookup:
    """``ClientToken.objects.select_related("user").filter(digest=...).first()``, compiled once:
    the SQL, the column converters and the column slices of both models are taken from the ORM's
    own compiler, and the rows become model instances as the ORM makes them (``from_db``)."""

    _PLACEHOLDER = "\x00digest placeholder\x00"

    def __init__(self, alias: str) -> None:
        queryset = ClientToken.objects.using(alias).select_related("user").filter(digest=self._PLACEHOLDER)
        compiler = queryset.order_by("pk")[:1].query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.digest_at = [n for n, value in enumerate(self.params) if value == self._PLACEHOLDER]
        if len(self.digest_at) != 1:
            raise RuntimeError("token look-up: the compiled query does not take the digest once")
        select = compiler.select
        self.converters = list(compiler.get_converters([column for column, _, _ in select]).items())
        token_fields = compiler.klass_info["select_fields"]
        (user_info,) = compiler.klass_info["related_klass_infos"]
        user_fields = user_info["select_fields"]
        self.token_columns = token_fields
        self.token_names = [select[n][0].target.attname for n in token_fields]
        self.user_columns = user_fields
        self.user_names = [select[n][0].target.attname for n in user_fields]
        self.alias = alias

    def fetch(self, digest: str) -> ClientToken | None:
        connection = connections[self.alias]
        params = list(self.params)
        params[self.digest_at[0]] = digest
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, (functions, expression) in self.converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        token = ClientToken.from_db(self.alias, self.token_names, [row[n] for n in self.token_columns])
        token.user = User.from_db(self.alias, self.user_names, [row[n] for n in self.user_columns])
        return token


_lookups: dict[tuple[str, str], _TokenLookup] = {}


def _token_by_digest(digest: str) -> ClientToken | None:
    alias = DEFAULT_DB_ALIAS
    key = (alias, connections[alias].vendor)
    lookup = _lookups.get(key)
    if lookup is None:
        lookup = _lookups[key] = _TokenLookup(alias)
    return lookup.fetch(digest)


def auth_token_authenticate(*, key: str) -> ClientToken:
    """The live token whose key is ``key``, with its user loaded; renewed when due (see above).

    Raises AuthenticationError for an unknown or expired key and for an inactive user.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise AuthenticationError()
    token = _token_by_digest(hash_token(key))
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
