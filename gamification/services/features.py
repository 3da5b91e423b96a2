"""The feature flag (SPEC §9): django-waffle's ``gamification`` flag, which staff switch in the
admin for everyone, groups, single users or a percentage, and ``GET /api/me/`` reports."""

from collections.abc import Iterable

from django.db import transaction
from waffle.models import Flag

from gamification.models import User

GAMIFICATION_FLAG = "gamification"


def feature_flag_enable_for_users(*, users: Iterable[User], flag_name: str = GAMIFICATION_FLAG) -> None:
    """Switch a flag on for these users (others keep what the flag says for them). The flag row
    is seeded by a migration; waffle's cached answers are dropped once the change commits."""
    flag = Flag.objects.get(name=flag_name)
    flag.users.add(*users)
    transaction.on_commit(flag.flush)
