"""Classroom requests and responses (SPEC §5)."""

from rest_framework import serializers

from gamification.models import ClassroomRole
from gamification.serializers.fields import StrictBooleanField


class ClassroomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    language = serializers.CharField(help_text="ISO 639-1 code of the language taught.")
    role = serializers.ChoiceField(choices=ClassroomRole.choices, help_text="The caller's role in it.")
    leaderboard_enabled = serializers.BooleanField()
    student_count = serializers.IntegerField()


class ClassroomJoinInputSerializer(serializers.Serializer):
    invite_code = serializers.CharField(max_length=64, help_text="Matched ignoring case and whitespace.")


class ClassroomUpdateInputSerializer(serializers.Serializer):
    leaderboard_enabled = StrictBooleanField()
