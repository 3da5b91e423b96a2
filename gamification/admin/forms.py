"""Forms of the admin console: badge levels, activity types, manual awards and revocations.

The rules live in services (``services.badges`` for levels, awards and revocations,
``services.badge_icons`` for uploads, ``gamification.rules`` for the known codes); these forms
call them and put each answer next to the field it is about, in words a non-developer follows.
"""

import re
from collections.abc import Iterable
from pathlib import Path

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from gamification.admin.widgets import BadgeIconSelect
from gamification.models import ActivityType, AwardMechanism, Badge
from gamification.rules import RULES
from gamification.serializers.badges import bundled_icon_path
from gamification.services.badge_icons import ICON_MAX_PIXELS, ICON_MIN_PIXELS, badge_icon_clean
from gamification.services.badges import (
    REASON_MAX_LENGTH,
    BadgeLevelsInvalid,
    LevelDraft,
    badge_levels_validate,
)

MAX_LEVEL = 100
MAX_THRESHOLD = 2_000_000_000


def bundled_icon_names() -> list[str]:
    """Base names of the SVG icons shipped in static/gamification/badges/, sorted."""
    folder = Path(apps.get_app_config("gamification").path) / "static" / "gamification" / "badges"
    return sorted(path.stem for path in folder.glob("*.svg"))


# Whole numbers as staff write them in a description: 2500, 2,500 (and with a no-break space).
# The same pattern is in static/gamification/admin/badge_levels.js, which re-checks as staff type.
_NUMBER = re.compile(r"\d{1,3}(?:[,\u00a0\u202f]\d{3})+(?!\d)|\d+")


def description_number_mismatches(*, threshold: int | None, descriptions: Iterable[tuple[str, str]]) -> list[str]:
    """Warnings for descriptions that name numbers, none of them the threshold: typically a level
    whose threshold changed while its text still names the old one. ``descriptions``: (what the
    text is, the text) pairs."""
    if not threshold:
        return []
    warnings = []
    for label, text in descriptions:
        numbers = [int(re.sub(r"\D", "", match)) for match in _NUMBER.findall(text or "")]
        if numbers and threshold not in numbers:
            named = ", ".join(dict.fromkeys(str(number) for number in numbers))
            warnings.append(f"The {label} text names {named}, but the threshold is {threshold}.")
    return warnings


class BadgeIconUploadField(forms.ImageField):
    """An image upload checked by ``badge_icon_clean`` instead of Django's generic check (which
    would accept GIF, BMP, TIFF... and say nothing useful about SVG)."""

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)
        if upload is None:
            return None
        # Checked, then decoded and encoded again: only the pixels survive (no appended bytes,
        # metadata or polyglot payload), under the extension of the real format.
        return badge_icon_clean(upload)


