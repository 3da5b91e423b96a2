from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from gamification.models import ActivityType, Badge, UserBadge, UserMetric
from gamification.selectors.catalogue import catalogue_get
from gamification.services.metrics import metric_increment
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends

BADGE_KEYS = {
    "level",
    "name",
    "threshold",
    "achieved_description",
    "unachieved_description",
    "icon_url",
    "achieved",
    "achieved_at",
    "seen",
}


def award(user, code: str, level: int, *, at=None, seen_at=None) -> UserBadge:
    badge = Badge.objects.get(activity_type__code=code, level=level)
    achieved_at = at or timezone.now()
    return UserBadge.objects.create(user=user, badge=badge, achieved_at=achieved_at, seen_at=seen_at)


def set_metric(user, code: str, value: int) -> None:
    UserMetric.objects.update_or_create(
        user=user, activity_type=ActivityType.objects.get(code=code), defaults={"value": value}
    )


def by_code(payload: list[dict]) -> dict[str, dict]:
    return {item["code"]: item for item in payload}


@pytest.mark.django_db
class TestMyBadges:
    def test_new_user_sees_every_type_and_level_unachieved(self, auth_client):
        response = auth_client.get("/api/badges/")

        assert response.status_code == 200
        body = response.json()
        assert len(body) == 9
        assert sum(len(item["badges"]) for item in body) == 37
        # No achievement yet: types in id order.
        assert [item["code"] for item in body] == list(
            ActivityType.objects.order_by("id").values_list("code", flat=True)
        )
        words = by_code(body)["TRANSLATED_WORDS"]
        assert list(words) == ["code", "name", "award_mechanism", "current_value", "next_threshold", "badges"]
        assert words["name"] == "Meaning Builder"
        assert words["award_mechanism"] == "COUNTER"
        assert words["current_value"] == 0
        assert words["next_threshold"] == 10
        assert [badge["level"] for badge in words["badges"]] == [1, 2, 3, 4, 5]
        assert [badge["threshold"] for badge in words["badges"]] == [10, 100, 500, 1000, 2500]
        assert words["badges"][0]["name"] == "Word Curious"
        assert words["badges"][4]["name"] == "Polyglot Machine"
        first = words["badges"][0]
        assert set(first) == BADGE_KEYS
        assert first["achieved"] is False
        assert first["achieved_at"] is None
        assert first["seen"] is False
        assert first["icon_url"] == "http://testserver/static/gamification/badges/translated_words_1.svg"

    def test_icon_url_is_absolute_and_served(self, auth_client):
        body = auth_client.get("/api/badges/").json()
        url = body[0]["badges"][0]["icon_url"]

        assert url.startswith("http://testserver/static/gamification/badges/")
        served = APIClient().get(url.removeprefix("http://testserver"))
        assert served.status_code == 200
        assert b"<svg" in b"".join(served.streaming_content)

    def test_current_value_and_next_threshold_follow_the_metric(self, user, auth_client):
        words = ActivityType.objects.get(code="TRANSLATED_WORDS")
        metric_increment(user=user, activity_type=words, amount=120)

        body = by_code(auth_client.get("/api/badges/").json())

        assert body["TRANSLATED_WORDS"]["current_value"] == 120
        assert body["TRANSLATED_WORDS"]["next_threshold"] == 500
        assert [badge["achieved"] for badge in body["TRANSLATED_WORDS"]["badges"]] == [True, True, False, False, False]
        assert body["CORRECT_EXERCISES"]["current_value"] == 0

    def test_next_threshold_is_null_once_every_level_is_achieved(self, user, auth_client):
        for level in range(1, 6):
            award(user, "FRIENDS", level)
        award(user, "CLASSROOM_JOINED", 1)

        body = by_code(auth_client.get("/api/badges/").json())

        assert body["FRIENDS"]["next_threshold"] is None
        assert body["CLASSROOM_JOINED"]["next_threshold"] is None
        assert body["PROFILE_CUSTOMISED"]["next_threshold"] == 1

    def test_next_threshold_is_the_lowest_missing_level_when_a_gauge_fell(self, user, auth_client):
        award(user, "STREAK_DAYS", 1)
        award(user, "STREAK_DAYS", 2)
        set_metric(user, "STREAK_DAYS", 3)

        streak = by_code(auth_client.get("/api/badges/").json())["STREAK_DAYS"]

        assert streak["current_value"] == 3
        assert streak["next_threshold"] == 90
        assert [badge["achieved"] for badge in streak["badges"]] == [True, True, False, False, False]

    def test_types_ordered_by_most_recent_achievement_then_never_achieved(self, user, auth_client):
        now = timezone.now()
        award(user, "FRIENDS", 1, at=now - timedelta(days=3))
        award(user, "READ_ARTICLES", 1, at=now - timedelta(days=5))
        award(user, "READ_ARTICLES", 2, at=now - timedelta(days=1))  # its latest: most recent overall
        award(user, "CLASSROOM_JOINED", 1, at=now - timedelta(days=2))

        codes = [item["code"] for item in auth_client.get("/api/badges/").json()]

        never = list(
            ActivityType.objects.exclude(code__in=["READ_ARTICLES", "CLASSROOM_JOINED", "FRIENDS"])
            .order_by("id")
            .values_list("code", flat=True)
        )
        assert codes == ["READ_ARTICLES", "CLASSROOM_JOINED", "FRIENDS", *never]

    def test_achievements_of_other_users_do_not_leak(self, user, auth_client):
        other = UserFactory()
        award(other, "FRIENDS", 1)
        set_metric(other, "FRIENDS", 4)

        body = by_code(auth_client.get("/api/badges/").json())

        assert body["FRIENDS"]["current_value"] == 0
        assert body["FRIENDS"]["badges"][0]["achieved"] is False

    def test_seen_flag_and_achieved_at(self, user, auth_client):
        achieved_at = timezone.now() - timedelta(hours=2)
        award(user, "LEARNED_WORDS", 1, at=achieved_at, seen_at=achieved_at + timedelta(minutes=1))
        award(user, "LEARNED_WORDS", 2, at=achieved_at)

        badges = by_code(auth_client.get("/api/badges/").json())["LEARNED_WORDS"]["badges"]

        assert badges[0]["achieved"] is True
        assert badges[0]["seen"] is True
        assert badges[0]["achieved_at"] == achieved_at.isoformat().replace("+00:00", "Z")
        assert badges[1]["achieved"] is True
        assert badges[1]["seen"] is False
        assert badges[2]["achieved"] is False
        assert badges[2]["seen"] is False

    def test_query_count_is_the_same_with_no_and_with_every_badge(self, user, auth_client, django_assert_num_queries):
        # token lookup + the user's metrics and awards with the catalogue's version token (one
        # UNION); the catalogue itself is cached per process (loaded by the first request)
        catalogue_get()
        with django_assert_num_queries(2):
            empty = auth_client.get("/api/badges/")
        assert all(not badge["achieved"] for item in empty.json() for badge in item["badges"])

        for badge in Badge.objects.all():
            UserBadge.objects.create(user=user, badge=badge, achieved_at=timezone.now())
        for activity_type in ActivityType.objects.all():
            set_metric(user, activity_type.code, 99999)

        with django_assert_num_queries(2):
            full = auth_client.get("/api/badges/")
        achieved = [badge["achieved"] for item in full.json() for badge in item["badges"]]
        assert len(achieved) == 37
        assert all(achieved)

    def test_anonymous_is_401(self, api_client):
        assert api_client.get("/api/badges/").status_code == 401
        assert api_client.get("/api/badges/unseen-count/").status_code == 401
        assert api_client.post("/api/badges/mark-seen/").status_code == 401


