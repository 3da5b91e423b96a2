"""Admin: blocks read-only and searchable by either username; privacy settings on the user page."""

import pytest

from gamification.models import Block
from gamification.services.blocks import block_create
from gamification.services.privacy import privacy_settings_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_blocks_are_searchable_by_either_username(staff_client):
    block_create(blocker=UserFactory(username="blocker_lynx"), username=UserFactory(username="blocked_hare").username)
    block_create(blocker=UserFactory(username="other_one"), username=UserFactory(username="other_two").username)

    for term in ("blocker_l", "BLOCKED_H"):
        page = staff_client.get("/admin/gamification/block/", {"q": term})
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1
    assert staff_client.get("/admin/gamification/block/").context["cl"].result_count == 2


def test_blocks_are_read_only(staff_client):
    block = block_create(blocker=UserFactory(), username=UserFactory().username)

    view = staff_client.get(f"/admin/gamification/block/{block.pk}/change/")
    edit = staff_client.post(f"/admin/gamification/block/{block.pk}/change/", {"blocker": block.blocked_id})
    delete = staff_client.post(f"/admin/gamification/block/{block.pk}/delete/", {"post": "yes"})
    add = staff_client.get("/admin/gamification/block/add/")
    bulk = staff_client.post(
        "/admin/gamification/block/", {"action": "delete_selected", "_selected_action": [block.pk], "post": "yes"}
    )

    assert view.status_code == 200
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert bulk.status_code in (200, 302)
    assert Block.objects.filter(pk=block.pk, blocker_id=block.blocker_id).exists()


def test_the_user_page_shows_privacy_settings(staff_client):
    learner = UserFactory()
    default_page = staff_client.get(f"/admin/gamification/user/{learner.pk}/change/").content.decode()
    privacy_settings_update(user=learner, progress_visible_to="nobody", discoverable=False, on_leaderboards=False)

    page = staff_client.get(f"/admin/gamification/user/{learner.pk}/change/").content.decode()

    assert "Privacy settings" in page
    assert "visible to: <strong>friends</strong>" in default_page
    assert "visible to: <strong>nobody</strong>" in page
    assert "by exact username only" in page
    assert "no (teachers still see them)" in page


def test_blocks_are_listed_in_the_learners_section(staff_client):
    page = staff_client.get("/admin/")

    learners = next(app for app in page.context["app_list"] if app["name"] == "Learners")
    assert "Block" in [model["object_name"] for model in learners["models"]]
