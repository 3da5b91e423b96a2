"""Which feature flags are on for the user of a request (SPEC §9): one place, read by ``GET
/api/me/`` and by the Zeeguu-compatible ``get_user_details``."""

import waffle
from waffle.utils import get_setting

from gamification.constants import FEATURE_FLAGS


def features_for(request) -> dict[str, bool]:
    """Each flag of ``FEATURE_FLAGS`` and whether it is on for ``request``'s user (waffle decides:
    everyone, groups, single users or a percentage, as staff set it in the admin)."""
    return {flag: waffle.flag_is_active(request, flag) for flag in FEATURE_FLAGS}


def features_for_user(user) -> dict[str, bool]:
    """Each flag of ``FEATURE_FLAGS`` for ``user`` outside any request of theirs (the platform's
    view of a learner): on for everyone, for staff, superusers or logged-in users, for the user
    or one of their groups. A percentage roll-out decides per browser, so it counts as off here.

    Reads ``user.groups`` through the prefetch cache when the caller prefetched it (lists), so
    a list costs the same queries whatever its length; waffle caches the flags themselves."""
    result = {}
    for name in FEATURE_FLAGS:
        flag = waffle.get_waffle_flag_model().get(name)
        result[name] = _flag_on_for_user(flag, user)
    return result


def _flag_on_for_user(flag, user) -> bool:
    if not flag.pk:
        return bool(get_setting("FLAG_DEFAULT"))
    if flag.everyone is not None:
        return bool(flag.everyone)
    if (flag.authenticated and user.is_authenticated) or (flag.staff and user.is_staff):
        return True
    if flag.superusers and user.is_superuser:
        return True
    if user.pk in flag._get_user_ids():
        return True
    group_ids = flag._get_group_ids()
    return bool(group_ids) and any(group.pk in group_ids for group in user.groups.all())