@pytest.mark.django_db
class TestUnseenAndMarkSeen:
    def test_unseen_count_counts_only_my_unseen_badges(self, user, auth_client):
        award(user, "FRIENDS", 1)
        award(user, "FRIENDS", 2)
        now = timezone.now()
        award(user, "FRIENDS", 3, at=now, seen_at=now)
        award(UserFactory(), "FRIENDS", 1)

        response = auth_client.get("/api/badges/unseen-count/")

        assert response.status_code == 200
        assert response.json() == {"count": 2}

    def test_mark_seen_marks_my_unseen_badges_only(self, user, auth_client, django_assert_num_queries):
        earlier = timezone.now() - timedelta(days=1)
        already = award(user, "FRIENDS", 1, at=earlier, seen_at=earlier)
        award(user, "FRIENDS", 2)
        award(user, "READ_ARTICLES", 1)
        others = award(UserFactory(), "FRIENDS", 1)

        with django_assert_num_queries(2):  # token + one UPDATE
            response = auth_client.post("/api/badges/mark-seen/")

        assert response.status_code == 200
        assert response.json() == {"updated": 2}
        assert not UserBadge.objects.filter(user=user, seen_at__isnull=True).exists()
        already.refresh_from_db()
        assert already.seen_at == earlier
        others.refresh_from_db()
        assert others.seen_at is None
        assert auth_client.get("/api/badges/unseen-count/").json() == {"count": 0}
        assert all(badge["seen"] for badge in by_code(auth_client.get("/api/badges/").json())["FRIENDS"]["badges"][:2])

    def test_mark_seen_twice_updates_nothing_the_second_time(self, user, auth_client):
        award(user, "FRIENDS", 1)

        assert auth_client.post("/api/badges/mark-seen/").json() == {"updated": 1}
        assert auth_client.post("/api/badges/mark-seen/").json() == {"updated": 0}

    def test_mark_seen_ignores_any_body(self, user, auth_client):
        award(user, "FRIENDS", 1)

        response = auth_client.post("/api/badges/mark-seen/", ["not", "an", "object"], format="json")

        assert response.status_code == 200
        assert response.json() == {"updated": 1}

    def test_badge_stamped_in_the_future_stays_unseen_until_its_time(self, user, auth_client):
        # clock skew between servers must not break seen_at >= achieved_at
        award(user, "FRIENDS", 1, at=timezone.now() + timedelta(minutes=5))

        assert auth_client.post("/api/badges/mark-seen/").json() == {"updated": 0}
        assert auth_client.get("/api/badges/unseen-count/").json() == {"count": 1}

    def test_get_on_mark_seen_is_405(self, auth_client):
        assert auth_client.get("/api/badges/mark-seen/").status_code == 405


