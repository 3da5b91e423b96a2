from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.constants import (
    AVATAR_IMAGES,
    BACKGROUND_COLORS,
    CHARACTER_COLORS,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TIMEZONE_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
)
from gamification.models import User
from gamification.serializers.fields import StrictCharField, datetime_out
from gamification.validators import display_name_validate, timezone_validate, username_normalize


class AvatarSerializer(serializers.Serializer):
    image = serializers.ChoiceField(choices=AVATAR_IMAGES)
    character_color = serializers.ChoiceField(choices=CHARACTER_COLORS)
    background_color = serializers.ChoiceField(choices=BACKGROUND_COLORS)


def avatar_of(user: User) -> dict[str, str]:
    return {
        "image": user.avatar_image,
        "character_color": user.avatar_character_color,
        "background_color": user.avatar_background_color,
    }


class UsernameField(serializers.CharField):
    """A chosen username (``gamification.validators.username_normalize``): stripped, 1 to 50
    ASCII letters, digits, ``_``, ``.``, ``-``."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", USERNAME_MAX_LENGTH)
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data) -> str:
        try:
            return username_normalize(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class DisplayNameField(StrictCharField):
    """A display name: a string of at most 100 characters, stripped, without control, format,
    zero-width or text-direction characters (``gamification.validators.display_name_validate``,
    which also refuses NUL: DRF's own NUL check is left out so each problem is reported once)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        super().__init__(**kwargs)
        self.validators = [
            validator for validator in self.validators if not isinstance(validator, ProhibitNullCharactersValidator)
        ] + [display_name_validate]


class UserSummarySerializer(serializers.Serializer):
    """Public identity of a user: never an email."""

    username = serializers.CharField()
    name = serializers.CharField()
    avatar = serializers.SerializerMethodField()

    @extend_schema_field(AvatarSerializer)
    def get_avatar(self, user: User) -> dict[str, str]:
        return avatar_of(user)


def user_summary_out(user: User) -> dict:
    """``UserSummarySerializer(user).data`` as a plain dict (hand-built: hot paths)."""
    return {
        "username": user.username,
        "name": user.name,
        "avatar": avatar_of(user),
    }


class FeaturesSerializer(serializers.Serializer):
    gamification = serializers.BooleanField()


class MeSerializer(UserSummarySerializer):
    email = serializers.EmailField(allow_null=True, help_text="Null for users the platform provisioned without one.")
    timezone = serializers.CharField()
    created_at = serializers.DateTimeField()
    features = serializers.SerializerMethodField()

    @extend_schema_field(FeaturesSerializer)
    def get_features(self, user: User) -> dict[str, bool]:
        return self.context.get("features", {"gamification": False})


def me_out(user: User, features: dict[str, bool]) -> dict:
    """``MeSerializer(user, context={"features": features}).data`` as a plain dict (hand-built:
    every app start reads it)."""
    return {
        **user_summary_out(user),
        "email": None if user.email is None else str(user.email),
        "timezone": str(user.timezone),
        "created_at": datetime_out(user.created_at),
        "features": features,
    }


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = DisplayNameField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Display name; no control, zero-width or text-direction characters.",
    )
    timezone = StrictCharField(
        max_length=TIMEZONE_MAX_LENGTH, required=False, default="UTC", validators=[timezone_validate]
    )


class LoginInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenOutputSerializer(serializers.Serializer):
    """A newly issued API token: the key, shown this once, and when it expires unless used."""

    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown only this once.")
    expires_at = serializers.DateTimeField(
        help_text="When the token stops working unless used; each use renews it (at most once an hour)."
    )


class AuthOutputSerializer(TokenOutputSerializer):
    user = MeSerializer()


AVATAR_NOT_ALLOWED = "Not an allowed value; see GET /api/avatar-options/."


class AvatarChoiceField(serializers.ChoiceField):
    """One of the avatar vocabulary's values, matched ignoring case and given back (and stored)
    spelled exactly as the vocabulary spells it: the frontend compares the strings exactly."""

    default_error_messages = {"invalid_choice": AVATAR_NOT_ALLOWED}

    def __init__(self, *, values: tuple[str, ...], **kwargs) -> None:
        super().__init__(choices=values, **kwargs)
        self._canonical = {value.lower(): value for value in values}

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().lower() in self._canonical:
            return self._canonical[data.strip().lower()]
        self.fail("invalid_choice", input=data)


class AvatarUpdateSerializer(serializers.Serializer):
    """The avatar fields to change, any of the three; an unknown key is refused."""

    image = AvatarChoiceField(values=AVATAR_IMAGES, required=False)
    character_color = AvatarChoiceField(values=CHARACTER_COLORS, required=False)
    background_color = AvatarChoiceField(values=BACKGROUND_COLORS, required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                ["Send the avatar as an object with image, character_color and/or background_color."]
            )
        unknown = {
            key: ["Unknown avatar field; use image, character_color or background_color."]
            for key in data
            if key not in self.fields
        }
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**unknown, **error.detail}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return validated


class MeUpdateSerializer(serializers.Serializer):
    """PATCH /api/me/: only the fields sent change. Shapes here; whether a username is free is
    the service's (gamification.services.users.user_update)."""

    username = UsernameField(required=False)
    name = DisplayNameField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Display name (null or blank: none); no control, zero-width or text-direction characters.",
    )
    timezone = StrictCharField(max_length=TIMEZONE_MAX_LENGTH, required=False, validators=[timezone_validate])
    avatar = AvatarUpdateSerializer(required=False)

    def validate_name(self, value: str | None) -> str:
        return value or ""


class AvatarOptionsSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.CharField())
    character_colors = serializers.ListField(child=serializers.CharField())
    background_colors = serializers.ListField(child=serializers.CharField())
