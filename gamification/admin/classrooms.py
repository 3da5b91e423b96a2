"""Admin pages for classrooms (SPEC §7, §8): staff create classrooms and assign teachers and
students, through the classroom services (a student added here has joined a classroom, and the
invite code's uniqueness is decided by the database when the service writes it)."""

from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest

from gamification.admin.service_errors import ServiceErrorsAdminMixin
from gamification.models import Classroom, ClassroomMembership, ClassroomRole
from gamification.services.classrooms import (
    classroom_create,
    classroom_member_add,
    classroom_member_change,
    classroom_member_remove,
    classroom_update,
    invite_code_normalize,
)


class ClassroomAdminForm(forms.ModelForm):
    invite_code = forms.CharField(
        max_length=Classroom._meta.get_field("invite_code").max_length,
        required=False,
        help_text="Leave blank for a random code. Codes are stored upper-case and matched ignoring case and spaces.",
    )

    class Meta:
        model = Classroom
        fields = ("name", "language", "invite_code", "leaderboard_enabled")

    def clean_invite_code(self) -> str:
        return invite_code_normalize(self.cleaned_data.get("invite_code") or "")

    def validate_unique(self) -> None:
        # The invite code's unique constraint decides when the service writes (a blank code is
        # generated then); the other fields have no uniqueness to check.
        return None


class MembershipInline(admin.TabularInline):
    model = ClassroomMembership
    extra = 1
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)
    autocomplete_fields = ("user",)
    verbose_name = "member (teacher or student)"
    verbose_name_plural = "members: teachers and students"


@admin.register(Classroom)
class ClassroomAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    form = ClassroomAdminForm
    inlines = (MembershipInline,)
    list_display = ("name", "invite_code", "language", "leaderboard_enabled", "teacher_names", "student_count")
    list_filter = ("leaderboard_enabled", "language", "created_at")
    search_fields = ("name", "invite_code", "memberships__user__username")
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classroom]:
        teachers = ClassroomMembership.objects.filter(role=ClassroomRole.TEACHER).select_related("user")
        return (
            super()
            .get_queryset(request)
            .select_related("language")
            .annotate(students=Count("memberships", filter=Q(memberships__role=ClassroomRole.STUDENT)))
            .prefetch_related(Prefetch("memberships", queryset=teachers, to_attr="teacher_memberships"))
        )

    @admin.display(description="teachers")
    def teacher_names(self, classroom: Classroom) -> str:
        return ", ".join(membership.user.username for membership in classroom.teacher_memberships)

    @admin.display(description="students", ordering="students")
    def student_count(self, classroom: Classroom) -> int:
        return classroom.students

    def save_model(self, request: HttpRequest, obj: Classroom, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            classroom_update(
                classroom=obj,
                name=data["name"],
                language=data["language"],
                invite_code=data["invite_code"],
                leaderboard_enabled=data["leaderboard_enabled"],
            )
            return
        created = classroom_create(
            name=data["name"],
            language_code=data["language"].code,
            invite_code=data["invite_code"],
            leaderboard_enabled=data["leaderboard_enabled"],
        )
        # The form's instance is what the admin saves the members against and redirects to.
        obj.pk, obj.invite_code, obj.created_at = created.pk, created.invite_code, created.created_at
        obj._state.adding, obj._state.db = False, created._state.db

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ClassroomMembership:
            return super().save_formset(request, form, formset, change)
        memberships = formset.save(commit=False)  # validated rows, nothing written yet
        for membership in formset.deleted_objects:
            classroom_member_remove(membership=membership)
        for membership in memberships:
            if membership.pk is None:
                classroom_member_add(classroom=form.instance, user=membership.user, role=membership.role)
            else:
                classroom_member_change(membership_id=membership.pk, user=membership.user, role=membership.role)
        return None


@admin.register(ClassroomMembership)
class ClassroomMembershipAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):
    list_display = ("classroom", "user", "role", "joined_at")
    list_filter = ("role", "classroom__language")
    search_fields = ("user__username", "classroom__name", "classroom__invite_code")
    autocomplete_fields = ("user", "classroom")
    list_select_related = ("classroom", "user")
    readonly_fields = ("joined_at",)

    def save_model(self, request: HttpRequest, obj: ClassroomMembership, form, change: bool) -> None:
        if change:
            saved = classroom_member_change(membership_id=obj.pk, user=obj.user, role=obj.role)
        else:
            saved = classroom_member_add(classroom=obj.classroom, user=obj.user, role=obj.role)
        obj.pk, obj.joined_at = saved.pk, saved.joined_at
        obj._state.adding, obj._state.db = False, saved._state.db

    def delete_model(self, request: HttpRequest, obj: ClassroomMembership) -> None:
        classroom_member_remove(membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ClassroomMembership]) -> None:
        for membership in queryset:
            classroom_member_remove(membership=membership)
