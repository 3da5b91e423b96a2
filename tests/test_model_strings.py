"""Every model reads as a sentence with usernames and badge names, never raw ids: these strings
are what the admin shows in lists, delete confirmations and history (SPEC §7)."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import (
    ActivityType,
    FirstOccurrence,
    FriendRequest,
    LanguageStreak,
    PracticeDay,
    UserBadge,
    UserMetric,
)
from tests.factories import EventFactory, MembershipFactory, UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)


@pytest.fixture
def ada():
    return UserFactory(username="ada")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


def test_badges_awards_and_metrics(ada):
    words = ActivityType.objects.get(code="TRANSLATED_WORDS")
    badge = words.badges.get(level=1)

    assert str(words) == "Meaning Builder (TRANSLATED_WORDS)"
    assert str(badge) == "Word Curious (Meaning Builder, level 1)"
    award = UserBadge.objects.create(user=ada, badge=badge, achieved_at=timezone.now())
    assert str(award) == "ada holds Word Curious (Meaning Builder, level 1)"
    assert str(UserMetric.objects.create(user=ada, activity_type=words, value=10)) == "ada: 10 in Meaning Builder"


def test_friends_and_requests(ada, bob):
    friendship = make_friends(ada, bob, since=WHEN)
    assert str(friendship) == "ada and bob, friends since 2026-03-04 (active)"
    friendship.ended_at, friendship.active = WHEN + dt.timedelta(days=3), None
    assert str(friendship) == "ada and bob, friends since 2026-03-04 (ended 2026-03-07)"
    assert str(make_friend_request(bob, UserFactory(username="cy"))) == "friend request from bob to cy"
    assert isinstance(FriendRequest.objects.first(), FriendRequest)


def test_classrooms(ada):
    membership = MembershipFactory(user=ada, classroom__name="Dutch B1", role="teacher")

    assert str(membership.classroom) == "Dutch B1"
    assert str(membership) == "ada, teacher in Dutch B1"


def test_activity_and_its_derived_tables(ada):
    event = EventFactory(user=ada, type="word_translated", word="Haus", occurred_at=WHEN)
    occurrence = FirstOccurrence.objects.create(
        user=ada, kind="translated_word", key="de:haus", key_hash="x" * 64, language_id="de", occurred_at=WHEN
    )
    day = PracticeDay.objects.create(user=ada, language_id="de", date=WHEN.date(), seconds=300)
    streak = LanguageStreak.objects.create(user=ada, language_id="de", length=1, max_length=1)

    assert str(event) == "word_translated by ada at 2026-03-04 05:06 UTC"
    assert str(occurrence) == "first translated word 'de:haus' by ada"
    assert str(day) == "ada practised de for 300 s on 2026-03-04"
    assert str(streak) == "ada's de streak: 1 day"
