import pytest

from gamification.models import User
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_staff_create_an_account_by_email_and_get_a_generated_username(staff_client):
    response = staff_client.post(
        "/admin/gamification/user/add/",
        {
            "email": "Added@Example.com",
            "name": "Added",
            "usable_password": "true",
            "password1": "violet-Harbour-2931",
            "password2": "violet-Harbour-2931",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="added@example.com")
    assert user.username and user.check_password("violet-Harbour-2931")


def test_changing_a_username_to_one_taken_ignoring_case_is_refused(staff_client):
    UserFactory(username="Taken")
    target = UserFactory(username="target")
    page = staff_client.get(f"/admin/gamification/user/{target.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update({"username": "TAKEN", "groups": [], "user_permissions": []})
    data["created_at_0"], data["created_at_1"] = "2026-01-01", "10:00:00"
    response = staff_client.post(f"/admin/gamification/user/{target.pk}/change/", data)
    assert response.status_code == 200
    assert "This username is taken." in response.content.decode()
    target.refresh_from_db()
    assert target.username == "target"


def test_user_list_is_searchable_by_username(staff_client):
    UserFactory(username="findable_fox")
    response = staff_client.get("/admin/gamification/user/?q=findable")
    assert response.status_code == 200
    assert "findable_fox" in response.content.decode()
