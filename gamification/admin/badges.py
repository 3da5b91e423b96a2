"""Admin pages for badges (SPEC §7).

Staff edit activity types with their levels inline. The rules that the database cannot hold are
checked here with messages a non-developer understands: thresholds increase with level, a
one-time type has exactly one badge (threshold 1), a type fed by the code keeps the mechanism its
rule needs, and uploaded icons are real PNG, JPEG or WebP images of a sensible size.
"""

from itertools import pairwise
from pathlib import Path

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from gamification.models import ActivityType, AwardMechanism, Badge, UserBadge, UserMetric
from gamification.rules import RULES
from gamification.serializers.badges import badge_icon_url, bundled_icon_path
from gamification.services.badge_icons import ICON_MAX_PIXELS, ICON_MIN_PIXELS, badge_icon_clean
from gamification.services.metrics import badges_award_qualified

# The activity types the code feeds and the mechanism each rule relies on (gamification.rules).
KNOWN_ACTIVITY_TYPES: dict[str, str] = {code: rule.mechanism for code, rule in RULES.items()}

MAX_LEVEL = 100
MAX_THRESHOLD = 2_000_000_000


def bundled_icon_names() -> list[str]:
    """Base names of the SVG icons shipped in static/gamification/badges/, sorted."""
    folder = Path(apps.get_app_config("gamification").path) / "static" / "gamification" / "badges"
    return sorted(path.stem for path in folder.glob("*.svg"))


class BadgeIconUploadField(forms.ImageField):
    """An image upload checked by validate_badge_icon_upload instead of Django's generic check
    (which would accept GIF, BMP, TIFF... and say nothing useful about SVG)."""

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)
        if upload is None:
            return None
        # Checked, then decoded and encoded again: only the pixels survive (no appended bytes,
        # metadata or polyglot payload), under the extension of the real format.
        return badge_icon_clean(upload)


class BadgeIconSelect(forms.Select):
    """A select of bundled icon names with a preview next to it (updated by a small script)."""

    template_name = "admin/gamification/widgets/badge_icon_select.html"

    class Media:
        js = ["gamification/admin/badge_icon_preview.js"]
        css = {"all": ["gamification/admin/badge_icons.css"]}

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "badge-icon-select", **(attrs or {})}, choices)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        url = bundled_icon_path(value) if value else None
        if url:
            option["attrs"]["data-icon-url"] = url
        return option

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["preview_url"] = (bundled_icon_path(value) if value else None) or ""
        return context


