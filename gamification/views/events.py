"""Activity ingestion API (SPEC §3): ``POST /api/events/``."""

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.serializers.badges import badge_icon_url
from gamification.serializers.events import (
    EventBatchInputSerializer,
    EventInputSerializer,
    EventsQueuedSerializer,
    EventsResultSerializer,
    events_input_validate,
)
from gamification.services.event_queue import events_enqueue
from gamification.services.events import EventsRecordResult, events_record
from gamification.views.throttles import EventsThrottle


def prefers_respond_async(request: Request) -> bool:
    """Whether the ``Prefer`` header (RFC 7240: comma-separated preferences, each maybe with
    ``;`` parameters, names case-insensitive) asks for ``respond-async``."""
    header = request.headers.get("Prefer", "")
    return any(part.split(";", 1)[0].strip().lower() == "respond-async" for part in header.split(","))


def _result_payload(result: EventsRecordResult, *, request: Request, with_usernames: bool) -> dict:
    new_badges = []
    for new in result.new_badges:
        entry = {
            "code": new.badge.activity_type.code,
            "level": new.badge.level,
            "name": new.badge.name,
            "icon_url": badge_icon_url(new.badge, request),
        }
        if with_usernames:
            entry["username"] = new.user.username
        new_badges.append(entry)
    return EventsResultSerializer(
        {"accepted": result.accepted, "duplicates": result.duplicates, "new_badges": new_badges}
    ).data


class EventsView(APIView):
    """Report learning activity: one event, or ``{"events": [...]}`` with 1 to 500 events.

    Logged-in users report their own events. An account allowed to report for others (the
    platform's service account, see ``manage.py create_service_account``) may name the ``user``
    of each event, or its ``external_user_id`` (the platform's id of the learner); anyone else
    naming another user, or any external id, gets 403 and nothing is stored. A batch is all
    or nothing: one invalid event → 400 naming its index. ``new_badges`` entries carry
    ``username`` when the request named users.

    With ``Prefer: respond-async`` the batch is validated the same way (the same 400 and 403),
    queued, and answered 202 ``{"queued": n}`` with ``Preference-Applied: respond-async``; a worker
    records it within seconds (new badges then reach the learner as unseen badges and the
    ``badge.awarded`` webhook).
    """

    throttle_classes = [EventsThrottle]

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="EventsInput",
            serializers=[EventInputSerializer, EventBatchInputSerializer],
            resource_type_field_name=None,
        ),
        responses={
            201: EventsResultSerializer,
            202: OpenApiResponse(EventsQueuedSerializer, description="With Prefer: respond-async: queued."),
            400: OpenApiResponse(description="Invalid event(s); nothing stored."),
            401: OpenApiResponse(description="Not logged in."),
            403: OpenApiResponse(description="An event names another user; nothing stored."),
            429: OpenApiResponse(description="Rate-limited (EventsThrottle); nothing stored."),
        },
        summary="Report learning activity",
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        events, _ = events_input_validate(reporter=request.user, data=request.data)
        if prefers_respond_async(request):
            return self._queue(request, events)
        result = events_record(reporter=request.user, events=events)
        named_users = any(event.get("user") is not None for event in events)
        return Response(
            _result_payload(result, request=request, with_usernames=named_users), status=status.HTTP_201_CREATED
        )

    # Queued ingestion (SPEC §15): the same validation, then a queue row instead of the records.
    def _queue(self, request: Request, events: list[dict]) -> Response:
        batch = events_enqueue(reporter=request.user, events=events)
        return Response(
            EventsQueuedSerializer({"queued": batch.event_count}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Preference-Applied": "respond-async"},
        )
