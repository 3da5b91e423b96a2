"""Admin pages for badges (SPEC §7): activity types with their levels, the badges learners hold,
their metrics, and the trail of manual awards and revocations.

Configuration and calls to services: level rules are ``services.badges.badge_levels_validate``
(through ``forms.BadgeInlineFormSet``), awards and revocations ``services.badges`` and
``services.metrics``. Each page offers only what the staff member looking at it can finish: no
"add" once every known code is in the catalogue, no delete of a type the code feeds, no delete
box on a level that users hold, no revoke without the permission to revoke.
"""

from collections.abc import Sequence

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from gamification.admin.charts import level_holders_chart
from gamification.admin.forms import (
    MAX_LEVEL,
    ActivityTypeAddForm,
    ActivityTypeForm,
    BadgeForm,
    BadgeInlineFormSet,
    ReasonForm,
)
from gamification.admin.tasks import task_run_started_message
from gamification.exceptions import NotFoundError
from gamification.models import ActivityType, AwardMechanism, Badge, BadgeAuditEntry, TaskKind, UserBadge, UserMetric
from gamification.rules import RULES
from gamification.services.badges import badge_levels_make_room, badge_revoke
from gamification.services.task_runs import task_run_start

REVOKE_PERMISSION = "gamification.delete_userbadge"


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The ``next`` URL of the request when it points into this site, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def reason_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    intro: str,
    items: list[str],
    form,
    submit_label: str,
    cancel_url: str,
    action: str | None = None,
    selected: Sequence[int] = (),
) -> TemplateResponse:
    """The page that asks for a reason (and, for an award, the badge) before a manual award or a
    revocation; as an admin action's intermediate page when ``action`` is given."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "intro": intro,
        "items": items,
        "form": form,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "action": action,
        "selected": list(selected),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "next": safe_next_url(request, ""),
    }
    return TemplateResponse(request, "admin/gamification/manual_badge_change.html", context)


REVOKE_INTRO = (
    "The learner loses the badge; their progress (metrics) stays as it is. The reason is kept in "
    "the audit trail with your name and the time."
)


class BadgeInline(admin.StackedInline):
    """Each level as a card: its fields, and beside them what a learner sees (badge_levels.js)."""

    model = Badge
    form = BadgeForm
    formset = BadgeInlineFormSet
    template = "admin/gamification/activitytype/badge_levels.html"
    extra = 0
    ordering = ["level"]
    verbose_name = "level"
    verbose_name_plural = "levels"
    fieldsets = [
        (None, {"fields": ["level", "threshold", "name"]}),
        ("What learners read", {"fields": ["unachieved_description", "achieved_description"]}),
        ("Icon", {"fields": ["icon", "icon_upload"]}),
    ]

    class Media:
        js = ["gamification/admin/badge_levels.js"]
        css = {"all": ["gamification/admin/badge_levels.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Badge]:
        return super().get_queryset(request).annotate(holders=Count("user_badges"))

    def get_extra(self, request: HttpRequest, obj: ActivityType | None = None, **kwargs) -> int:
        return 1 if obj is None else 0  # a new type starts with its first level

    def get_max_num(self, request: HttpRequest, obj: ActivityType | None = None, **kwargs) -> int | None:
        if obj is not None and obj.award_mechanism == AwardMechanism.ONE_TIME:
            return 1
        return MAX_LEVEL

    def get_formset(self, request: HttpRequest, obj: ActivityType | None = None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if request.user.has_perm(REVOKE_PERMISSION):
            formset.held_badges_url = reverse("admin:gamification_userbadge_changelist")
        return formset


@admin.register(ActivityType)
class ActivityTypeAdmin(admin.ModelAdmin):
    form = ActivityTypeForm
    inlines = [BadgeInline]
    list_display = ["name", "code", "award_mechanism", "level_count"]
    list_filter = ["award_mechanism"]
    search_fields = ["code", "name"]
    ordering = ["id"]
    actions = ["award_qualified_badges"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActivityType]:
        return super().get_queryset(request).annotate(level_total=Count("badges"))

    def get_form(self, request: HttpRequest, obj: ActivityType | None = None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = ActivityTypeAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ActivityType | None = None) -> list[str]:
        if obj is None:
            return ["code", "name", "description", "frontend_icon_name"]
        return ["code", "fed_by", "award_mechanism", "name", "description", "frontend_icon_name"]

    def get_readonly_fields(self, request: HttpRequest, obj: ActivityType | None = None) -> list[str]:
        if obj is None:
            return []
        # The code is how rules find the type; the mechanism is what the rule needs.
        return ["code", "fed_by", "award_mechanism"] if obj.code in RULES else ["code", "fed_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Only codes the code feeds may be added: once all are in the catalogue, nothing can be.
        if not super().has_add_permission(request):
            return False
        return ActivityType.objects.filter(code__in=list(RULES)).count() < len(RULES)

    def has_delete_permission(self, request: HttpRequest, obj: ActivityType | None = None) -> bool:
        # A type the code feeds is never deleted (its learners' metrics and badges would go with
        # it); a leftover row no rule feeds may be, while nobody has progress in it.
        if obj is None or obj.code in RULES or not super().has_delete_permission(request, obj):
            return False
        return not (
            UserMetric.objects.filter(activity_type=obj).exists()
            or UserBadge.objects.filter(badge__activity_type=obj).exists()
        )

    @admin.display(description="Levels", ordering="level_total")
    def level_count(self, activity_type: ActivityType) -> int:
        return activity_type.level_total

    @admin.display(description="Fed by")
    def fed_by(self, activity_type: ActivityType) -> str:
        rule = RULES.get(activity_type.code)
        return rule.fed_by if rule else "No rule feeds this code: its badges can never be earned."

    @admin.action(
        description="Award badges that existing metrics already qualify for (background task)", permissions=["change"]
    )
    def award_qualified_badges(self, request: HttpRequest, queryset: QuerySet[ActivityType]) -> None:
        run = task_run_start(
            kind=TaskKind.AWARD_BADGES, started_by=request.user, codes=list(queryset.values_list("code", flat=True))
        )
        self.message_user(request, task_run_started_message(run), messages.SUCCESS)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["level_chart"] = level_holders_chart(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Badge:
            return super().save_formset(request, form, formset, change)
        badge_levels_make_room(
            badge_ids=[
                level.instance.pk
                for level in formset.initial_forms
                if level.instance.pk and (formset._should_delete_form(level) or "level" in level.changed_data)
            ]
        )
        super().save_formset(request, form, formset, change)
        for level in formset.forms:
            if getattr(level, "cleaned_data", None) and not formset._should_delete_form(level) and level.has_changed():
                for warning in level.learner_preview()["warnings"]:
                    self.message_user(request, f"Level {level.instance.level}: {warning}", messages.WARNING)
        return None


@admin.register(UserBadge)
class UserBadgeAdmin(admin.ModelAdmin):
    """Badges learners hold: read-only. Staff who may revoke badges revoke them here or from the
    user's page, with a reason (``services.badges.badge_revoke``, recorded in the audit trail)."""

    list_display = ["user", "badge_name", "activity_type", "level", "achieved_at", "seen_at", "by_hand", "revoke_link"]
    list_filter = ["badge__activity_type", "badge__level", "achieved_at"]
    search_fields = ["user__username"]
    search_help_text = "Search by username."
    list_select_related = ["user", "badge__activity_type"]
    date_hierarchy = "achieved_at"
    ordering = ["-achieved_at", "-id"]
    show_full_result_count = False
    fields = ["user", "badge", "achieved_at", "seen_at"]
    readonly_fields = fields
    actions = ["revoke_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserBadge]:
        manual = BadgeAuditEntry.objects.filter(
            user_id=OuterRef("user_id"), badge_id=OuterRef("badge_id"), action=BadgeAuditEntry.Action.AWARDED
        )
        return super().get_queryset(request).annotate(awarded_by_hand=Exists(manual))

    def get_list_display(self, request: HttpRequest) -> list[str]:
        if self.has_revoke_permission(request):
            return self.list_display
        return [name for name in self.list_display if name != "revoke_link"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # awards come from activity, or by hand from a user's page (with a reason)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoking (with a reason) replaces deleting

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVOKE_PERMISSION)

    @admin.display(description="Badge", ordering="badge__name")
    def badge_name(self, user_badge: UserBadge) -> str:
        return user_badge.badge.name

    @admin.display(description="Activity type", ordering="badge__activity_type__name")
    def activity_type(self, user_badge: UserBadge) -> str:
        return user_badge.badge.activity_type.name

    @admin.display(description="Level", ordering="badge__level")
    def level(self, user_badge: UserBadge) -> int:
        return user_badge.badge.level

    @admin.display(description="Awarded by hand", boolean=True)
    def by_hand(self, user_badge: UserBadge) -> bool:
        return user_badge.awarded_by_hand

    @admin.display(description="")
    def revoke_link(self, user_badge: UserBadge) -> str:
        url = reverse("admin:gamification_userbadge_revoke", args=[user_badge.pk])
        return format_html('<a href="{}">Revoke…</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="gamification_userbadge_revoke",
            ),
            *super().get_urls(),
        ]

    def _user_page(self, request: HttpRequest, user_id: int) -> str:
        if request.user.has_perm("gamification.view_user"):
            return reverse("admin:gamification_user_change", args=[user_id])
        return reverse("admin:gamification_userbadge_changelist")

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        user_badge = UserBadge.objects.select_related("user", "badge__activity_type").filter(pk=pk).first()
        if user_badge is None:
            self.message_user(request, "This badge was already revoked.", messages.WARNING)
            return HttpResponseRedirect(safe_next_url(request, reverse("admin:gamification_userbadge_changelist")))
        done_url = safe_next_url(request, self._user_page(request, user_badge.user_id))
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._revoke(request, [user_badge], form.cleaned_data["reason"])
            return HttpResponseRedirect(done_url)
        return reason_page(
            request,
            self,
            title="Revoke a badge",
            intro=REVOKE_INTRO,
            items=[str(user_badge)],
            form=form,
            submit_label="Revoke",
            cancel_url=done_url,
        )

    @admin.action(description="Revoke selected badges (with a reason)…", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[UserBadge]) -> HttpResponse | None:
        user_badges = list(queryset.select_related("user", "badge__activity_type"))
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._revoke(request, user_badges, form.cleaned_data["reason"])
            return None
        return reason_page(
            request,
            self,
            title="Revoke badges",
            intro=REVOKE_INTRO,
            items=[str(user_badge) for user_badge in user_badges],
            form=form,
            submit_label="Revoke",
            cancel_url=request.get_full_path(),
            action="revoke_selected",
            selected=[user_badge.pk for user_badge in user_badges],
        )

    def _revoke(self, request: HttpRequest, user_badges: list[UserBadge], reason: str) -> None:
        revoked = 0
        for user_badge in user_badges:
            try:
                badge_revoke(user_badge=user_badge, reason=reason, revoked_by=request.user)
            except NotFoundError as error:
                self.message_user(request, str(error), messages.WARNING)
                continue
            revoked += 1
        if revoked == 1:
            only = user_badges[0] if len(user_badges) == 1 else None
            text = f"Revoked {only.badge.name} from {only.user.username}." if only else "Revoked 1 badge."
        else:
            text = f"Revoked {revoked} badges."
        self.message_user(request, f"{text} The reason is in the audit trail.", messages.SUCCESS)


@admin.register(UserMetric)
class UserMetricAdmin(admin.ModelAdmin):
    """Read-only: metrics derive from the activity log (rebuild_metrics recomputes them)."""

    list_display = ["user", "activity_type", "value", "updated_at"]
    list_filter = ["activity_type"]
    search_fields = ["user__username"]
    search_help_text = "Search by username."
    list_select_related = ["user", "activity_type"]
    ordering = ["activity_type_id", "-value", "id"]
    show_full_result_count = False
    fields = ["user", "activity_type", "value", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BadgeAuditEntry)
class BadgeAuditEntryAdmin(admin.ModelAdmin):
    """The audit trail of manual awards and revocations: written by the badge services only."""

    list_display = ["acted_at", "user", "action", "badge_label", "reason", "acted_by"]
    list_filter = ["action", "acted_at"]
    search_fields = ["user__username", "acted_by__username", "badge_label", "reason"]
    search_help_text = "Search by the learner's or the staff member's username, the badge or the reason."
    list_select_related = ["user", "acted_by"]
    date_hierarchy = "acted_at"
    fields = ["acted_at", "user", "action", "badge_label", "badge", "reason", "acted_by"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
