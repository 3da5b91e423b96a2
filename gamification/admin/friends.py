"""Admin pages for friendships and friend requests (SPEC §7).

Friendships are read-only: a hand edit or delete would leave both users' FRIENDS metric, friend
streaks and past friend leaderboards wrong. Staff may end friendships through the same service as
the API (metrics follow). Pending requests may be deleted (the same as rejecting them).
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gamification.exceptions import NotFoundError
from gamification.models import FriendRequest, Friendship
from gamification.services.friends import friendship_end_pair


class FriendshipStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("ended", "Ended"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(active=True)
        if self.value() == "ended":
            return queryset.filter(active__isnull=True)
        return queryset


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user_low", "user_high", "created_at", "ended_at", "is_active", "streak_length")
    list_filter = (FriendshipStatusFilter, "created_at", "ended_at")
    list_select_related = ("user_low", "user_high")
    search_fields = ("user_low__username", "user_high__username")
    search_help_text = "Username of either friend"
    date_hierarchy = "created_at"
    readonly_fields = (
        "user_low",
        "user_high",
        "created_at",
        "ended_at",
        "active",
        "streak_length",
        "streak_first_day",
        "streak_last_day",
        "streak_low_through_day",
        "streak_high_through_day",
    )
    fields = readonly_fields
    actions = ["end_friendships"]

    @admin.display(boolean=True, description="active")
    def is_active(self, friendship: Friendship) -> bool:
        return friendship.active is True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Friendship | None = None) -> bool:
        # The change page is view-only; the list's "end" action needs the change permission.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Friendship | None = None) -> bool:
        return False

    @admin.action(description="End selected friendships (both users' FRIENDS metric drops)", permissions=["change"])
    def end_friendships(self, request: HttpRequest, queryset: QuerySet[Friendship]) -> None:
        ended = 0
        for friendship in queryset.filter(active=True).order_by("id"):
            try:
                friendship_end_pair(user_id=friendship.user_low_id, friend_id=friendship.user_high_id)
            except NotFoundError:
                continue  # ended meanwhile
            ended += 1
        self.message_user(request, f"Ended {ended} friendship(s).", messages.SUCCESS)


@admin.register(FriendRequest)
class FriendRequestAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sender", "receiver", "created_at")
    list_filter = ("created_at",)
    list_select_related = ("sender", "receiver")
    search_fields = ("sender__username", "receiver__username")
    search_help_text = "Username of the sender or the receiver"
    date_hierarchy = "created_at"
    readonly_fields = ("sender", "receiver", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FriendRequest | None = None) -> bool:
        return False
