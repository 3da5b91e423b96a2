"""Rest days (streak protection): booked in advance, cancelled before they start.

A booking is the user's local dates ``start`` to ``end`` (inclusive), from the user's local
tomorrow on and at most ``REST_DAYS_BOOKING_HORIZON_DAYS`` ahead; at most
``REST_DAYS_PER_MONTH`` rest days fall in any calendar month, all bookings together; bookings of
one user never overlap (409). The checks and the insert run in one transaction holding the
user's row lock, so two bookings sent at once cannot both pass them (SQLite serialises the
writers instead).

Booking changes nothing stored about daily streaks: a rest day lies after every counted day when
it is booked, and daily streaks read rest days when a later day counts or when they are shown.
For the same reason only bookings that have not started may be cancelled. Friend streaks are
recomputed at once: a friend's rest days carry the run over them (see docs/streaks.md).
"""

import datetime as dt
from collections import Counter

from django.conf import settings
from django.core.exceptions import ValidationError

from gamification.exceptions import ConflictError, NotFoundError, ServiceError
from gamification.models import RestDay, User
from gamification.services.db import atomic_with_retry
from gamification.services.streaks import friend_streaks_refresh, streaks_rebuild
from gamification.timeutils import local_today


def _months(start: dt.date, end: dt.date) -> Counter:
    days = Counter()
    day = start
    while day <= end:
        days[(day.year, day.month)] += 1
        day += dt.timedelta(days=1)
    return days


def rest_day_book(*, user: User, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> RestDay:
    """Book the rest days ``start``..``end`` (the user's local dates, ``end`` inclusive).

    400 (field errors) when ``end`` is before ``start``, ``start`` is not after the user's local
    today, ``end`` is beyond the booking horizon, or a calendar month would hold more than
    ``REST_DAYS_PER_MONTH`` rest days; 409 when it overlaps another booking of the user.
    """
    today = local_today(user.timezone, now)
    if end < start:
        raise ValidationError({"end": ["Must not be before start."]})
    if start <= today:
        raise ValidationError(
            {"start": [f"Rest days are booked in advance: from tomorrow ({today + dt.timedelta(days=1)}) on."]}
        )
    horizon = today + dt.timedelta(days=settings.REST_DAYS_BOOKING_HORIZON_DAYS)
    if end > horizon:
        raise ValidationError({"end": [f"Rest days can be booked at most until {horizon}."]})
    wanted = _months(start, end)
    limit = settings.REST_DAYS_PER_MONTH
    if any(count > limit for count in wanted.values()):
        raise ValidationError({"end": [f"At most {limit} rest days fall in one calendar month."]})

    def run() -> RestDay:
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        month_first = start.replace(day=1)
        bookings = list(RestDay.objects.filter(user_id=user.pk, end__gte=month_first).order_by("start"))
        if any(booking.start <= end and start <= booking.end for booking in bookings):
            raise ConflictError("These dates overlap another rest-day booking.")
        booked = Counter()
        for booking in bookings:
            booked.update(_months(booking.start, booking.end))
        for month, count in wanted.items():
            if booked[month] + count > limit:
                year, number = month
                raise ValidationError(
                    {
                        "end": [
                            f"At most {limit} rest days fall in one calendar month; {year}-{number:02d} has {booked[month]}."
                        ]
                    }
                )
        booking = RestDay.objects.create(user_id=user.pk, start=start, end=end)
        friend_streaks_refresh(user=user, since=start)
        return booking

    return atomic_with_retry(run)


def rest_day_cancel(*, user: User, rest_day_id: int, now: dt.datetime | None = None) -> None:
    """Remove one of the user's bookings that has not started (404 for anyone else's or an unknown
    one; 400 once its first day has begun on the user's calendar)."""

    def run() -> None:
        booking = RestDay.objects.select_for_update().filter(pk=rest_day_id, user_id=user.pk).first()
        if booking is None:
            raise NotFoundError("No such rest-day booking.")
        if booking.start <= local_today(user.timezone, now):
            raise ServiceError("This booking has started; rest days that began cannot be cancelled.")
        booking.delete()
        friend_streaks_refresh(user=user, since=booking.start)

    atomic_with_retry(run)


def rest_days_validate(*, periods: list[tuple[dt.date, dt.date]]) -> None:
    """The rules every set of one user's bookings keeps, whoever edits them: each ends on or after
    its start, none overlap, at most ``REST_DAYS_PER_MONTH`` rest days in a calendar month.
    Raises ``ValidationError`` with a message naming the first broken rule."""
    limit = settings.REST_DAYS_PER_MONTH
    ordered = sorted(periods)
    months = Counter()
    for index, (start, end) in enumerate(ordered):
        if end < start:
            raise ValidationError(f"A booking ends ({end}) before it starts ({start}).")
        if index and ordered[index - 1][1] >= start:
            raise ValidationError(f"Bookings overlap on {start}.")
        months.update(_months(start, end))
    for (year, number), count in sorted(months.items()):
        if count > limit:
            raise ValidationError(f"{year}-{number:02d} would have {count} rest days; at most {limit}.")


def rest_days_staff_changed(*, user: User) -> None:
    """Staff edited the user's rest days in the admin, possibly on past dates: rebuild the user's
    streaks (daily and friend streaks) from the activity log and the bookings as they are now."""
    streaks_rebuild(user_id=user.pk)
