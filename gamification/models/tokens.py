from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken

CLIENT_NAME_MAX_LENGTH = 100


class ClientToken(AbstractAuthToken):
    """One API token of one client: a browser, an app, the platform's backend (SPEC §5).

    knox's abstract token: ``digest`` (the primary key) is the SHA-512 of the key and
    ``token_key`` its first 15 characters, the indexed column a lookup starts from; the key
    itself is never stored. ``expiry`` null means the token never expires (service accounts, on
    request). Revoking a token is deleting its row.
    """

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
