"""Signals of the gamification app and the receivers connected in ``AppConfig.ready()``.

Receivers are one-liners that call a service.
"""

from django.dispatch import Signal

# Sent after the transaction that awarded badges commits.
# Arguments: user_id, user_badges (a tuple of new UserBadge rows).
badges_awarded = Signal()
