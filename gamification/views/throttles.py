"""The rate limits moved to ``gamification.throttles`` (shared by /api/ and the Zeeguu-compatible
paths); these names stay importable from here."""

from gamification.throttles import AuthThrottle, EventsThrottle, FriendRequestThrottle, SearchThrottle

__all__ = ["AuthThrottle", "EventsThrottle", "FriendRequestThrottle", "SearchThrottle"]
