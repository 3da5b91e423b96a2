import pytest

from tests.factories import EventFactory, UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_activity_log_is_searchable_by_username_and_read_only(staff_client):
    learner = UserFactory(username="log_owner")
    event = EventFactory(user=learner, type="practice", kind="reading", duration_seconds=300)
    EventFactory(type="practice", kind="reading", duration_seconds=60)

    listing = staff_client.get("/admin/gamification/activityevent/?q=log_owner")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert "reading 300s" in listing.content.decode()

    assert staff_client.get("/admin/gamification/activityevent/add/").status_code == 403
    change = staff_client.post(f"/admin/gamification/activityevent/{event.pk}/change/", {"duration_seconds": 1})
    assert change.status_code == 403
    event.refresh_from_db()
    assert event.duration_seconds == 300
    assert (
        staff_client.post(f"/admin/gamification/activityevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    )


def test_activity_log_filters_by_type(staff_client):
    EventFactory(type="exercise_answered", correct=True)
    EventFactory(type="practice", kind="listening", duration_seconds=120)
    response = staff_client.get("/admin/gamification/activityevent/?type__exact=exercise_answered")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
