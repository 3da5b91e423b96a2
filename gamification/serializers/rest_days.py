from rest_framework import serializers


class RestDayInputSerializer(serializers.Serializer):
    start = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="First rest day, local date YYYY-MM-DD.")
    end = serializers.DateField(
        input_formats=["%Y-%m-%d"], help_text="Last rest day (inclusive), local date YYYY-MM-DD."
    )


class RestDaySerializer(serializers.Serializer):
    """A rest-day booking: local dates ``start`` to ``end``, inclusive."""

    id = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
