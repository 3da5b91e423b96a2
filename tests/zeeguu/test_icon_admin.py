"""Staff choose, per activity type, which of the frontend's icon files the Zeeguu-compatible API
names as ``icon_name`` (Gamification → Activity types → Zeeguu frontend icon)."""

import pytest
from django.test import Client

from gamification.constants import FRONTEND_BADGE_ICON_NAMES
from gamification.models import ActivityType
from tests.admin.test_badge_admin import change_url, form_data
from tests.factories import UserFactory
from tests.zeeguu.conftest import frontend_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def icon_names_of(user, category: str) -> set:
    body = frontend_for(user).get("//my_badges").json()
    return {badge["icon_name"] for item in body if item["name"] == category for badge in item["badges"]}


def test_the_change_page_offers_the_frontends_files_or_none(admin_client):
    friends = ActivityType.objects.get(code="FRIENDS")
    form = admin_client.get(change_url(friends)).context["adminform"].form
    choices = [value for value, _label in form.fields["frontend_icon_name"].choices]
    assert choices == ["", *FRONTEND_BADGE_ICON_NAMES]
    assert form["frontend_icon_name"].value() == "friends.svg"


@pytest.mark.parametrize("chosen, answered", [("streak-days.svg", "streak-days.svg"), ("", None)])
def test_a_choice_saved_in_the_admin_is_the_icon_name_answered(admin_client, chosen, answered):
    friends = ActivityType.objects.get(code="FRIENDS")
    data = form_data(admin_client, change_url(friends))
    data["frontend_icon_name"] = chosen

    response = admin_client.post(change_url(friends), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert icon_names_of(UserFactory(), "Influencer") == {answered}


def test_a_file_the_frontend_does_not_ship_is_refused(admin_client):
    friends = ActivityType.objects.get(code="FRIENDS")
    data = form_data(admin_client, change_url(friends))
    data["frontend_icon_name"] = "unicorn.svg"

    response = admin_client.post(change_url(friends), data)

    assert response.status_code == 200
    assert "frontend_icon_name" in response.context["adminform"].form.errors
    friends.refresh_from_db()
    assert friends.frontend_icon_name == "friends.svg"
