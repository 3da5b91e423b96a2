"""The platform API (``/api/platform/``): users the learning platform provisions by its own id."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.constants import EMAIL_MAX_LENGTH, EXTERNAL_ID_MAX_LENGTH, TIMEZONE_MAX_LENGTH
from gamification.features import features_for_user
from gamification.models import User
from gamification.serializers.fields import StrictCharField
from gamification.serializers.users import DisplayNameField, FeaturesSerializer, MeSerializer, UsernameField
from gamification.services.users import email_normalize
from gamification.validators import timezone_validate


class PlatformUserInputSerializer(serializers.Serializer):
    """``PUT /api/platform/users/<external_id>/``: the fields to set; those left out stay as they
    are (a new user gets a generated username, UTC and no email). Other keys are ignored."""

    name = DisplayNameField(required=False, allow_blank=True, help_text="Display name; blank for none.")
    email = StrictCharField(
        max_length=EMAIL_MAX_LENGTH,
        required=False,
        help_text="Private: only the user themself and the platform see it. Unique ignoring case.",
    )
    username = UsernameField(required=False, help_text="1 to 50 of A-Z a-z 0-9 _ . -; unique ignoring case.")
    timezone = StrictCharField(
        max_length=TIMEZONE_MAX_LENGTH, required=False, validators=[timezone_validate], help_text="IANA time zone."
    )

    def validate_email(self, value: str) -> str:
        try:
            return email_normalize(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["email"]) from None


class PlatformUserSerializer(MeSerializer):
    """``PlatformUser``: the user's own ``Me`` payload plus the platform's id of them and when
    their profile last changed. Only the platform's account sees it."""

    external_id = serializers.CharField(max_length=EXTERNAL_ID_MAX_LENGTH)
    updated_at = serializers.DateTimeField(help_text="When the profile last changed (for ?updated_since=).")

    @extend_schema_field(FeaturesSerializer)
    def get_features(self, user: User) -> dict[str, bool]:
        return features_for_user(user)
