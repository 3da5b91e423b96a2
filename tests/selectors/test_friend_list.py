"""``selectors.friends.friend_list`` (values-only, two prepared queries) gives what the model
instance path gives: ``friends_of`` with the friend streak and language selectors."""

import datetime as dt

import pytest
from django.utils import timezone

from gamification.models import Friendship, LanguageStreak, PrivacySettings, ProgressVisibility, RestDay
from gamification.selectors.friends import friend_list, friends_of
from gamification.selectors.streaks import friend_streaks, languages_for_users
from tests.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def _reference(user):
    """The friends list as the model instance path builds it."""
    friends = friends_of(user_id=user.pk)
    streaks = friend_streaks(friendships=[friend.friendship for friend in friends])
    languages = languages_for_users(user_ids=[friend.pk for friend in friends if not friend.progress_private])
    return [
        (
            friend.pk,
            friend.username,
            friend.name,
            friend.avatar_image,
            friend.avatar_character_color,
            friend.avatar_background_color,
            friend.friends_since,
            streaks[friend.friendship.pk],
            languages.get(friend.pk, []),
        )
        for friend in friends
    ]


def _entries(user):
    return [
        (
            entry.pk,
            entry.username,
            entry.name,
            entry.avatar_image,
            entry.avatar_character_color,
            entry.avatar_background_color,
            entry.friends_since,
            entry.friend_streak,
            entry.languages,
        )
        for entry in friend_list(user=user)
    ]


def test_equals_the_model_instance_path(django_assert_num_queries):
    # Given friends on both sides of the pair, names differing only in case and punctuation, a
    # friend streak alive in two timezones and one broken, languages, and a private friend.
    me = UserFactory(username="Middle", timezone="Europe/Berlin")
    early, late = UserFactory(username="zed", name="Zed"), UserFactory(username="Alpha", timezone="Asia/Tokyo")
    me_high = UserFactory(username="bravo_x")
    me_high_peer = UserFactory(username="Bravo-y", name="B")
    private = UserFactory(username="charlie")
    UserFactory(username="stranger")
    since = timezone.now() - dt.timedelta(days=5)
    friendships = [make_friends(me, friend, since=since) for friend in (early, late, me_high, me_high_peer, private)]
    Friendship.objects.filter(pk=friendships[0].pk).update(
        streak_length=4, streak_first_day=2, streak_last_day=5, streak_low_through_day=5, streak_high_through_day=5
    )
    Friendship.objects.filter(pk=friendships[1].pk).update(
        streak_length=2, streak_first_day=0, streak_last_day=1, streak_low_through_day=1, streak_high_through_day=5
    )
    former = make_friends(me, UserFactory(username="aaa_former"))
    Friendship.objects.filter(pk=former.pk).update(active=None, ended_at=timezone.now())
    today = timezone.localdate()
    for friend, code, length in [(late, "de", 2), (late, "fr", 0), (private, "de", 7), (early, "es", 1)]:
        LanguageStreak.objects.create(
            user=friend, language_id=code, length=length, max_length=max(length, 3), last_date=today
        )
    PrivacySettings.objects.create(user=private, progress_visible_to=ProgressVisibility.NOBODY)
    # Streaks that missed days since their last one: kept alive by rest days (booked before and
    # across the gap), or not (no booking; a booking of another friend's).
    for friend, code in [(me_high, "de"), (me_high_peer, "de"), (me_high_peer, "fr")]:
        LanguageStreak.objects.create(
            user=friend, language_id=code, length=5, max_length=5, last_date=today - dt.timedelta(days=3)
        )
    RestDay.objects.create(user=me_high, start=today - dt.timedelta(days=9), end=today - dt.timedelta(days=1))
    RestDay.objects.create(user=me_high_peer, start=today - dt.timedelta(days=20), end=today - dt.timedelta(days=10))

    # When / then: the same entries, in the same order, in three queries (with the rest days).
    with django_assert_num_queries(3):
        entries = _entries(me)
    assert entries == _reference(me)
    assert [entry[1] for entry in entries] == ["Alpha", "Bravo-y", "bravo_x", "charlie", "zed"]
    assert entries[3][-1] == []  # the private friend's languages
    assert entries[4][-2] == 4 and entries[0][-2] == 0
    assert [language["code"] for language in entries[0][-1]] == ["de", "fr"]
    assert [language["daily_streak"] for language in entries[2][-1]] == [5]  # bravo_x: rested
    assert [language["daily_streak"] for language in entries[1][-1]] == [0, 0]  # Bravo-y: broken
    # And from the other side of each pair.
    for friend in (early, late, private):
        assert _entries(friend) == _reference(friend)


def test_no_friends_is_one_query(django_assert_num_queries):
    me = UserFactory()
    with django_assert_num_queries(1):
        assert friend_list(user=me) == []
