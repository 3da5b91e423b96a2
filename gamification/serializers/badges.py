"""Badge payloads (SPEC §5): badge progress, a friend's achieved badges, unseen counts."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from gamification.models import AwardMechanism, Badge
from gamification.services.badge_icons import BUNDLED_ICON_DIR as BUNDLED_ICON_DIR  # re-exported: the admin
from gamification.services.badge_icons import badge_icon_path
from gamification.services.badge_icons import bundled_icon_path as bundled_icon_path  # imports these from here


def badge_icon_url(badge: Badge, request: Request | None) -> str | None:
    """Absolute URL of a badge's icon: the staff upload when there is one, else the bundled SVG.

    Without a request (e.g. outside HTTP), the URL is site-relative. None when the badge has no
    icon at all.
    """
    path = badge_icon_path(badge)
    if path is None:
        return None
    return request.build_absolute_uri(path) if request is not None else path


class BadgeProgressSerializer(serializers.Serializer):
    """One level of an activity type, as seen by one user (a BadgeProgress)."""

    level = serializers.IntegerField()
    name = serializers.CharField()
    threshold = serializers.IntegerField()
    achieved_description = serializers.CharField()
    unachieved_description = serializers.CharField()
    icon_url = serializers.SerializerMethodField()
    achieved = serializers.BooleanField()
    achieved_at = serializers.DateTimeField(allow_null=True)
    seen = serializers.BooleanField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_icon_url(self, item) -> str | None:
        return badge_icon_url(item.badge, self.context.get("request"))


class ActivityTypeProgressSerializer(serializers.Serializer):
    """An activity type with the user's metric and every level, achieved or not."""

    code = serializers.CharField()
    name = serializers.CharField()
    award_mechanism = serializers.ChoiceField(choices=AwardMechanism.choices)
    current_value = serializers.IntegerField(min_value=0)
    next_threshold = serializers.IntegerField(allow_null=True)
    badges = BadgeProgressSerializer(many=True)


class ActivityTypeAchievedSerializer(serializers.Serializer):
    """An activity type with only the badges a user achieved in it: what a friend may see (never
    the metric value, never an unachieved level)."""

    code = serializers.CharField()
    name = serializers.CharField()
    award_mechanism = serializers.ChoiceField(choices=AwardMechanism.choices)
    badges = BadgeProgressSerializer(many=True)


class UnseenCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)


class MarkSeenOutputSerializer(serializers.Serializer):
    updated = serializers.IntegerField(min_value=0)
