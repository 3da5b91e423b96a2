"""Admin pages for accounts."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from gamification.models import User
from gamification.services.usernames import username_is_taken
from gamification.services.users import user_create
from gamification.validators import username_normalize


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = ("username", "email", "name", "timezone", "is_staff", "is_active", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "email", "name")
    ordering = ("username_key",)
    readonly_fields = ("created_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("username", "name", "timezone")}),
        ("Avatar", {"fields": ("avatar_image", "avatar_character_color", "avatar_background_color")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change) -> None:
        # New accounts were saved by the creation form's service call.
        if change:
            concrete = {field.name for field in User._meta.concrete_fields if not field.generated}
            changed = [name for name in form.changed_data if name in concrete]
            if changed:
                obj.save(update_fields=changed)
