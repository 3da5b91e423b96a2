"""The client's address, as every rate limit and lockout keys it (SPEC §5).

``REMOTE_ADDR`` is the peer that opened the connection. ``X-Forwarded-For`` is written by whoever
sends the request, so it is believed only for the ``TRUSTED_PROXIES`` proxies this deployment
puts in front of the app: each appends the address it received the request from, and the
client's address is the one the outermost trusted proxy appended. With no trusted proxy (the
default) the header is ignored.
"""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    return hops[-min(proxies, len(hops))]


def axes_client_address(request: HttpRequest) -> str:
    """django-axes' hook (``AXES_CLIENT_IP_CALLABLE``): the same address as the rate limits."""
    return client_address(request)


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """django-axes' hook (``AXES_USERNAME_CALLABLE``): the account a login attempt names, as the
    email it logs in with, matched ignoring case (``Staff@x`` and ``staff@x`` are one account)."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    if not isinstance(raw, str):
        return None
    return raw.strip().lower()
