"""What user-chosen values may look like (display names, usernames, time zones): one place,
called by the input serializers of the API and by the services other ways in (the admin, the
commands, imports) go through."""

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from gamification.constants import EXTERNAL_ID_MAX_LENGTH, USERNAME_MAX_LENGTH
from gamification.timeutils import is_valid_timezone

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+", re.ASCII)
UNKNOWN_TIMEZONE = "Unknown time zone; use an IANA name such as Europe/Copenhagen."

# Unicode categories that draw nothing or reorder what follows: controls (NUL, BEL, ESC of ANSI
# escapes, tabs, newlines), format characters (zero-width spaces and joiners, bidi overrides and
# isolates, the soft hyphen), surrogates, private use, and line/paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Letters that render as blank space (Hangul fillers, the blank Braille pattern).
BLANK_LETTERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})

DISPLAY_NAME_REFUSED = (
    "Names cannot contain control, formatting, zero-width or text-direction characters (found U+{code:04X})."
)


def display_name_validate(name: str) -> None:
    """Refuse names with characters that are invisible or change how the text around them is
    drawn: on a leaderboard they make look-alikes of other learners' names (``Ali\\u200bce``) or
    flip the row (U+202E). ValidationError naming the first offending code point."""
    if "\x00" in name:
        # DRF's own wording for it, which every text field of the API uses.
        raise ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
    for char in name:
        if char in BLANK_LETTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            raise ValidationError(DISPLAY_NAME_REFUSED.format(code=ord(char)), code="invisible_character")


def username_normalize(raw: object) -> str:
    """Validate a chosen username and return it stripped; raise ValidationError otherwise.

    Uniqueness is checked by the services (``services.usernames.username_is_taken``) and
    guaranteed by the database's unique index on the lower-cased name.
    """
    if not isinstance(raw, str):
        raise ValidationError("Enter a username as a string.", code="invalid")
    value = raw.strip()
    if not value:
        raise ValidationError("A username cannot be blank.", code="blank")
    if len(value) > USERNAME_MAX_LENGTH:
        raise ValidationError(
            f"A username has at most {USERNAME_MAX_LENGTH} characters (this one has {len(value)}).",
            code="max_length",
        )
    if not USERNAME_PATTERN.fullmatch(value):
        raise ValidationError(
            "A username may contain only ASCII letters, digits, '_', '.' and '-'.",
            code="invalid_characters",
        )
    return value


def timezone_validate(name: object) -> None:
    """IANA time zone names only (``Europe/Copenhagen``, ``UTC``, ``Etc/GMT+10``)."""
    if not isinstance(name, str) or not is_valid_timezone(name):
        raise ValidationError(UNKNOWN_TIMEZONE, code="unknown_timezone")


def external_id_validate(value: object) -> None:
    """The platform's id of a user: 1 to 64 characters, no whitespace at either end, no control
    or format characters and no ``/`` (it travels as a path segment)."""
    if not isinstance(value, str) or not value:
        raise ValidationError("An external id is a non-empty string.", code="invalid")
    if len(value) > EXTERNAL_ID_MAX_LENGTH:
        raise ValidationError(f"An external id has at most {EXTERNAL_ID_MAX_LENGTH} characters.", code="max_length")
    if (
        value != value.strip()
        or "/" in value
        or any(unicodedata.category(char) in INVISIBLE_CATEGORIES for char in value)
    ):
        raise ValidationError(
            "An external id may not hold '/', control characters or surrounding whitespace.", code="invalid_characters"
        )


# Webhook endpoints (SPEC §11.3) -------------------------------------------------------------------
WEBHOOK_URL_MAX_LENGTH = 500
WEBHOOK_SECRET_MAX_LENGTH = 255


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_validate(url: object) -> str:
    """An endpoint's URL, returned stripped: ``https://`` with a host, or ``http://`` only to a
    loopback address (``localhost``, ``127.0.0.0/8``, ``[::1]``), where nothing travels over a
    network. No user name or password in it (the admin shows URLs), at most 500 characters."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("Enter the endpoint's URL.", code="required")
    value = url.strip()
    if len(value) > WEBHOOK_URL_MAX_LENGTH:
        raise ValidationError(f"A URL has at most {WEBHOOK_URL_MAX_LENGTH} characters.", code="max_length")
    try:
        URLValidator(schemes=["http", "https"])(value)
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (ValueError when out of range)
    except (ValidationError, ValueError):
        raise ValidationError("Enter a valid http or https URL.", code="invalid") from None
    if not host:
        raise ValidationError("Enter a valid http or https URL.", code="invalid")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("Leave credentials out of the URL: the secret signs every delivery.", code="credentials")
    if parts.scheme == "http" and not _is_loopback_host(host):
        raise ValidationError(
            "Use https; plain http is allowed only to a loopback address (localhost, 127.0.0.1, [::1]).",
            code="insecure",
        )
    return value


def webhook_secret_validate(secret: object) -> str:
    """An endpoint's signing secret, stored exactly as given: 1 to 255 printable characters."""
    if not isinstance(secret, str) or not secret:
        raise ValidationError("Enter the secret the receiver checks signatures with.", code="required")
    if len(secret) > WEBHOOK_SECRET_MAX_LENGTH:
        raise ValidationError(f"A secret has at most {WEBHOOK_SECRET_MAX_LENGTH} characters.", code="max_length")
    if not secret.isprintable():
        raise ValidationError("A secret may not hold control characters.", code="invalid_characters")
    return secret


def webhook_event_types_validate(event_types: object) -> list[str]:
    """The event types an endpoint wants: a non-empty list of known ones, returned without
    repeats in the order of ``WebhookEventType``."""
    from gamification.models.webhooks import WebhookEventType

    if isinstance(event_types, str) or not isinstance(event_types, list | tuple | set | frozenset):
        raise ValidationError("Give a list of event types.", code="invalid")
    known = list(WebhookEventType.values)
    unknown = sorted({str(value) for value in event_types if value not in known})
    if unknown:
        raise ValidationError(
            "Unknown event type(s): %(unknown)s. Known: %(known)s.",
            code="unknown_event_type",
            params={"unknown": ", ".join(unknown), "known": ", ".join(known)},
        )
    if not event_types:
        raise ValidationError("Choose at least one event type.", code="required")
    return [value for value in known if value in set(event_types)]