class BadgeForm(forms.ModelForm):
    level = forms.IntegerField(min_value=1, max_value=MAX_LEVEL)
    threshold = forms.IntegerField(min_value=1, max_value=MAX_THRESHOLD)
    icon = forms.ChoiceField(
        required=False,
        widget=BadgeIconSelect,
        help_text="A bundled icon. An uploaded image, when there is one, is shown instead.",
    )
    icon_upload = BadgeIconUploadField(
        required=False,
        label="Uploaded icon",
        help_text=f"PNG, JPEG or WebP, {ICON_MIN_PIXELS} to {ICON_MAX_PIXELS} px per side. No SVG.",
    )

    class Meta:
        model = Badge
        fields = ["level", "name", "threshold", "unachieved_description", "achieved_description", "icon", "icon_upload"]
        widgets = {
            "unachieved_description": forms.Textarea(attrs={"rows": 2, "cols": 28}),
            "achieved_description": forms.Textarea(attrs={"rows": 2, "cols": 28}),
            "name": forms.TextInput(attrs={"size": 18}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = bundled_icon_names()
        choices = [("", "— none (use the upload) —")] + [(name, name) for name in names]
        current = self.instance.icon if self.instance.pk else ""
        if current and current not in names:
            choices.append((current, f"{current} (file missing)"))
        self.fields["icon"].choices = choices

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("DELETE"):
            return cleaned
        if not cleaned.get("icon") and not cleaned.get("icon_upload"):
            raise ValidationError("Pick a bundled icon or upload an image.", code="icon_missing")
        return cleaned


class BadgeInlineFormSet(BaseInlineFormSet):
    """Checks the levels of one activity type together: unique levels, thresholds strictly
    increasing with level, one badge (threshold 1) for a one-time type, and no deletion of a level
    that users hold."""

    def clean(self):
        if any(self.errors):
            return  # each form shows its own errors first
        self._check_levels()
        super().clean()  # Django's own uniqueness checks, once ours passed

    def _check_levels(self) -> None:
        kept: list[tuple[int, int]] = []
        deleted_ids: list[int] = []
        for form in self.forms:
            if not getattr(form, "cleaned_data", None):
                continue  # an untouched extra row
            if self._should_delete_form(form):
                if form.instance.pk:
                    deleted_ids.append(form.instance.pk)
                continue
            kept.append((form.cleaned_data["level"], form.cleaned_data["threshold"]))

        problems: list[str] = []
        levels = [level for level, _ in kept]
        duplicated = sorted({level for level in levels if levels.count(level) > 1})
        if duplicated:
            problems.append(
                "Each level may appear only once; repeated: " + ", ".join(str(level) for level in duplicated) + "."
            )
        ordered = sorted(kept)
        for (low_level, low_threshold), (high_level, high_threshold) in pairwise(ordered):
            if high_level != low_level and high_threshold <= low_threshold:
                problems.append(
                    f"Thresholds must increase with level: level {high_level} ({high_threshold}) must be above "
                    f"level {low_level} ({low_threshold})."
                )
        mechanism = self.instance.award_mechanism
        if mechanism == AwardMechanism.ONE_TIME:
            if len(kept) != 1:
                problems.append(f"A one-time activity type has exactly one badge; this form would leave {len(kept)}.")
            elif kept[0][1] != 1:
                problems.append("The badge of a one-time activity type needs threshold 1 (done or not done).")
        if deleted_ids:
            held = (
                Badge.objects.filter(pk__in=deleted_ids)
                .annotate(holders=Count("user_badges"))
                .filter(holders__gt=0)
                .order_by("level")
            )
            for badge in held:
                problems.append(
                    f"Level {badge.level} ({badge.name}) is held by {badge.holders} user(s) and cannot be deleted "
                    "here; revoke it under User badges first if you really mean it."
                )
        if problems:
            raise ValidationError(problems)


class BadgeInline(admin.TabularInline):
    model = Badge
    form = BadgeForm
    formset = BadgeInlineFormSet
    extra = 0
    ordering = ["level"]
    fields = [
        "thumbnail",
        "level",
        "name",
        "threshold",
        "unachieved_description",
        "achieved_description",
        "icon",
        "icon_upload",
    ]
    readonly_fields = ["thumbnail"]

    def get_max_num(self, request: HttpRequest, obj: ActivityType | None = None, **kwargs) -> int | None:
        if obj is not None and obj.award_mechanism == AwardMechanism.ONE_TIME:
            return 1
        return MAX_LEVEL

    @admin.display(description="Icon")
    def thumbnail(self, badge: Badge) -> str:
        url = badge_icon_url(badge, None) if badge.pk else None
        if not url:
            return "-"
        return format_html('<img class="badge-icon-thumb" src="{}" alt="" width="48" height="48">', url)


class ActivityTypeForm(forms.ModelForm):
    class Meta:
        model = ActivityType
        fields = ["code", "name", "description", "award_mechanism"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if code not in KNOWN_ACTIVITY_TYPES:
            raise ValidationError(
                "No rule feeds this code, so its badges could never be earned. Known codes: %(codes)s.",
                code="unknown_code",
                params={"codes": ", ".join(KNOWN_ACTIVITY_TYPES)},
            )
        return code

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("code") or self.instance.code
        mechanism = cleaned.get("award_mechanism")
        expected = KNOWN_ACTIVITY_TYPES.get(code)
        if expected and mechanism and mechanism != expected:
            self.add_error(
                "award_mechanism",
                ValidationError(
                    "%(code)s is fed as %(expected)s by the code; another mechanism would never award its badges "
                    "correctly.",
                    code="mechanism_mismatch",
                    params={"code": code, "expected": AwardMechanism(expected).label.lower()},
                ),
            )
        return cleaned


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

    def get_readonly_fields(self, request: HttpRequest, obj: ActivityType | None = None) -> list[str]:
        if obj is None:
            return []
        # The code is how rules find the type; the mechanism is what the rule needs.
        readonly = ["code"]
        if obj.code in KNOWN_ACTIVITY_TYPES:
            readonly.append("award_mechanism")
        return readonly

    @admin.display(description="Levels", ordering="level_total")
    def level_count(self, activity_type: ActivityType) -> int:
        return activity_type.level_total

    @admin.action(description="Award badges that existing metrics already qualify for", permissions=["change"])
    def award_qualified_badges(self, request: HttpRequest, queryset: QuerySet[ActivityType]) -> None:
        awarded = badges_award_qualified(activity_types=queryset)
        self.message_user(
            request,
            f"Awarded {awarded} badge{'s' if awarded != 1 else ''} that existing metrics already qualified for.",
            messages.SUCCESS,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["level_chart"] = level_holders_chart(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is Badge:
            _free_levels_being_moved(formset)
        super().save_formset(request, form, formset, change)


# A level number no real level uses, so that swapped or reused level numbers never collide with
# the (activity type, level) unique constraint while the formset saves row by row.
_PARKED_LEVEL_OFFSET = 10_000


def _free_levels_being_moved(formset: BadgeInlineFormSet) -> None:
    """Park existing badges whose level changes or that are deleted on unused level numbers
    before the formset saves, so that swapping levels 1 and 2 (or giving a deleted level's number
    to another row) saves cleanly. Runs inside the admin's transaction."""
    moving = [
        form.instance.pk
        for form in formset.initial_forms
        if form.instance.pk and (formset._should_delete_form(form) or "level" in form.changed_data)
    ]
    if moving:
        Badge.objects.filter(pk__in=moving).update(level=F("level") + _PARKED_LEVEL_OFFSET)


def level_holders_chart(activity_type: ActivityType) -> dict:
    """How many users hold each level of a type, for a bar chart: one grouped query."""
    rows = list(
        Badge.objects.filter(activity_type=activity_type)
        .annotate(holders=Count("user_badges"))
        .order_by("level")
        .values("level", "name", "threshold", "holders")
    )
    top = max((row["holders"] for row in rows), default=0)
    bar_height, gap, label_width, bar_area = 22, 8, 260, 420
    for index, row in enumerate(rows):
        row["y"] = index * (bar_height + gap)
        row["text_y"] = row["y"] + 16
        row["width"] = round(bar_area * row["holders"] / top, 1) if top else 0
        row["count_x"] = label_width + row["width"] + 6
    return {
        "rows": rows,
        "total": sum(row["holders"] for row in rows),
        "bar_height": bar_height,
        "label_width": label_width,
        "width": label_width + bar_area + 80,
        "height": max(len(rows) * (bar_height + gap) - gap, bar_height),
    }


@admin.register(UserBadge)
class UserBadgeAdmin(admin.ModelAdmin):
    """Read-only list of awards; staff may revoke (delete) one, nothing else."""

    list_display = ["user", "badge_name", "activity_type", "level", "achieved_at", "seen_at"]
    list_filter = ["badge__activity_type", "badge__level", "achieved_at"]
    search_fields = ["user__username"]
    search_help_text = "Search by username."
    list_select_related = ["user", "badge__activity_type"]
    date_hierarchy = "achieved_at"
    ordering = ["-achieved_at", "-id"]
    show_full_result_count = False
    fields = ["user", "badge", "achieved_at", "seen_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Badge", ordering="badge__name")
    def badge_name(self, user_badge: UserBadge) -> str:
        return user_badge.badge.name

    @admin.display(description="Activity type", ordering="badge__activity_type__name")
    def activity_type(self, user_badge: UserBadge) -> str:
        return user_badge.badge.activity_type.name

    @admin.display(description="Level", ordering="badge__level")
    def level(self, user_badge: UserBadge) -> int:
        return user_badge.badge.level


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
