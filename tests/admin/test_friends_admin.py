"""Admin pages for friendships and friend requests (SPEC §7)."""

import pytest
from django.utils import timezone

from gamification.models import FriendRequest, Friendship, UserBadge, UserMetric
from gamification.services.friends import friend_request_accept, friend_request_send
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def befriend(a, b) -> Friendship:
    request = friend_request_send(sender=a, receiver_username=b.username)
    return friend_request_accept(request_id=request.pk, acting_user=b).friendship


class TestFriendships:
    def test_list_is_searchable_by_either_username(self, staff_client):
        make_friends(UserFactory(username="lowside_lynx"), UserFactory(username="highside_hare"))
        make_friends(UserFactory(username="other_one"), UserFactory(username="other_two"))

        for term in ("lowside", "HIGHSIDE"):
            page = staff_client.get("/admin/gamification/friendship/", {"q": term})
            assert page.status_code == 200
            assert page.context["cl"].result_count == 1

    def test_list_filters_active_and_ended(self, staff_client):
        active = make_friends(UserFactory(), UserFactory())
        ended = make_friends(UserFactory(), UserFactory())
        Friendship.objects.filter(pk=ended.pk).update(active=None, ended_at=timezone.now())

        active_page = staff_client.get("/admin/gamification/friendship/", {"status": "active"})
        ended_page = staff_client.get("/admin/gamification/friendship/", {"status": "ended"})

        assert [f.pk for f in active_page.context["cl"].result_list] == [active.pk]
        assert [f.pk for f in ended_page.context["cl"].result_list] == [ended.pk]

    def test_friendships_are_read_only(self, staff_client):
        friendship = make_friends(UserFactory(), UserFactory())

        change = staff_client.get(f"/admin/gamification/friendship/{friendship.pk}/change/")
        post = staff_client.post(
            f"/admin/gamification/friendship/{friendship.pk}/change/", {"streak_length": 99, "created_at": "x"}
        )

        assert change.status_code == 200
        assert not change.context["has_change_permission"]
        assert post.status_code == 403
        assert staff_client.get("/admin/gamification/friendship/add/").status_code == 403
        assert staff_client.get(f"/admin/gamification/friendship/{friendship.pk}/delete/").status_code == 403
        friendship.refresh_from_db()
        assert friendship.streak_length == 0

    def test_end_action_goes_through_the_service(self, staff_client):
        a, b = UserFactory(), UserFactory()
        friendship = befriend(a, b)

        response = staff_client.post(
            "/admin/gamification/friendship/",
            {"action": "end_friendships", "_selected_action": [friendship.pk]},
        )

        assert response.status_code == 302
        friendship.refresh_from_db()
        assert friendship.active is None and friendship.ended_at is not None
        for user in (a, b):
            assert UserMetric.objects.get(user=user, activity_type__code="FRIENDS").value == 0
            assert UserBadge.objects.filter(user=user, badge__activity_type__code="FRIENDS").count() == 1

    def test_end_action_skips_friendships_already_ended(self, staff_client):
        ended = make_friends(UserFactory(), UserFactory())
        Friendship.objects.filter(pk=ended.pk).update(active=None, ended_at=timezone.now())

        response = staff_client.post(
            "/admin/gamification/friendship/",
            {"action": "end_friendships", "_selected_action": [ended.pk]},
            follow=True,
        )

        assert response.status_code == 200
        assert "Ended 0 friendship(s)." in response.content.decode()


class TestFriendRequests:
    def test_list_is_searchable_by_sender_or_receiver(self, staff_client):
        make_friend_request(UserFactory(username="sender_seal"), UserFactory(username="receiver_ray"))
        make_friend_request(UserFactory(username="x1"), UserFactory(username="x2"))

        for term in ("sender_seal", "RECEIVER"):
            page = staff_client.get("/admin/gamification/friendrequest/", {"q": term})
            assert page.status_code == 200
            assert page.context["cl"].result_count == 1

    def test_requests_cannot_be_added_or_edited_but_may_be_deleted(self, staff_client):
        request = make_friend_request(UserFactory(), UserFactory())

        assert staff_client.get("/admin/gamification/friendrequest/add/").status_code == 403
        change = staff_client.get(f"/admin/gamification/friendrequest/{request.pk}/change/")
        assert change.status_code == 200 and not change.context["has_change_permission"]
        deleted = staff_client.post(f"/admin/gamification/friendrequest/{request.pk}/delete/", {"post": "yes"})

        assert deleted.status_code == 302
        assert not FriendRequest.objects.exists()
