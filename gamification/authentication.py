"""``Authorization: Token <key>`` for the API (SPEC §5).

knox parses the header (and names the scheme in ``WWW-Authenticate``); the look-up is
gamification.services.tokens.auth_token_authenticate: one query by digest, where knox's own
would also list every other token of the user on each request.
"""

from typing import Any

from knox.auth import TokenAuthentication
from rest_framework import exceptions

from gamification.exceptions import AuthenticationError
from gamification.models import ClientToken, User
from gamification.services.tokens import auth_token_authenticate


class ClientTokenAuthentication(TokenAuthentication):
    """Sets ``request.user`` to the token's user and ``request.auth`` to the ClientToken."""

    def authenticate_credentials(self, token: Any) -> tuple[User, ClientToken]:
        try:
            key = token.decode("ascii") if isinstance(token, bytes) else str(token)
        except UnicodeError:
            raise exceptions.AuthenticationFailed(AuthenticationError.default_message) from None
        try:
            client_token = auth_token_authenticate(key=key)
        except AuthenticationError as error:
            raise exceptions.AuthenticationFailed(error.message) from None
        return client_token.user, client_token
