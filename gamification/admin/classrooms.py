"""Admin pages for classrooms (SPEC §7, §8): staff create classrooms and assign teachers and
students."""

from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest

from gamification.models import Classroom, ClassroomMembership, ClassroomRole
from gamification.services.classrooms import (
    CLASSROOM_JOINED,
    invite_code_generate,
    invite_code_normalize,
)
from gamification.services.metrics import one_time_achieve


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
        code = invite_code_normalize(self.cleaned_data.get("invite_code") or "")
        if not code:
            code = invite_code_generate()
            while Classroom.objects.filter(invite_code=code).exists():
                code = invite_code_generate()
        elif Classroom.objects.filter(invite_code=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another classroom has this invite code.")
        return code


class MembershipInline(admin.TabularInline):
    model = ClassroomMembership
    extra = 1
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)
    autocomplete_fields = ("user",)
    verbose_name = "member (teacher or student)"
    verbose_name_plural = "members: teachers and students"


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
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

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        # A student added by staff has joined a classroom, as with an invite code.
        for membership in getattr(formset, "new_objects", []):
            if isinstance(membership, ClassroomMembership) and membership.role == ClassroomRole.STUDENT:
                one_time_achieve(user=membership.user_id, code=CLASSROOM_JOINED)


@admin.register(ClassroomMembership)
class ClassroomMembershipAdmin(admin.ModelAdmin):
    list_display = ("classroom", "user", "role", "joined_at")
    list_filter = ("role", "classroom__language")
    search_fields = ("user__username", "classroom__name", "classroom__invite_code")
    autocomplete_fields = ("user", "classroom")
    list_select_related = ("classroom", "user")
    readonly_fields = ("joined_at",)
