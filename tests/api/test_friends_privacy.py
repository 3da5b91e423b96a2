"""Privacy (SPEC §1.1, §6.2): who sees which per-user endpoint, and no email in any response of
the social graph."""

import pytest
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from gamification.models import FriendRequest, User
from gamification.services.friends import friendship_end_pair
from tests.conftest import client_for
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db

PUBLIC = "/api/users/{}/"
PRIVATE = ["/api/users/{}/friends/", "/api/users/{}/badges/", "/api/users/{}/streaks/"]
PER_USER = [PUBLIC, *PRIVATE]


def require_route(template: str) -> None:
    """Endpoints of other areas are checked once they exist."""
    try:
        resolve(template.format("someone"))
    except Resolver404:
        pytest.skip(f"{template} is not routed yet")


@pytest.fixture
def cast():
    target = UserFactory(username="target", email="target@example.com")
    friend = UserFactory(username="friend", email="friend@example.com")
    former = UserFactory(username="former", email="former@example.com")
    stranger = UserFactory(username="stranger", email="stranger@example.com")
    asker = UserFactory(username="asker", email="asker@example.com")
    make_friends(target, friend)
    make_friends(target, former)
    friendship_end_pair(user_id=target.pk, friend_id=former.pk)
    make_friend_request(asker, target)
    return {"target": target, "friend": friend, "former": former, "stranger": stranger, "asker": asker}


@pytest.mark.parametrize("template", PER_USER)
@pytest.mark.parametrize(
    "viewer,private_status",
    [("target", 200), ("friend", 200), ("former", 403), ("stranger", 403), ("asker", 403)],
)
def test_who_may_see_what(cast, template, viewer, private_status):
    require_route(template)
    expected = 200 if template == PUBLIC else private_status

    response = client_for(cast[viewer]).get(template.format("target"))

    assert response.status_code == expected, response.content[:300]
    if expected == 403:
        assert "detail" in response.json()
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("template", PER_USER)
def test_usernames_in_urls_ignore_case(cast, template):
    require_route(template)

    response = client_for(cast["friend"]).get(template.format("TARGET"))

    assert response.status_code == 200


@pytest.mark.parametrize("template", PER_USER)
def test_anonymous_is_401(cast, template):
    require_route(template)

    response = APIClient().get(template.format("target"))

    assert response.status_code == 401


@pytest.mark.parametrize("template", PER_USER)
@pytest.mark.parametrize("who", ["target", "stranger"])
def test_unknown_username_is_404_for_everyone(cast, template, who):
    require_route(template)

    response = client_for(cast[who]).get(template.format("no_such_user"))

    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_former_friends_friends_list_shows_no_trace_of_them(cast):
    body = client_for(cast["target"]).get("/api/users/target/friends/").json()

    assert [item["username"] for item in body] == ["friend"]


def test_a_friend_of_a_friend_is_not_a_friend(cast):
    other = UserFactory(username="fof")
    make_friends(other, cast["friend"])

    assert client_for(other).get("/api/users/target/friends/").status_code == 403


def test_no_email_in_any_social_graph_response(cast):
    """Crawl every endpoint of the social graph as several users, with friendships, history and
    requests in place, and look for any '@' (and any email) in the bodies."""
    target, friend, former, stranger, asker = (cast[k] for k in ("target", "friend", "former", "stranger", "asker"))
    # Display names that look like the targets of a search.
    User.objects.filter(pk=stranger.pk).update(name="Stranger Danger")
    bodies: list[tuple[str, int, str]] = []

    def call(user, method: str, url: str, data=None) -> dict | list | None:
        client = client_for(user)
        response = getattr(client, method)(url, data, format="json") if data else getattr(client, method)(url)
        bodies.append((f"{method.upper()} {url}", response.status_code, response.content.decode()))
        assert response.status_code < 500, (url, response.status_code)
        return response.json() if response.content else None

    for viewer in (target, friend, former, stranger, asker):
        call(viewer, "get", "/api/friends/")
        call(viewer, "get", "/api/friend-requests/")
        call(viewer, "get", "/api/friend-requests/?direction=sent")
        call(viewer, "get", "/api/friend-requests/count/")
        for term in ("t", "e", "r", "a", "example.com", "@", "target@example.com", "stranger danger"):
            call(viewer, "get", f"/api/users/?search={term}")
        for username in ("target", "friend", "former", "stranger", "asker"):
            call(viewer, "get", f"/api/users/{username}/")
            call(viewer, "get", f"/api/users/{username}/friends/")

    created = call(stranger, "post", "/api/friend-requests/", {"receiver": "target"})
    call(stranger, "post", "/api/friend-requests/", {"receiver": "target"})  # 409
    call(former, "post", "/api/friend-requests/", {"receiver": "nobody"})  # 404
    call(target, "get", "/api/friend-requests/")
    call(stranger, "get", "/api/friend-requests/?direction=sent")
    call(target, "post", f"/api/friend-requests/{created['id']}/accept/")
    asker_request = FriendRequest.objects.get(sender=asker)
    call(target, "post", f"/api/friend-requests/{asker_request.pk}/reject/")
    again = call(asker, "post", "/api/friend-requests/", {"receiver": "target"})
    call(asker, "delete", f"/api/friend-requests/{again['id']}/")
    call(target, "get", "/api/friends/")
    call(target, "delete", "/api/friends/stranger/")
    call(target, "delete", "/api/friends/stranger/")  # 404

    emails = list(User.objects.values_list("email", flat=True))
    statuses = {status for _, status, _ in bodies}
    assert {200, 201, 204, 403, 404, 409} <= statuses
    for where, _status, body in bodies:
        assert "@" not in body, where
        for email in emails:
            assert email not in body, where
