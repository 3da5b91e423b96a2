"""Background work in the admin (SPEC §15): tasks staff start (award badges, rebuild metrics)
with their progress, and the queue of event batches waiting for a worker. Read-only lists:
the services start tasks and the workers write their progress."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from gamification.models import QueuedEventBatch, TaskKind, TaskRun, TaskStatus
from gamification.services.task_runs import task_run_start


def task_run_started_message(run: TaskRun) -> str:
    url = reverse("admin:gamification_taskrun_change", args=[run.pk])
    return format_html(
        'Started “{}” as a background task; a worker runs it within seconds: follow its <a href="{}">progress</a>.',
        run.get_kind_display(),
        url,
    )


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "started_by", "created_at", "finished_at", "outcome"]
    list_filter = ["kind", "status"]
    ordering = ["-id"]
    readonly_fields = [
        "kind", "arguments", "status", "progress", "done", "total", "result", "error", "started_by",
        "created_at", "started_at", "heartbeat_at", "finished_at", "attempts",
    ]  # fmt: skip
    list_select_related = ["started_by"]
    change_list_template = "admin/gamification/taskrun/change_list.html"
    change_form_template = "admin/gamification/taskrun/change_form.html"

    @admin.display(description="progress")
    def progress(self, run: TaskRun) -> str:
        if run.total is None:
            return "-" if run.status == TaskStatus.QUEUED else str(run.done)
        percent = 100 if run.total == 0 else min(100, round(100 * run.done / run.total))
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {} ({} %)', percent, run.done, run.total, percent
        )

    @admin.display(description="result or error")
    def outcome(self, run: TaskRun) -> str:
        return (run.error or run.result)[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskRun | None = None) -> bool:
        return False

    def may_start(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gamification.add_taskrun")

    def get_urls(self):
        return [
            path("start/<str:kind>/", self.admin_site.admin_view(self.start_view), name="gamification_taskrun_start"),
            *super().get_urls(),
        ]

    def start_view(self, request: HttpRequest, kind: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.may_start(request) or kind not in TaskKind.values:
            raise PermissionDenied
        run = task_run_start(kind=kind, started_by=request.user)
        self.message_user(request, task_run_started_message(run), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:gamification_taskrun_change", args=[run.pk]))

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_start": self.may_start(request),
            "task_kinds": TaskKind.choices,
            "refresh": TaskRun.objects.filter(status__in=[TaskStatus.QUEUED, TaskStatus.RUNNING]).exists(),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "refresh": run is not None and run.status in (TaskStatus.QUEUED, TaskStatus.RUNNING),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(QueuedEventBatch)
class QueuedEventBatchAdmin(admin.ModelAdmin):
    """Batches posted with ``Prefer: respond-async`` that no worker has applied yet; normally
    empty within seconds. A batch that failed shows its attempts and last error."""

    list_display = ["id", "reporter", "event_count", "created_at", "available_at", "attempts", "short_error"]
    list_filter = ["attempts"]
    list_select_related = ["reporter"]
    ordering = ["id"]
    readonly_fields = ["reporter", "event_count", "created_at", "available_at", "attempts", "last_error", "events"]
    show_full_result_count = False

    @admin.display(description="last error")
    def short_error(self, batch: QueuedEventBatch) -> str:
        return batch.last_error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: QueuedEventBatch | None = None) -> bool:
        return False
