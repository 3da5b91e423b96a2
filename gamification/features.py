"""Which feature flags are on for the user of a request (SPEC §9): one place, read by ``GET
/api/me/`` and by the Zeeguu-compatible ``get_user_details``."""

import waffle

from gamification.constants import FEATURE_FLAGS


def features_for(request) -> dict[str, bool]:
    """Each flag of ``FEATURE_FLAGS`` and whether it is on for ``request``'s user (waffle decides:
    everyone, groups, single users or a percentage, as staff set it in the admin)."""
    return {flag: waffle.flag_is_active(request, flag) for flag in FEATURE_FLAGS}
