"""Badge payloads (SPEC §5): badge progress, a friend's achieved badges, unseen counts."""

from collections.abc import Iterable

from django.core.signals import setting_changed
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from gamification.models import AwardMechanism, Badge
from gamification.serializers.fields import datetime_out
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


# Hand-built output of the badge lists (see serializers.fields): the same dicts as
# ActivityTypeProgressSerializer / ActivityTypeAchievedSerializer, without DRF's per-field calls.
# Icon paths are remembered per process by (bundled icon, uploaded file name): the static
# manifest and the media URL do not change while a process runs (and settings changes clear it).

_ICON_PATHS: dict[tuple[str, str], str | None] = {}
_ICON_PATHS_MAX = 4096


def _icon_path(badge: Badge) -> str | None:
    key = (badge.icon, badge.icon_upload.name or "")
    try:
        return _ICON_PATHS[key]
    except KeyError:
        pass
    if len(_ICON_PATHS) >= _ICON_PATHS_MAX:
        _ICON_PATHS.clear()
    path = _ICON_PATHS[key] = badge_icon_path(badge)
    return path


def _forget_icon_paths(**kwargs) -> None:
    _ICON_PATHS.clear()


setting_changed.connect(_forget_icon_paths, dispatch_uid="badge_icon_paths_forget")


class _IconUrls:
    """Absolute icon URLs for one request (``request.build_absolute_uri`` once per icon path)."""

    def __init__(self, request: Request | None) -> None:
        self.request = request
        self.urls: dict[str, str] = {}

    def __call__(self, badge: Badge) -> str | None:
        path = _icon_path(badge)
        if path is None or self.request is None:
            return path
        url = self.urls.get(path)
        if url is None:
            url = self.urls[path] = self.request.build_absolute_uri(path)
        return url


def _levels_out(items: Iterable, icon_url: _IconUrls) -> list[dict]:
    return [
        {
            "level": item.badge.level,
            "name": item.badge.name,
            "threshold": item.badge.threshold,
            "achieved_description": item.badge.achieved_description,
            "unachieved_description": item.badge.unachieved_description,
            "icon_url": icon_url(item.badge),
            "achieved": item.achieved_at is not None,
            "achieved_at": datetime_out(item.achieved_at),
            "seen": item.seen,
        }
        for item in items
    ]


def badge_progress_out(progress: Iterable, request: Request | None) -> list[dict]:
    """``ActivityTypeProgressSerializer(progress, many=True).data`` as plain dicts."""
    icon_url = _IconUrls(request)
    return [
        {
            "code": item.code,
            "name": item.name,
            "award_mechanism": item.award_mechanism,
            "current_value": item.current_value,
            "next_threshold": item.next_threshold,
            "badges": _levels_out(item.badges, icon_url),
        }
        for item in progress
    ]


def badges_achieved_out(progress: Iterable, request: Request | None) -> list[dict]:
    """``ActivityTypeAchievedSerializer(progress, many=True).data`` as plain dicts."""
    icon_url = _IconUrls(request)
    return [
        {
            "code": item.code,
            "name": item.name,
            "award_mechanism": item.award_mechanism,
            "badges": _levels_out(item.badges, icon_url),
        }
        for item in progress
    ]