class BadgeForm(forms.ModelForm):
    level = forms.IntegerField(min_value=1, max_value=MAX_LEVEL)
    threshold = forms.IntegerField(
        min_value=1, max_value=MAX_THRESHOLD, help_text="The metric value that earns this level."
    )
    icon = forms.ChoiceField(
        required=False,
        widget=BadgeIconSelect,
        label="Bundled icon",
        help_text="Learners see the uploaded image instead when there is one.",
    )
    icon_upload = BadgeIconUploadField(
        required=False,
        label="Uploaded icon",
        help_text=f"PNG, JPEG or WebP, {ICON_MIN_PIXELS} to {ICON_MAX_PIXELS} px per side. No SVG.",
    )

    class Meta:
        model = Badge
        fields = ["level", "name", "threshold", "unachieved_description", "achieved_description", "icon", "icon_upload"]
        labels = {
            "unachieved_description": "Not achieved yet",
            "achieved_description": "Achieved",
        }
        help_texts = {
            "unachieved_description": "How to earn it, shown until the learner has it.",
            "achieved_description": "The celebration line, shown once earned.",
        }
        widgets = {
            "unachieved_description": forms.Textarea(attrs={"rows": 2}),
            "achieved_description": forms.Textarea(attrs={"rows": 2}),
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

    @property
    def holders(self) -> int:
        """How many users hold this level (annotated by the inline's queryset)."""
        return getattr(self.instance, "holders", 0) if self.instance.pk else 0

    def _current(self, name: str):
        return self[name].value() if self.is_bound else self.initial.get(name, self.fields[name].initial)

    def learner_preview(self) -> dict:
        """What a learner would see for this level as the form stands: the icon (the stored upload
        unless cleared, else the bundled icon), the name, both descriptions, the threshold, and
        warnings about descriptions naming another number. badge_levels.js keeps it current."""
        stored = self.initial.get("icon_upload")
        upload = self["icon_upload"].value() if self.is_bound else stored
        upload_url = stored.url if stored and upload is not False else ""
        icon = self._current("icon") or ""
        bundled_url = (bundled_icon_path(icon) if icon else None) or ""
        threshold = self._current("threshold")
        try:
            threshold = int(threshold) if threshold not in (None, "") else None
        except (TypeError, ValueError):
            threshold = None
        unachieved, achieved = (
            self._current("unachieved_description") or "",
            self._current("achieved_description") or "",
        )
        if upload_url:
            source = "the uploaded image"
        elif bundled_url:
            source = f"the bundled icon {icon}"
        else:
            source = "no icon yet"
        return {
            "name": self._current("name") or "",
            "threshold": threshold,
            "unachieved": unachieved,
            "achieved": achieved,
            "icon_url": upload_url or bundled_url,
            "upload_url": upload_url,
            "icon_source": source,
            "warnings": description_number_mismatches(
                threshold=threshold, descriptions=[("not achieved", unachieved), ("achieved", achieved)]
            ),
        }


class BadgeInlineFormSet(BaseInlineFormSet):
    """The levels of one activity type, checked together by ``badge_levels_validate``; each
    problem is shown on the level (and field) it is about. A level that users hold offers no
    delete box."""

    # Set by the inline for the staff member viewing the page: the changelist URL of held badges
    # when they may revoke badges, else None.
    held_badges_url: str | None = None

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields and isinstance(form, BadgeForm) and form.holders:
            form.fields["DELETE"].disabled = True
            form.fields["DELETE"].help_text = f"Held by {form.holders} user{'s' if form.holders != 1 else ''}."

    def clean(self):
        if any(self.errors):
            return  # each form shows its own errors first
        kept, deleted = [], []
        for form in self.forms:
            if not getattr(form, "cleaned_data", None):
                continue  # an untouched extra row
            if self._should_delete_form(form):
                if form.instance.pk:
                    deleted.append(form)
                continue
            kept.append((form, form.cleaned_data["level"]))
        try:
            badge_levels_validate(
                award_mechanism=self.instance.award_mechanism,
                levels=[LevelDraft(level, form.cleaned_data["threshold"], form.instance.pk) for form, level in kept],
                deleted_badge_ids=[form.instance.pk for form in deleted],
            )
        except BadgeLevelsInvalid as invalid:
            self._show(invalid, kept, deleted)
        super().clean()  # Django's own uniqueness checks, once ours passed

    def _show(self, invalid: BadgeLevelsInvalid, kept: list, deleted: list) -> None:
        """Put each problem on its level's card (and field); raise those no kept card can show
        (a deleted row never blocks the save by its own errors)."""
        apart: list = []
        for problem in invalid.problems:
            message = problem.message
            if problem.badge_id is not None:
                message = self._with_revoke_hint(message, problem.badge_id)
                targets = [form for form in deleted if form.instance.pk == problem.badge_id]
                apart.append(message)
            elif problem.level is not None:
                targets = [form for form, level in kept if level == problem.level]
                if not targets:
                    apart.append(message)
            else:
                targets = []
                apart.append(message)
            for form in targets:
                field = problem.field if problem.field in form.fields else None
                form.add_error(field, ValidationError(message, code="badge_levels"))
        if apart:
            raise ValidationError(apart)

    def _with_revoke_hint(self, message: str, badge_id: int) -> str:
        if self.held_badges_url:
            return format_html(
                '{} <a href="{}?badge__id__exact={}">Revoke it from its holders</a> first if you really mean it.',
                message,
                self.held_badges_url,
                badge_id,
            )
        return f"{message} Staff who may revoke badges can take it from its holders first."


def _rule_label(code: str) -> str:
    rule = RULES[code]
    return f"{code} — {AwardMechanism(rule.mechanism).label.split(' (')[0].lower()}: {rule.fed_by}"


class ActivityTypeAddForm(forms.ModelForm):
    """A new activity type: only the codes the code knows and the catalogue lacks are offered, and
    the mechanism is the one the code's rule feeds."""

    code = forms.ChoiceField(help_text="The activity types the code feeds that are not in the catalogue yet.")

    class Meta:
        model = ActivityType
        fields = ["code", "name", "description", "frontend_icon_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        present = set(ActivityType.objects.values_list("code", flat=True))
        self.fields["code"].choices = [(code, _rule_label(code)) for code in RULES if code not in present]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        self.instance.award_mechanism = RULES[code].mechanism
        return code


class ActivityTypeForm(forms.ModelForm):
    """An activity type in the catalogue. The code, and the mechanism of a code the code feeds, are
    read-only on the page; a row whose code no rule feeds may change its mechanism."""

    class Meta:
        model = ActivityType
        fields = ["code", "name", "description", "award_mechanism", "frontend_icon_name"]


def _badge_choices() -> list:
    groups: dict[str, list] = {}
    for badge in Badge.objects.select_related("activity_type").order_by("activity_type_id", "level"):
        groups.setdefault(badge.activity_type.name, []).append((badge.pk, f"Level {badge.level}: {badge.name}"))
    return [("", "— pick a badge —"), *groups.items()]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the change in the audit trail, for other staff to read.",
    )


class ManualAwardForm(ReasonForm):
    badge = forms.TypedChoiceField(coerce=int, label="Badge", choices=())

    field_order = ["badge", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["badge"].choices = _badge_choices()

    def clean_badge(self) -> Badge:
        badge = Badge.objects.select_related("activity_type").filter(pk=self.cleaned_data["badge"]).first()
        if badge is None:
            raise ValidationError("This badge no longer exists.")
        return badge