@pytest.mark.django_db
class TestUserBadges:
    def test_friend_sees_achieved_badges_only_without_metric_values(self, user, auth_client):
        friend = UserFactory()
        make_friends(user, friend)
        now = timezone.now()
        award(friend, "TRANSLATED_WORDS", 1, at=now - timedelta(days=2))
        award(friend, "TRANSLATED_WORDS", 2, at=now - timedelta(days=2))
        award(friend, "CLASSROOM_JOINED", 1, at=now - timedelta(days=1))
        set_metric(friend, "TRANSLATED_WORDS", 987654321)
        set_metric(friend, "CORRECT_EXERCISES", 7)

        response = auth_client.get(f"/api/users/{friend.username}/badges/")

        assert response.status_code == 200
        body = response.json()
        assert [item["code"] for item in body] == ["CLASSROOM_JOINED", "TRANSLATED_WORDS"]
        for item in body:
            assert set(item) == {"code", "name", "award_mechanism", "badges"}
            assert all(set(badge) == BADGE_KEYS and badge["achieved"] for badge in item["badges"])
        assert [badge["level"] for badge in body[1]["badges"]] == [1, 2]
        assert "987654321" not in response.content.decode()
        assert "@" not in response.content.decode()

    def test_username_matches_ignoring_case(self, user, auth_client):
        friend = UserFactory(username="Casey_Jones")
        make_friends(user, friend)
        award(friend, "FRIENDS", 1)

        response = auth_client.get("/api/users/CASEY_JONES/badges/")

        assert response.status_code == 200
        assert [item["code"] for item in response.json()] == ["FRIENDS"]

    def test_self_sees_own_achieved_badges(self, user, auth_client):
        award(user, "FRIENDS", 1)

        response = auth_client.get(f"/api/users/{user.username}/badges/")

        assert response.status_code == 200
        assert [(item["code"], len(item["badges"])) for item in response.json()] == [("FRIENDS", 1)]

    def test_no_achievement_is_an_empty_list(self, user, auth_client):
        friend = UserFactory()
        make_friends(user, friend)

        response = auth_client.get(f"/api/users/{friend.username}/badges/")

        assert response.status_code == 200
        assert response.json() == []

    def test_stranger_is_403(self, auth_client):
        stranger = UserFactory()
        award(stranger, "FRIENDS", 1)

        response = auth_client.get(f"/api/users/{stranger.username}/badges/")

        assert response.status_code == 403
        assert set(response.json()) == {"detail"}

    def test_former_friend_is_403(self, user, auth_client):
        former = UserFactory()
        friendship = make_friends(user, former)
        friendship.active = None
        friendship.ended_at = timezone.now()
        friendship.save(update_fields=["active", "ended_at"])

        assert auth_client.get(f"/api/users/{former.username}/badges/").status_code == 403

    @pytest.mark.parametrize("username", ["nobody_here", "x" * 51, "a%25b", "...", "a%00b", "%F0%9F%A6%8A"])
    def test_unknown_user_is_404(self, auth_client, username):
        response = auth_client.get(f"/api/users/{username}/badges/")

        assert response.status_code == 404
        assert "detail" in response.json()

    def test_anonymous_is_401(self, api_client, user):
        assert api_client.get(f"/api/users/{user.username}/badges/").status_code == 401

    def test_query_count_does_not_grow_with_badges(self, user, auth_client, django_assert_num_queries):
        friend = UserFactory()
        make_friends(user, friend)
        award(friend, "FRIENDS", 1)
        # token, target with the friendship check, the awards with the catalogue's version token
        catalogue_get()
        with django_assert_num_queries(3):
            auth_client.get(f"/api/users/{friend.username}/badges/")

        for badge in Badge.objects.exclude(activity_type__code="FRIENDS", level=1):
            UserBadge.objects.create(user=friend, badge=badge, achieved_at=timezone.now())

        with django_assert_num_queries(3):
            response = auth_client.get(f"/api/users/{friend.username}/badges/")
        assert sum(len(item["badges"]) for item in response.json()) == 37


