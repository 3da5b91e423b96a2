"""Admin pages for the activity log and what is derived from it: read-only, since hand edits
would make metrics, streaks and leaderboards disagree with the log (rebuild_metrics recomputes
them from the log)."""

from django.contrib import admin

from gamification.models import ActivityEvent, FirstOccurrence, LanguageStreak, PracticeDay


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ActivityEvent)
class ActivityEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "user", "type", "language", "detail", "reported_by", "received_at")
    list_filter = ("type", "language", "kind", "correct")
    search_fields = ("user__username", "word", "item_id", "idempotency_key")
    date_hierarchy = "occurred_at"
    list_select_related = ("user", "reported_by", "language")
    show_full_result_count = False  # the log is large: no COUNT(*) on every page

    @admin.display(description="detail")
    def detail(self, event: ActivityEvent) -> str:
        if event.word:
            return event.word
        if event.item_id:
            return event.item_id
        if event.duration_seconds:
            return f"{event.kind} {event.duration_seconds}s"
        if event.correct is not None:
            return "correct" if event.correct else "wrong"
        return ""


@admin.register(FirstOccurrence)
class FirstOccurrenceAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "user", "kind", "key", "language")
    list_filter = ("kind", "language")
    search_fields = ("user__username", "key")
    list_select_related = ("user", "language")
    show_full_result_count = False


@admin.register(PracticeDay)
class PracticeDayAdmin(ReadOnlyAdmin):
    list_display = ("date", "user", "language", "seconds")
    list_filter = ("language",)
    search_fields = ("user__username",)
    date_hierarchy = "date"
    list_select_related = ("user", "language")


@admin.register(LanguageStreak)
class LanguageStreakAdmin(ReadOnlyAdmin):
    list_display = ("user", "language", "length", "last_date", "max_length", "max_date")
    list_filter = ("language",)
    search_fields = ("user__username",)
    list_select_related = ("user", "language")
