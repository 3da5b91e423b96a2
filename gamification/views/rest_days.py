"""My rest days: ``/api/me/rest-days/``. Logged-in users, for themselves only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from gamification.selectors.streaks import rest_days_of_user
from gamification.serializers.rest_days import RestDayInputSerializer, RestDaySerializer
from gamification.services.rest_days import rest_day_book, rest_day_cancel
from gamification.views.inputs import validated_body


@extend_schema(tags=["streaks"])
@extend_schema_view(
    list=extend_schema(summary="My rest-day bookings, by start", responses={200: RestDaySerializer(many=True)}),
    create=extend_schema(
        summary="Book rest days in advance",
        request=RestDayInputSerializer,
        responses={
            201: RestDaySerializer,
            400: OpenApiResponse(
                description="Bad dates, not from tomorrow on, too far ahead, or more than 14 rest days in a month."
            ),
            409: OpenApiResponse(description="Overlaps another of my bookings."),
        },
    ),
    destroy=extend_schema(
        summary="Cancel a booking that has not started",
        parameters=[OpenApiParameter("rest_day_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            204: None,
            400: OpenApiResponse(description="The booking has started."),
            404: OpenApiResponse(description="No such booking of mine."),
        },
    ),
)
class RestDayViewSet(viewsets.GenericViewSet):
    """Rest days: on a rest day none of my streaks breaks and nothing is added to them, and my
    friend streaks stand still. Logged-in users, their own bookings only."""

    serializer_class = RestDaySerializer
    lookup_url_kwarg = "rest_day_id"
    lookup_value_regex = r"\d+"

    def list(self, request: Request) -> Response:
        return Response(RestDaySerializer(rest_days_of_user(user=request.user), many=True).data)

    def create(self, request: Request) -> Response:
        data = validated_body(RestDayInputSerializer, request)
        booking = rest_day_book(user=request.user, start=data["start"], end=data["end"])
        return Response(RestDaySerializer(booking).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, rest_day_id: str) -> Response:
        rest_day_cancel(user=request.user, rest_day_id=int(rest_day_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
