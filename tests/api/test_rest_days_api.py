"""``/api/me/rest-days/``: booking rest days in advance, listing and cancelling them."""

import datetime as dt

import pytest
import time_machine

from gamification.models import RestDay
from tests.conftest import client_for
from tests.factories import UserFactory

URL = "/api/me/rest-days/"
NOW = dt.datetime(2025, 5, 10, 12, 0, tzinfo=dt.UTC)


def post(client, start: str, end: str, now: dt.datetime = NOW):
    with time_machine.travel(now, tick=False):
        return client.post(URL, {"start": start, "end": end}, format="json")


@pytest.mark.django_db
class TestBooking:
    def test_anonymous_is_401(self, api_client):
        assert api_client.get(URL).status_code == 401
        assert api_client.post(URL, {}, format="json").status_code == 401

    def test_booking_from_tomorrow_is_201(self, user, auth_client):
        response = post(auth_client, "2025-05-11", "2025-05-13")

        assert response.status_code == 201
        body = response.json()
        assert body == {"id": body["id"], "start": "2025-05-11", "end": "2025-05-13"}
        assert RestDay.objects.get(pk=body["id"]).user == user

    @pytest.mark.parametrize("start", ["2025-05-10", "2025-05-09"])
    def test_today_or_earlier_is_400(self, auth_client, start):
        response = post(auth_client, start, "2025-05-12")

        assert response.status_code == 400
        assert "start" in response.json()
        assert not RestDay.objects.exists()

    def test_tomorrow_is_the_users_local_tomorrow(self):
        user = UserFactory(timezone="Pacific/Kiritimati")  # already 11 May, 02:00
        client = client_for(user)

        assert post(client, "2025-05-11", "2025-05-11").status_code == 400
        assert post(client, "2025-05-12", "2025-05-12").status_code == 201

    def test_end_before_start_is_400(self, auth_client):
        response = post(auth_client, "2025-05-13", "2025-05-12")

        assert response.status_code == 400
        assert "end" in response.json()

    @pytest.mark.parametrize(
        "body", [{}, {"start": "2025-05-12"}, {"start": "12/05/2025", "end": "2025-05-13"}, {"start": 5, "end": None}]
    )
    def test_missing_or_malformed_dates_are_400_with_field_errors(self, auth_client, body):
        with time_machine.travel(NOW, tick=False):
            response = auth_client.post(URL, body, format="json")

        assert response.status_code == 400
        assert set(response.json()) <= {"start", "end"}

    def test_a_body_that_is_not_an_object_is_400(self, auth_client):
        assert auth_client.post(URL, [1, 2], format="json").status_code == 400

    def test_14_rest_days_in_a_month_are_allowed_and_the_15th_is_400(self, auth_client):
        assert post(auth_client, "2025-06-01", "2025-06-10").status_code == 201
        assert post(auth_client, "2025-06-20", "2025-06-23").status_code == 201

        response = post(auth_client, "2025-06-25", "2025-06-25")

        assert response.status_code == 400
        assert "end" in response.json()
        assert RestDay.objects.count() == 2

    def test_one_booking_of_15_days_in_a_month_is_400(self, auth_client):
        assert post(auth_client, "2025-06-01", "2025-06-15").status_code == 400

    def test_the_limit_counts_each_calendar_month_apart(self, auth_client):
        # 18 June .. 13 July: 13 days in June, 13 in July.
        assert post(auth_client, "2025-06-18", "2025-07-13").status_code == 201
        assert post(auth_client, "2025-07-20", "2025-07-20").status_code == 201
        assert post(auth_client, "2025-07-22", "2025-07-22").status_code == 400

    def test_an_overlap_is_409(self, auth_client):
        assert post(auth_client, "2025-05-12", "2025-05-14").status_code == 201

        for start, end in (("2025-05-14", "2025-05-15"), ("2025-05-11", "2025-05-12"), ("2025-05-13", "2025-05-13")):
            assert post(auth_client, start, end).status_code == 409
        assert post(auth_client, "2025-05-15", "2025-05-15").status_code == 201

    def test_other_users_bookings_never_overlap_mine(self, auth_client):
        RestDay.objects.create(user=UserFactory(), start=dt.date(2025, 5, 12), end=dt.date(2025, 5, 14))

        assert post(auth_client, "2025-05-12", "2025-05-14").status_code == 201

    def test_more_than_a_year_ahead_is_400(self, auth_client):
        assert post(auth_client, "2026-05-12", "2026-05-12").status_code == 400


