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


class ActivityEntrySerializer(serializers.Serializer):
    """An activity-log entry; the fields after ``language`` are those of its ``type`` only."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    language = serializers.CharField(help_text="ISO 639-1 code.")
    word = serializers.CharField(required=False, help_text="word_translated, word_learned.")
    correct = serializers.BooleanField(required=False, help_text="exercise_answered.")
    lesson_id = serializers.CharField(required=False, help_text="audio_lesson_completed.")
    article_id = serializers.CharField(required=False, help_text="article_read.")
    kind = serializers.CharField(required=False, help_text="practice.")
    duration_seconds = serializers.IntegerField(required=False, help_text="practice.")

    def to_representation(self, instance: ActivityEvent) -> dict:
        return activity_entry(instance)
