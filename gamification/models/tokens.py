from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

CLIENT_NAME_MAX_LENGTH = 100


class ClientToken(AbstractAuthToken):
    """One API token of one client: a browser, an app, the platform's backend (SPEC §5).

    knox's abstract token: ``digest`` is the SHA-512 of the key (tokens are looked up by it) and
    ``token_key`` its first 15 characters, which knox's own look-up starts from; the key itself
    is never stored. ``expiry`` null means the token never expires (service accounts, on
    request). Revoking a token is deleting its row.
    """

    # knox makes the digest the primary key; a plain id keeps it out of admin URLs and forms.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)

    # knox sets this with auto_now_add; a plain default lets the conversion of legacy tokens keep
    # their creation time.
    created = models.DateTimeField(default=timezone.now, editable=False)
    client_name = models.CharField(
        max_length=CLIENT_NAME_MAX_LENGTH,
        blank=True,
        default="",
        help_text="Who the token was issued to, e.g. the client's User-Agent or the command that made it.",
    )

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        # The purge of expired tokens (purge_expired_tokens) finds them through this index.
        indexes = [models.Index(fields=["expiry"], name="clienttoken_expiry")]

    def __str__(self) -> str:
        # Never the digest or the key prefix: this text shows in the admin and in logs.
        return f"{self.client_name or 'API token'} of {self.user}"
