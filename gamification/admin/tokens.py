"""Admin pages for API tokens (SPEC §5): who holds one, from which client, until when.

Read-only: tokens are issued by register, login, the platform's token exchange and
``create_service_account``, which show the key once. Staff revoke a token by deleting it. Neither
the digest nor the key's first characters are shown anywhere (the string of a token names its
client and user).
"""

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from gamification.models import ClientToken


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("live", "Live"), ("expired", "Expired"), ("never", "Never expires"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(Q(expiry__gt=now) | Q(expiry__isnull=True))
        if self.value() == "expired":
            return queryset.filter(expiry__lte=now)
        if self.value() == "never":
            return queryset.filter(expiry__isnull=True)
        return queryset


@admin.register(ClientToken)
class ClientTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "client_name", "created", "expiry", "status")
    list_filter = (TokenStatusFilter, "created")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "client_name")
    search_help_text = "Username or email of the holder, or the client's name"
    ordering = ("-created",)
    fields = ("user", "client_name", "created", "expiry", "status")
    readonly_fields = fields

    @admin.display(description="status")
    def status(self, token: ClientToken) -> str:
        if token.expiry is None:
            return "never expires"
        return "live" if token.expiry > timezone.now() else "expired"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientToken]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ClientToken | None = None) -> bool:
        return False


# DRF's authtoken stays installed for one migration only (see settings); a token added on its
# admin page would never authenticate.
if apps.is_installed("rest_framework.authtoken"):
    # Import its admin module first (this app's admin is discovered before it), so that the
    # registration it makes is the one removed here.
    import rest_framework.authtoken.admin  # noqa: F401
    from rest_framework.authtoken.models import TokenProxy

    if admin.site.is_registered(TokenProxy):
        admin.site.unregister(TokenProxy)