@pytest.mark.django_db
def test_friend_view_hides_unachieved_levels_and_values_of_the_same_type(user):
    """Regression guard: an achieved level 1 must not drag levels 2..5 or the value along."""
    friend = UserFactory()
    make_friends(user, friend)
    award(friend, "READ_ARTICLES", 1)
    set_metric(friend, "READ_ARTICLES", 24)

    body = client_for(user).get(f"/api/users/{friend.username}/badges/").json()

    assert len(body) == 1
    assert [badge["level"] for badge in body[0]["badges"]] == [1]
    assert "current_value" not in body[0]
    assert "next_threshold" not in body[0]


@pytest.mark.django_db
def test_icon_missing_from_the_production_manifest_is_null_not_a_500(user, auth_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    Badge.objects.filter(activity_type__code="FRIENDS", level=1).update(icon="no_such_icon")

    response = auth_client.get("/api/badges/")

    assert response.status_code == 200
    friends = by_code(response.json())["FRIENDS"]
    assert friends["badges"][0]["icon_url"] is None


@pytest.mark.django_db
def test_every_catalogue_badge_has_a_bundled_icon_file():
    from gamification.admin.forms import bundled_icon_names

    names = set(bundled_icon_names())

    assert set(Badge.objects.values_list("icon", flat=True)) <= names
    assert len(names) == 37
