from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.constants import (
    AVATAR_IMAGES,
    BACKGROUND_COLORS,
    CHARACTER_COLORS,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
)
from gamification.models import User


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


class UserSummarySerializer(serializers.Serializer):
    """Public identity of a user: never an email."""

    username = serializers.CharField()
    name = serializers.CharField()
    avatar = serializers.SerializerMethodField()

    @extend_schema_field(AvatarSerializer)
    def get_avatar(self, user: User) -> dict[str, str]:
        return avatar_of(user)


class FeaturesSerializer(serializers.Serializer):
    gamification = serializers.BooleanField()


class MeSerializer(UserSummarySerializer):
    email = serializers.EmailField()
    timezone = serializers.CharField()
    created_at = serializers.DateTimeField()
    features = serializers.SerializerMethodField()

    @extend_schema_field(FeaturesSerializer)
    def get_features(self, user: User) -> dict[str, bool]:
        return self.context.get("features", {"gamification": False})


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=EMAIL_MAX_LENGTH)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False, allow_blank=True, default="")
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")


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


class AvatarUpdateSerializer(serializers.Serializer):
    image = serializers.ChoiceField(choices=AVATAR_IMAGES, required=False)
    character_color = serializers.ChoiceField(choices=CHARACTER_COLORS, required=False)
    background_color = serializers.ChoiceField(choices=BACKGROUND_COLORS, required=False)


class MeUpdateSerializer(serializers.Serializer):
    """Documents PATCH /api/me/; the rules live in gamification.services.users.user_update."""

    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH, required=False)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)
    avatar = AvatarUpdateSerializer(required=False)


class AvatarOptionsSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.CharField())
    character_colors = serializers.ListField(child=serializers.CharField())
    background_colors = serializers.ListField(child=serializers.CharField())
