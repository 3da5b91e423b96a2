"""Who may call what, beyond "logged in" (DRF's default here)."""

from rest_framework.permissions import BasePermission

from gamification.services.service_accounts import PLATFORM_PERMISSION


class IsPlatformAccount(BasePermission):
    """The learning platform's service account (``manage.py create_service_account``): a user
    holding the permission to report for others, which staff status alone does not give.
    Anyone else logged in gets 403; DRF answers 401 before this without a login."""

    message = "Only the platform's service account may use the platform API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(PLATFORM_PERMISSION))