@pytest.mark.django_db
class TestListAndCancel:
    def test_lists_mine_by_start_in_two_queries(self, user, auth_client, django_assert_max_num_queries):
        RestDay.objects.create(user=user, start=dt.date(2025, 7, 1), end=dt.date(2025, 7, 2))
        RestDay.objects.create(user=user, start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 1))
        RestDay.objects.create(user=UserFactory(), start=dt.date(2025, 6, 5), end=dt.date(2025, 6, 5))

        with django_assert_max_num_queries(2):  # the token, the bookings
            response = auth_client.get(URL)

        assert response.status_code == 200
        assert [(row["start"], row["end"]) for row in response.json()] == [
            ("2025-06-01", "2025-06-01"),
            ("2025-07-01", "2025-07-02"),
        ]

    def test_cancelling_one_that_has_not_started_is_204(self, user, auth_client):
        booking = RestDay.objects.create(user=user, start=dt.date(2025, 5, 11), end=dt.date(2025, 5, 12))

        with time_machine.travel(NOW, tick=False):
            response = auth_client.delete(f"{URL}{booking.pk}/")

        assert response.status_code == 204
        assert not RestDay.objects.exists()

    def test_cancelling_one_that_started_is_400(self, user, auth_client):
        booking = RestDay.objects.create(user=user, start=dt.date(2025, 5, 10), end=dt.date(2025, 5, 12))

        with time_machine.travel(NOW, tick=False):
            response = auth_client.delete(f"{URL}{booking.pk}/")

        assert response.status_code == 400
        assert "detail" in response.json()
        assert RestDay.objects.exists()

    def test_someone_elses_or_an_unknown_booking_is_404(self, auth_client):
        other = RestDay.objects.create(user=UserFactory(), start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 1))

        with time_machine.travel(NOW, tick=False):
            assert auth_client.delete(f"{URL}{other.pk}/").status_code == 404
            assert auth_client.delete(f"{URL}999999/").status_code == 404
        assert RestDay.objects.filter(pk=other.pk).exists()


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_8_threads_booking_overlapping_rest_days_at_once_store_one():
    from gamification.exceptions import ConflictError
    from gamification.services.rest_days import rest_day_book
    from tests.threads import run_in_threads

    user = UserFactory()

    def book(index: int) -> None:
        start = dt.date(2025, 6, 1 + index % 2)  # 1 or 2 June, each for 3 days: all overlap
        with time_machine.travel(NOW, tick=False):
            rest_day_book(user=user, start=start, end=start + dt.timedelta(days=2))

    errors = run_in_threads(8, book)

    assert RestDay.objects.filter(user=user).count() == 1
    assert len(errors) == 7 and all(isinstance(error, ConflictError) for error in errors)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_threads_booking_separate_days_at_once_never_pass_the_monthly_limit():
    from django.core.exceptions import ValidationError

    from gamification.services.rest_days import rest_day_book
    from tests.threads import run_in_threads

    user = UserFactory()

    def book(index: int) -> None:  # 8 bookings of 2 days in June: only 7 fit in 14
        start = dt.date(2025, 6, 1 + 3 * index)
        with time_machine.travel(NOW, tick=False):
            rest_day_book(user=user, start=start, end=start + dt.timedelta(days=1))

    errors = run_in_threads(8, book)

    assert RestDay.objects.filter(user=user).count() == 7
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
