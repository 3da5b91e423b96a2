"""Badges through the Zeeguu-compatible paths (docs/zeeguu.md; behaviours of upstream's
own badge tests)."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import ActivityType, Badge, UserBadge, UserMetric
from gamification.services.metrics import metric_increment
from tests.conftest import client_for
from tests.factories import UserFactory, make_friends
from tests.zeeguu.conftest import frontend_for, message_of

pytestmark = pytest.mark.django_db

BADGE_KEYS = {
    "level",
    "name",
    "unachieved_description",
    "achieved_description",
    "description",
    "threshold",
    "icon_name",
    "achieved",
    "achieved_at",
    "is_shown",
}
FRONTEND_ICONS = {
    "Meaning Builder": "translated-words.svg",
    "Practice Builder": "correct-exercises.svg",
    "Sound Scholar": "completed-audio-lessons.svg",
    "Consistency Champion": "streak-days.svg",
    "Word Collector": "learned-words.svg",
    "Active Reader": "read-articles.svg",
    "Influencer": "friends.svg",
    "Self Portrait": None,
    "Class Act": None,
}


def award(user, code: str, level: int, *, at=None, seen_at=None) -> UserBadge:
    badge = Badge.objects.get(activity_type__code=code, level=level)
    return UserBadge.objects.create(user=user, badge=badge, achieved_at=at or timezone.now(), seen_at=seen_at)


def by_name(body: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in body}


@pytest.fixture
def me():
    return UserFactory(username="me_user")


class TestMyBadges:
    def test_every_category_with_every_level_in_ascending_order(self, me):
        response = frontend_for(me).get("//my_badges")

        assert response.status_code == 200
        body = response.json()
        assert len(body) == ActivityType.objects.count()
        for category in body:
            assert list(category) == ["name", "badges", "current_value"]
            assert category["current_value"] == 0
            assert [badge["level"] for badge in category["badges"]] == sorted(b["level"] for b in category["badges"])
            for badge in category["badges"]:
                assert set(badge) == BADGE_KEYS
                assert badge["achieved"] is False and badge["is_shown"] is False and badge["achieved_at"] is None
                assert badge["description"] == badge["achieved_description"]
        # Nothing achieved: categories in ascending id.
        assert [c["name"] for c in body] == list(ActivityType.objects.order_by("id").values_list("name", flat=True))

    def test_category_and_level_names_are_this_services(self, me):
        words = by_name(frontend_for(me).get("//my_badges").json())["Meaning Builder"]
        assert [badge["name"] for badge in words["badges"]] == [
            "Word Curious",
            "Translation Enthusiast",
            "Lexical Leader",
            "Word Wizard",
            "Polyglot Machine",
        ]
        assert [badge["threshold"] for badge in words["badges"]] == [10, 100, 500, 1000, 2500]

    def test_icon_names_are_the_frontends_files_or_null(self, me):
        body = frontend_for(me).get("//my_badges").json()
        assert {c["name"]: {b["icon_name"] for b in c["badges"]} for c in body} == {
            name: {icon} for name, icon in FRONTEND_ICONS.items()
        }

    def test_staff_choose_the_icon_of_a_type(self, me):
        ActivityType.objects.filter(code="FRIENDS").update(frontend_icon_name="")
        ActivityType.objects.filter(code="PROFILE_CUSTOMISED").update(frontend_icon_name="streak-days.svg")

        body = by_name(frontend_for(me).get("//my_badges").json())

        assert body["Influencer"]["badges"][0]["icon_name"] is None
        assert body["Self Portrait"]["badges"][0]["icon_name"] == "streak-days.svg"

    def test_progress_and_achievements(self, me):
        metric_increment(user=me, activity_type=ActivityType.objects.get(code="TRANSLATED_WORDS"), amount=120)

        words = by_name(frontend_for(me).get("//my_badges").json())["Meaning Builder"]

        assert words["current_value"] == 120
        assert [badge["achieved"] for badge in words["badges"]] == [True, True, False, False, False]
        assert [badge["is_shown"] for badge in words["badges"]] == [False] * 5
        achieved_at = dt.datetime.fromisoformat(words["badges"][0]["achieved_at"])
        assert achieved_at.utcoffset() == dt.timedelta(0)

    def test_most_recently_achieved_category_first_then_the_rest_by_id(self, me):
        now = timezone.now()
        award(me, "READ_ARTICLES", 1, at=now - dt.timedelta(days=2))
        award(me, "FRIENDS", 1, at=now - dt.timedelta(days=1))

        names = [c["name"] for c in frontend_for(me).get("//my_badges").json()]

        rest = ActivityType.objects.exclude(code__in=["READ_ARTICLES", "FRIENDS"]).order_by("id")
        assert names == ["Influencer", "Active Reader", *rest.values_list("name", flat=True)]

    def test_a_constant_number_of_queries(self, me, django_assert_num_queries):
        client = frontend_for(me)
        client.get("/validate")
        client.get("//my_badges")  # loads the catalogue into this process's cache
        # session token, the metrics and awards with the catalogue's version token (one UNION)
        with django_assert_num_queries(2):
            client.get("//my_badges")
        for code in ("TRANSLATED_WORDS", "FRIENDS", "READ_ARTICLES"):
            award(me, code, 1)
            award(me, code, 2)
        with django_assert_num_queries(2):
            client.get("//my_badges")


class TestFriendBadges:
    def test_a_friends_achieved_badges_only_and_no_value(self, me):
        friend = UserFactory(username="friend")
        make_friends(me, friend)
        award(friend, "TRANSLATED_WORDS", 1)  # unseen
        UserMetric.objects.create(
            user=friend, activity_type=ActivityType.objects.get(code="TRANSLATED_WORDS"), value=987654321
        )

        response = frontend_for(me).get("//friend_badges/friend")

        assert response.status_code == 200
        (category,) = response.json()
        assert set(category) == {"name", "badges"}
        assert category["name"] == "Meaning Builder"
        (badge,) = category["badges"]
        assert badge["achieved"] is True and badge["level"] == 1
        assert badge["icon_name"] == "translated-words.svg"
        # (Nine digits: a timestamp's microseconds cannot hold them by chance, as "77" once did.)
        assert "987654321" not in response.content.decode()

    def test_a_friend_without_achievements_has_none(self, me):
        make_friends(me, UserFactory(username="friend"))
        assert frontend_for(me).get("//friend_badges/friend").json() == []

    def test_my_own(self, me):
        award(me, "FRIENDS", 1)
        assert [c["name"] for c in frontend_for(me).get("//friend_badges/ME_USER").json()] == ["Influencer"]

    def test_a_strangers_is_403_with_upstreams_message(self, me):
        stranger = UserFactory(username="stranger")
        award(stranger, "FRIENDS", 1)
        response = frontend_for(me).get("//friend_badges/stranger")
        assert message_of(response, 403) == "You can only view badges for yourself or your friends."

    def test_an_unknown_user_has_none(self, me):
        response = frontend_for(me).get("//friend_badges/nobody_here")
        assert response.status_code == 200
        assert response.json() == []


class TestUnseen:
    def test_the_count_is_a_bare_integer_of_unseen_achieved_badges(self, me):
        now = timezone.now()
        award(me, "FRIENDS", 1)
        award(me, "FRIENDS", 2, at=now - dt.timedelta(hours=1), seen_at=now)
        award(me, "READ_ARTICLES", 1)

        response = frontend_for(me).get("//badges/count_unseen")

        assert response.status_code == 200
        assert response.content == b"2"

    def test_mark_all_seen_without_a_body_and_the_api_agrees(self, me):
        award(me, "FRIENDS", 1)
        award(me, "READ_ARTICLES", 1)

        response = frontend_for(me).post_empty("//badges/mark_all_seen")

        assert response.status_code == 200
        assert response.json() == {"updated": True}
        assert not UserBadge.objects.filter(user=me, seen_at__isnull=True).exists()
        assert frontend_for(me).get("//badges/count_unseen").json() == 0
        assert client_for(me).get("/api/badges/unseen-count/").json() == {"count": 0}
        shown = [
            b["is_shown"] for c in frontend_for(me).get("//my_badges").json() for b in c["badges"] if b["achieved"]
        ]
        assert shown == [True, True]

    def test_marked_through_the_api_shows_here(self, me):
        award(me, "FRIENDS", 1)
        client_for(me).post("/api/badges/mark-seen/")
        assert frontend_for(me).get("//badges/count_unseen").json() == 0

    def test_marking_with_nothing_unseen_still_answers_updated(self, me):
        response = frontend_for(me).post_empty("//badges/mark_all_seen")
        assert (response.status_code, response.json()) == (200, {"updated": True})
