"""Admin pages for accounts: the profile, the avatar as swatches, and the learner's gamification at
a glance (badges, metrics, streaks, friends, classrooms, manual awards and revocations), with
manual awards (``services.badges.badge_award_manual``) from the page or the list."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from gamification.admin.badges import REVOKE_PERMISSION, reason_page
from gamification.admin.forms import ManualAwardForm
from gamification.admin.widgets import ColorSwatchSelect
from gamification.constants import BACKGROUND_COLORS, CHARACTER_COLORS
from gamification.exceptions import ConflictError
from gamification.models import RestDay, User
from gamification.selectors.relationships import privacy_settings_of
from gamification.selectors.user_overview import user_overview
from gamification.services.badges import badge_award_manual
from gamification.services.rest_days import rest_days_staff_changed, rest_days_validate
from gamification.services.usernames import username_is_taken
from gamification.services.users import user_create, user_delete
from gamification.validators import username_normalize

AWARD_PERMISSION = "gamification.add_userbadge"
AWARD_INTRO = (
    "The badge is awarded now, as if earned; the learner sees it as new. Their progress (metrics) "
    "stays as it is. The reason is kept in the audit trail with your name and the time."
)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        widgets = {"avatar_character_color": ColorSwatchSelect, "avatar_background_color": ColorSwatchSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model's choices, without the blank "---------" a select would offer.
        for name, colors in (
            ("avatar_character_color", CHARACTER_COLORS),
            ("avatar_background_color", BACKGROUND_COLORS),
        ):
            if name in self.fields:
                self.fields[name].choices = [(color, color) for color in colors]

    def clean_username(self) -> str:
        username = username_normalize(self.cleaned_data["username"])
        if username_is_taken(username, exclude_user_id=self.instance.pk):
            raise ValidationError("This username is taken.")
        return username

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class UserCreationAdminForm(AdminUserCreationForm):
    """Staff create accounts by email; the username and avatar are generated as at sign-up."""

    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise ValidationError("An account with this email already exists.")
        return email

    def save(self, commit: bool = True) -> User:
        return user_create(
            email=self.cleaned_data["email"],
            password=self.cleaned_data.get("password1")
            if self.cleaned_data.get("usable_password", "true") != "false"
            else None,
            name=self.cleaned_data.get("name", ""),
        )

    def save_m2m(self) -> None:  # the service saved everything
        return None


class RestDayFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        periods = [
            (form.cleaned_data["start"], form.cleaned_data["end"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("start")
            and form.cleaned_data.get("end")
        ]
        rest_days_validate(periods=periods)


class RestDayInline(admin.TabularInline):
    """The learner's rest days. Staff may correct past ones too (say, a booking the learner could
    not make): saving rebuilds the learner's streaks from the activity log and the bookings."""

    model = RestDay
    formset = RestDayFormSet
    fields = ("start", "end", "created_at")
    readonly_fields = ("created_at",)
    extra = 0
    ordering = ("-start",)
    verbose_name_plural = "rest days (saving rebuilds the learner's streaks)"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_form_template = "admin/gamification/user/change_form.html"
    list_display = ("username", "email", "name", "timezone", "is_staff", "is_active", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "email", "name")
    ordering = ("username_key",)
    readonly_fields = ("created_at", "last_login", "avatar_preview", "privacy_shown")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("username", "name", "timezone")}),
        (
            "Avatar",
            {"fields": ("avatar_preview", "avatar_image", "avatar_character_color", "avatar_background_color")},
        ),
        ("Privacy (the learner's own choice, read-only)", {"fields": ("privacy_shown",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")}),
    )
    actions = ["award_badge"]
    inlines = [RestDayInline]

    class Media:
        css = {"all": ["gamification/admin/users.css"]}

    @admin.display(description="Avatar")
    def avatar_preview(self, user: User) -> str:
        return format_html(
            '<span class="avatar-preview" style="background-color: {}; color: {}">{}</span>',
            user.avatar_background_color,
            user.avatar_character_color,
            user.avatar_image,
        )

    @admin.display(description="Privacy settings")
    def privacy_shown(self, user: User) -> str:
        if not user.pk:
            return "-"
        settings = privacy_settings_of(user_id=user.pk)
        return format_html(
            "Progress (friends list, badges, streaks) visible to: <strong>{}</strong><br>"
            "Found by search: <strong>{}</strong><br>On other learners' leaderboards: <strong>{}</strong>",
            settings.get_progress_visible_to_display().lower(),
            "yes" if settings.discoverable else "by exact username only",
            "yes" if settings.on_leaderboards else "no (teachers still see them)",
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is RestDay and formset.has_changed():
            rest_days_staff_changed(user=form.instance)

    def save_model(self, request, obj, form, change) -> None:
        # New accounts were saved by the creation form's service call.
        if change:
            concrete = {field.name for field in User._meta.concrete_fields if not field.generated}
            changed = [name for name in form.changed_data if name in concrete]
            if changed:
                obj.save(update_fields=changed)

    # Deleting an account: the sign-up service's counterpart, so former friends' counts follow.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.order_by("pk"):
            user_delete(user=user)

    def get_deleted_objects(self, objs, request):
        """What deleting these accounts removes, as the accounts and a count per kind of row
        rather than Django's list of every row (a learner's activity log alone may hold thousands). The account's
        badges, metrics, activity and friendships go with it, which is what deleting an account
        is: their own read-only pages do not make the deletion impossible."""
        collector = NestedObjects(using=router.db_for_write(User))
        collector.collect(objs)
        counts = {
            model._meta.verbose_name_plural: len(rows)
            for model, rows in collector.model_objs.items()
            if rows and model is not User
        }
        to_delete = [
            format_html('User: <a href="{}">{}</a>', reverse("admin:gamification_user_change", args=[user.pk]), user)
            for user in objs
        ]
        model_count = {User._meta.verbose_name_plural: len(to_delete), **counts}  # the page's summary
        perms_needed = set() if self.has_delete_permission(request) else {User._meta.verbose_name}
        protected = [str(obj) for obj in collector.protected]
        return to_delete, model_count, perms_needed, protected

    # The learner at a glance -------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["overview"] = user_overview(user=obj)
            context["can_award"] = self.has_award_permission(request)
            context["can_revoke"] = request.user.has_perm(REVOKE_PERMISSION)
            context["can_view_audit"] = request.user.has_perm("gamification.view_badgeauditentry")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # Manual awards ----------------------------------------------------------------------------

    def has_award_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(AWARD_PERMISSION)

    def get_urls(self):
        return [
            path(
                "<int:user_id>/award-badge/",
                self.admin_site.admin_view(self.award_badge_view),
                name="gamification_user_award_badge",
            ),
            *super().get_urls(),
        ]

    def award_badge_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        if not self.has_award_permission(request):
            raise PermissionDenied
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise Http404("No such user.")
        user_page = reverse("admin:gamification_user_change", args=[user.pk])
        form = ManualAwardForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._award(request, [user], form)
            return HttpResponseRedirect(user_page)
        return reason_page(
            request,
            self,
            title=f"Award a badge to {user.username}",
            intro=AWARD_INTRO,
            items=[str(user)],
            form=form,
            submit_label="Award",
            cancel_url=user_page,
        )

    @admin.action(description="Award a badge to selected users (with a reason)…", permissions=["award"])
    def award_badge(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        users = list(queryset.order_by("username_key"))
        form = ManualAwardForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._award(request, users, form)
            return None
        return reason_page(
            request,
            self,
            title="Award a badge",
            intro=AWARD_INTRO,
            items=[str(user) for user in users],
            form=form,
            submit_label="Award",
            cancel_url=request.get_full_path(),
            action="award_badge",
            selected=[user.pk for user in users],
        )

    def _award(self, request: HttpRequest, users: list[User], form: ManualAwardForm) -> None:
        badge, reason = form.cleaned_data["badge"], form.cleaned_data["reason"]
        awarded, already = [], []
        for user in users:
            try:
                badge_award_manual(user=user, badge=badge, reason=reason, awarded_by=request.user)
            except ConflictError:
                already.append(user.username)
                continue
            awarded.append(user.username)
        if awarded:
            self.message_user(
                request,
                f"Awarded {badge.name} to {', '.join(awarded)}. The reason is in the audit trail.",
                messages.SUCCESS,
            )
        if already:
            self.message_user(request, f"Already held by {', '.join(already)}: nothing changed.", messages.WARNING)
