"""Rate limits (SPEC §5), for /api/ and the Zeeguu-compatible paths alike (they share each
budget: the same scope and key). ``THROTTLING=off`` in the environment switches them all off."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from gamification.client_address import client_address


class _Switchable:
    # The methods limited (None: all of them); the OpenAPI schema documents 429 for these only.
    throttled_methods: tuple[str, ...] | None = None

    def get_ident(self, request) -> str:
        # The address rule of gamification.client_address (X-Forwarded-For only from trusted
        # proxies), not DRF's, which believes the header whenever NUM_PROXIES is unset.
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        if not settings.THROTTLING_ENABLED:
            return True
        if self.throttled_methods is not None and request.method not in self.throttled_methods:
            return True
        return super().allow_request(request, view)  # type: ignore[misc]


class AuthThrottle(_Switchable, AnonRateThrottle):
    """Register and login, per client address."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _PerUserThrottle(_Switchable, UserRateThrottle):
    pass


class SearchThrottle(_PerUserThrottle):
    scope = "search"


class FriendRequestThrottle(_PerUserThrottle):
    scope = "friend_requests"
    # Only sending requests is limited; reading them is not.
    throttled_methods = ("POST",)


class EventsThrottle(_PerUserThrottle):
    scope = "events"


__all__ = ["AuthThrottle", "EventsThrottle", "FriendRequestThrottle", "SearchThrottle", "SimpleRateThrottle"]
