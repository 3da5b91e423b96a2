"""Admin page for blocks: read-only. A block is the learner's own decision (they lift it
themselves); a hand-made or hand-deleted block would skip what blocking does to the pair's
friendship and requests. Privacy settings are shown on the user's page (``admin.users``)."""

from django.contrib import admin
from django.http import HttpRequest

from gamification.models import Block


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("__str__", "blocker", "blocked", "created_at")
    list_filter = ("created_at",)
    list_select_related = ("blocker", "blocked")
    search_fields = ("blocker__username", "blocked__username")
    search_help_text = "Username of the blocker or of the blocked user"
    date_hierarchy = "created_at"
    readonly_fields = ("blocker", "blocked", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Block | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Block | None = None) -> bool:
        return False
