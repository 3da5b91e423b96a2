"""Rest days on the user's admin page: visible, editable by staff, validated, and saving them
rebuilds the learner's streaks."""

import datetime as dt

import pytest
import time_machine

from gamification.models import LanguageStreak, RestDay
from tests.factories import UserFactory
from tests.services.test_streaks import at, practise

PREFIX = "rest_days"


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def change_data(page, rows: list[tuple[str, str]], existing: list[RestDay] = ()) -> dict:
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update({"groups": [], "user_permissions": []})
    data.update(
        {
            f"{PREFIX}-TOTAL_FORMS": str(len(rows)),
            f"{PREFIX}-INITIAL_FORMS": str(len(existing)),
            f"{PREFIX}-MIN_NUM_FORMS": "0",
            f"{PREFIX}-MAX_NUM_FORMS": "1000",
        }
    )
    for index, (start, end) in enumerate(rows):
        data[f"{PREFIX}-{index}-start"] = start
        data[f"{PREFIX}-{index}-end"] = end
        if index < len(existing):
            data[f"{PREFIX}-{index}-id"] = str(existing[index].pk)
    return {key: value for key, value in data.items() if value is not None}


def test_the_user_page_lists_the_rest_days(staff_client):
    learner = UserFactory()
    RestDay.objects.create(user=learner, start=dt.date(2031, 3, 1), end=dt.date(2031, 3, 4))

    page = staff_client.get(f"/admin/gamification/user/{learner.pk}/change/")

    assert page.status_code == 200
    assert b"rest days" in page.content.lower()
    assert b"2031-03-01" in page.content


def test_staff_adding_a_past_rest_day_rebuilds_the_streak(staff_client):
    learner = UserFactory()
    for day in (1, 2, 4):  # 3 May missed, no freeze: the streak broke
        practise(learner, at("UTC", 2025, 5, day))
    assert LanguageStreak.objects.get(user=learner).length == 1
    url = f"/admin/gamification/user/{learner.pk}/change/"

    with time_machine.travel(at("UTC", 2025, 5, 4, 20), tick=False):
        page = staff_client.get(url)
        response = staff_client.post(url, change_data(page, [("2025-05-03", "2025-05-03")]))

    assert response.status_code == 302, response.content[:3000]
    assert RestDay.objects.filter(user=learner, start=dt.date(2025, 5, 3)).exists()
    assert LanguageStreak.objects.get(user=learner).length == 3


@pytest.mark.parametrize(
    "rows",
    [
        [("2031-03-05", "2031-03-01")],  # ends before it starts
        [("2031-03-01", "2031-03-05"), ("2031-03-05", "2031-03-06")],  # overlap
        [("2031-03-01", "2031-03-15")],  # 15 in one month
    ],
)
def test_staff_edits_keep_the_rules(staff_client, rows):
    learner = UserFactory()
    url = f"/admin/gamification/user/{learner.pk}/change/"
    page = staff_client.get(url)

    response = staff_client.post(url, change_data(page, rows))

    assert response.status_code == 200  # the form again, with the error
    assert not RestDay.objects.filter(user=learner).exists()
