from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.models import ActivityEvent, EventType

# The fields each event type carries besides id, type, occurred_at and language (as ingestion
# takes them): model attribute -> name in the entry.
TYPE_FIELDS: dict[str, dict[str, str]] = {
    EventType.WORD_TRANSLATED: {"word": "word"},
    EventType.EXERCISE_ANSWERED: {"correct": "correct"},
    EventType.AUDIO_LESSON_COMPLETED: {"item_id": "lesson_id"},
    EventType.WORD_LEARNED: {"word": "word"},
    EventType.ARTICLE_READ: {"item_id": "article_id"},
    EventType.PRACTICE: {"kind": "kind", "duration_seconds": "duration_seconds"},
}


def activity_entry(event: ActivityEvent) -> dict:
    """One entry of my activity log: ``{id, type, occurred_at, language, ...the type's fields}``."""
    entry = {
        "id": event.pk,
        "type": event.type,
        "occurred_at": serializers.DateTimeField().to_representation(event.occurred_at),
        "language": event.language_id,
    }
    for attribute, name in TYPE_FIELDS.get(event.type, {}).items():
        entry[name] = getattr(event, attribute)
    return entry


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "type": {"type": "string", "enum": list(EventType.values)},
            "occurred_at": {"type": "string", "format": "date-time"},
            "language": {"type": "string"},
            "word": {"type": "string"},
            "correct": {"type": "boolean"},
            "lesson_id": {"type": "string"},
            "article_id": {"type": "string"},
            "kind": {"type": "string"},
            "duration_seconds": {"type": "integer"},
        },
        "required": ["id", "type", "occurred_at", "language"],
    }
)
class ActivityEntrySerializer(serializers.BaseSerializer):
    """An activity-log entry; the fields after ``language`` depend on ``type``."""

    def to_representation(self, instance: ActivityEvent) -> dict:
        return activity_entry(instance)
