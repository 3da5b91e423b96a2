"""User search (SPEC §6.3) and the relationship of the viewer to other users."""

import pytest
from rest_framework.exceptions import ValidationError

from gamification.models import User
from gamification.selectors.users import SEARCH_RESULTS_MAX, relationships_for, user_search
from gamification.serializers.friends import UserSearchQuerySerializer
from tests.factories import UserFactory, make_friend_request, make_friends

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer():
    return UserFactory(username="viewer_zz")


def names(users: list[User]) -> list[str]:
    return [user.username for user in users]


def search_term_clean(raw: str | None) -> str:
    """The term as ``GET /api/users/?search=`` reads it."""
    serializer = UserSearchQuerySerializer(data={} if raw is None else {"search": raw})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["search"]


def search(viewer, raw) -> list[str]:
    return names(user_search(viewer=viewer, term=search_term_clean(raw)))


class TestTerm:
    @pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
    def test_missing_empty_or_blank_is_an_empty_list(self, viewer, raw):
        UserFactory(username="anyone")

        assert search(viewer, raw) == []

    def test_term_is_stripped(self, viewer):
        UserFactory(username="otter")

        assert search(viewer, "  otter  ") == ["otter"]

    def test_term_longer_than_a_display_name_is_refused(self):
        with pytest.raises(ValidationError):
            search_term_clean("x" * 101)

    def test_term_as_long_as_a_display_name_finds_it(self, viewer):
        long_name = "N" * 100
        UserFactory(username="long_named", name=long_name)

        assert search(viewer, long_name.lower()) == ["long_named"]


class TestMatching:
    def test_username_containing_the_term_ignoring_case(self, viewer):
        UserFactory(username="BraveOtter")
        UserFactory(username="calm_lynx")

        assert search(viewer, "OTT") == ["BraveOtter"]

    def test_display_name_equal_ignoring_case_matches(self, viewer):
        UserFactory(username="u1", name="Maria Jensen")

        assert search(viewer, "maria jensen") == ["u1"]
        assert search(viewer, "MARIA JENSEN") == ["u1"]

    def test_display_name_must_be_equal_not_just_contain(self, viewer):
        UserFactory(username="u1", name="Maria Jensen")

        assert search(viewer, "Maria") == []

    def test_display_name_match_with_non_ascii_letters_ignores_case(self, viewer):
        UserFactory(username="u1", name="Søren Ærø")

        assert search(viewer, "søren ærø") == ["u1"]
        assert search(viewer, "SØREN ÆRØ") == ["u1"]

    def test_display_name_match_does_not_ignore_accents(self, viewer):
        UserFactory(username="u1", name="José")

        assert search(viewer, "jose") == []
        assert search(viewer, "JOSÉ") == ["u1"]

    @pytest.mark.parametrize("term", ["%", "_%", "%_", "\\", "\\_", "%%"])
    def test_like_wildcards_match_nothing_when_no_username_has_them(self, viewer, term):
        UserFactory(username="plain")
        UserFactory(username="with_underscore")

        assert search(viewer, term) == []

    def test_underscore_is_literal(self, viewer):
        UserFactory(username="a_b")
        UserFactory(username="axb")

        assert search(viewer, "a_b") == ["a_b"]

    def test_percent_and_backslash_in_a_display_name_are_matched_literally(self, viewer):
        UserFactory(username="u1", name="100%")
        UserFactory(username="u2", name="1000")
        UserFactory(username="u3", name="back\\slash")

        assert search(viewer, "100%") == ["u1"]
        assert search(viewer, "back\\slash") == ["u3"]

    def test_sql_in_the_term_is_harmless(self, viewer):
        UserFactory(username="victim")
        before = User.objects.count()

        assert search(viewer, "'; DROP TABLE gamification_user; --") == []
        assert search(viewer, "' OR '1'='1") == []
        assert User.objects.count() == before

    def test_never_the_searching_user(self, viewer):
        UserFactory(username="viewer_other")

        assert search(viewer, "viewer") == ["viewer_other"]
        assert search(viewer, "viewer_zz") == []

    def test_a_display_name_equal_to_mine_still_excludes_me(self):
        me = UserFactory(username="me_myself", name="Twin")
        UserFactory(username="other", name="twin")

        assert search(me, "twin") == ["other"]


class TestOrder:
    def test_exact_then_prefix_then_contains_then_name_matches(self, viewer):
        UserFactory(username="xx_fox")  # contains
        UserFactory(username="fox_a")  # prefix
        UserFactory(username="Fox")  # exact, ignoring case
        UserFactory(username="a_fox")  # contains, shorter
        UserFactory(username="zed", name="FOX")  # display name only

        assert search(viewer, "fox") == ["Fox", "fox_a", "zed", "a_fox", "xx_fox"]

    def test_within_a_group_shorter_first_then_alphabetical_ignoring_case(self, viewer):
        for username in ["otter_bb", "Otter_AA", "otter_c", "otter_Ab"]:
            UserFactory(username=username)

        assert search(viewer, "otter") == ["otter_c", "Otter_AA", "otter_Ab", "otter_bb"]

    def test_a_prefix_match_that_is_also_a_name_match_stays_in_the_prefix_group(self, viewer):
        UserFactory(username="lynx_long_name", name="lynx")
        UserFactory(username="a_lynx")

        assert search(viewer, "lynx") == ["lynx_long_name", "a_lynx"]

    def test_at_most_20_and_the_best_ones(self, viewer):
        User.objects.bulk_create(
            [
                User(
                    email=f"s{i}@example.com",
                    username=f"seal{i:03d}",
                    avatar_image="otter",
                    avatar_character_color="#F6D110",
                    avatar_background_color="#FFF9C7",
                )
                for i in range(30)
            ]
        )
        UserFactory(username="seal")
        UserFactory(username="a_seal")

        result = search(viewer, "seal")

        assert len(result) == SEARCH_RESULTS_MAX == 20
        assert result[0] == "seal"
        assert result[1:] == [f"seal{i:03d}" for i in range(19)]


class TestRelationships:
    def test_every_status_in_one_call(self, django_assert_num_queries):
        me = UserFactory()
        friend, asked, asker, stranger, former = (UserFactory() for _ in range(5))
        friendship = make_friends(me, friend)
        sent = make_friend_request(me, asked)
        received = make_friend_request(asker, me)
        from gamification.services.friends import friendship_end_pair

        make_friends(me, former)
        friendship_end_pair(user_id=me.pk, friend_id=former.pk)

        with django_assert_num_queries(2):
            result = relationships_for(viewer=me, users=[me, friend, asked, asker, stranger, former])

        assert result[me.pk].status == "self"
        assert result[friend.pk].status == "friends"
        assert result[friend.pk].friends_since == friendship.created_at
        assert result[friend.pk].friend_streak == 0
        assert result[friend.pk].request_id is None
        assert (result[asked.pk].status, result[asked.pk].request_id) == ("request_sent", sent.pk)
        assert (result[asker.pk].status, result[asker.pk].request_id) == ("request_received", received.pk)
        assert result[asker.pk].friend_streak is None and result[asker.pk].friends_since is None
        assert result[stranger.pk].status == "none"
        assert result[former.pk].status == "none"

    def test_only_myself_needs_no_query(self, django_assert_num_queries):
        me = UserFactory()

        with django_assert_num_queries(0):
            result = relationships_for(viewer=me, users=[me])

        assert result[me.pk].status == "self"
