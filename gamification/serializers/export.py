"""``GET /api/me/export/``: everything this service holds about a user, as one JSON document
written piece by piece (the activity log in chunks), so that memory does not grow with it.

Sections, in order: ``profile`` (the ``Me`` payload), ``friends``, ``friend_requests``
(``received`` and ``sent``), ``badges``, ``metrics``, ``streaks``, ``rest_days``,
``classrooms``, ``activity`` (newest first). Each is a fixed number of queries; the activity log
one query per 2,000 events.
"""

import json
from collections.abc import Callable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from gamification.constants import BLOCKS_MAX
from gamification.models import User, UserBadge, UserMetric
from gamification.selectors.activity import activity_chunks
from gamification.selectors.classrooms import classrooms_of_user
from gamification.selectors.friends import friend_list, friend_requests_received, friend_requests_sent
from gamification.selectors.relationships import blocks_made_by, privacy_settings_of
from gamification.selectors.streaks import rest_days_of_user, streaks_of_user
from gamification.serializers.activity import activity_entry
from gamification.serializers.classrooms import ClassroomSerializer
from gamification.serializers.friends import FriendRequestSerializer, FriendSerializer
from gamification.serializers.rest_days import RestDaySerializer
from gamification.serializers.safety import BlockSerializer, PrivacySettingsSerializer
from gamification.serializers.streaks import LanguageStreakSerializer

ACTIVITY_CHUNK = 2000


def _dumps(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _badges(user: User) -> list[dict]:
    rows = (
        UserBadge.objects.filter(user_id=user.pk).select_related("badge__activity_type").order_by("achieved_at", "pk")
    )
    return [
        {
            "code": row.badge.activity_type.code,
            "level": row.badge.level,
            "name": row.badge.name,
            "achieved_at": row.achieved_at,
            "seen_at": row.seen_at,
        }
        for row in rows
    ]


def _metrics(user: User) -> dict[str, int]:
    rows = UserMetric.objects.filter(user_id=user.pk).values_list("activity_type__code", "value")
    return dict(sorted(rows))


def export_sections(*, user: User, profile: dict) -> list[tuple[str, Callable[[], object]]]:
    """The sections before the activity log, each computed only when written."""
    return [
        ("profile", lambda: profile),
        ("friends", lambda: FriendSerializer(friend_list(user=user), many=True).data),
        (
            "friend_requests",
            lambda: {
                "received": FriendRequestSerializer(friend_requests_received(user=user), many=True).data,
                "sent": FriendRequestSerializer(friend_requests_sent(user=user), many=True).data,
            },
        ),
        ("badges", lambda: _badges(user)),
        ("metrics", lambda: _metrics(user)),
        ("streaks", lambda: LanguageStreakSerializer(streaks_of_user(user=user), many=True).data),
        ("rest_days", lambda: RestDaySerializer(rest_days_of_user(user=user), many=True).data),
        ("classrooms", lambda: ClassroomSerializer(classrooms_of_user(user=user), many=True).data),
        ("privacy", lambda: PrivacySettingsSerializer(privacy_settings_of(user_id=user.pk)).data),
        ("blocks", lambda: BlockSerializer(blocks_made_by(user_id=user.pk)[:BLOCKS_MAX], many=True).data),
    ]


def export_document(*, user: User, profile: dict) -> Iterator[str]:
    """The export as JSON text, in pieces: each section, then the activity log a chunk at a
    time."""
    yield "{"
    for name, build in export_sections(user=user, profile=profile):
        yield f"{_dumps(name)}:{_dumps(build())},"
    yield '"activity":['
    first = True
    for chunk in activity_chunks(user=user, size=ACTIVITY_CHUNK):
        text = ",".join(_dumps(activity_entry(event)) for event in chunk)
        yield text if first else "," + text
        first = False
    yield "]}"
