"""User search (SPEC §6.3) and the relationship of the viewer to other users."""

import datetime as dt

import pytest
import time_machine
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from gamification.models import Block, Friendship, PrivacySettings, User
from gamification.selectors.users import SEARCH_RESULTS_MAX, SEARCH_TERM_MAX_LENGTH, relationships_for, user_search
from gamification.serializers.friends import UserSearchQuerySerializer, search_term_of
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


class TestTermWithoutTheSerializer:
    """``search_term_of`` (the view's way to read an acceptable term without building the
    serializer) gives the serializer's term for every value it accepts, and leaves to the
    serializer every value it refuses."""

    @pytest.mark.parametrize(
        "values",
        [
            [],
            [""],
            ["  "],
            ["otter"],
            ["  Otter \t\n"],
            ["\u00a0otter\u2003"],  # Unicode spaces: DRF strips them too
            ["x" * SEARCH_TERM_MAX_LENGTH],
            [" " + "x" * SEARCH_TERM_MAX_LENGTH + " "],
            ["x" * (SEARCH_TERM_MAX_LENGTH + 1)],
            ["ot\x00ter"],
            [" \x00 "],
            ["first", "last"],
            ["ok", "x" * (SEARCH_TERM_MAX_LENGTH + 1)],
            ["%_\\"],
            ["ünïcödé"],
        ],
    )
    def test_agrees_with_the_serializer(self, values):
        query = QueryDict(mutable=True)
        if values:  # no values: the parameter is missing (a query string never gives a key none)
            query.setlist("search", values)
        serializer = UserSearchQuerySerializer(data=query)

        term = search_term_of(query.get("search"))

        if serializer.is_valid():
            assert term == serializer.validated_data["search"]
        else:
            assert term is None


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

        with django_assert_num_queries(1):
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

    def test_one_user_at_a_time_gives_the_same_answers(self, django_assert_num_queries):
        # A profile asks about one user (a prepared query): the same as asking about all at once.
        lower = UserFactory()  # the viewer is the high side of this pair
        me = UserFactory(timezone="Asia/Tokyo")
        friend, asked, asker, stranger = (UserFactory() for _ in range(4))
        make_friends(me, friend)
        make_friends(lower, me)
        make_friend_request(me, asked)
        make_friend_request(asker, me)
        together = relationships_for(viewer=me, users=[friend, asked, asker, stranger, lower])

        for user in (friend, asked, asker, stranger, lower):
            with django_assert_num_queries(1):
                alone = relationships_for(viewer=me, users=[me, user])
            assert alone[user.pk] == together[user.pk]
            assert alone[me.pk].status == "self"
        assert [together[user.pk].status for user in (friend, lower)] == ["friends", "friends"]

    @pytest.mark.parametrize("viewer_is_low", [True, False])
    @pytest.mark.parametrize("east", ["me", "friend"])
    @pytest.mark.parametrize(
        ("began", "now", "east_through", "west_through"),
        [
            # Kiritimati (UTC+14) is on day 11 of the friendship, UTC on day 10.
            (dt.datetime(2026, 3, 19, 9, 0, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC), 10, 9),
            # Kiritimati is on day 9, UTC on day 10 (the friendship began after midnight there).
            (dt.datetime(2026, 3, 19, 10, 30, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 9, 0, tzinfo=dt.UTC), 8, 9),
        ],
    )
    def test_the_friend_streak_counts_each_friends_days_on_their_own_calendar(
        self, viewer_is_low, east, began, now, east_through, west_through
    ):
        # Given one friend on Kiritimati and one in UTC, each having counted through the day
        # before their own today: the streak of 3 is alive. Counted on the other's calendar,
        # one of them would have missed a day (in one case or the other).
        first, second = UserFactory(), UserFactory()
        me, friend = (first, second) if viewer_is_low else (second, first)
        eastern = me if east == "me" else friend
        User.objects.filter(pk=eastern.pk).update(timezone="Pacific/Kiritimati")
        me.refresh_from_db()
        friend.refresh_from_db()
        friendship = make_friends(me, friend, since=began)
        through = {user.pk: east_through if user == eastern else west_through for user in (me, friend)}
        Friendship.objects.filter(pk=friendship.pk).update(
            streak_length=3,
            streak_first_day=min(through.values()) - 2,
            streak_last_day=min(through.values()),
            streak_low_through_day=through[friendship.user_low_id],
            streak_high_through_day=through[friendship.user_high_id],
        )
        other = UserFactory()

        # When: a search's list (both sides of the pair in one query) and a profile's one user.
        with time_machine.travel(now, tick=False):
            listed = relationships_for(viewer=me, users=[friend, other])[friend.pk]
            alone = relationships_for(viewer=me, users=[friend])[friend.pk]

        # Then
        assert listed.friend_streak == alone.friend_streak == 3

    def test_only_myself_needs_no_query(self, django_assert_num_queries):
        me = UserFactory()

        with django_assert_num_queries(0):
            result = relationships_for(viewer=me, users=[me])

        assert result[me.pk].status == "self"


def _block(blocker, blocked):
    low, high = sorted([blocker, blocked], key=lambda user: user.pk)
    Block.objects.create(blocker=blocker, blocked=blocked, user_low=low, user_high=high)


def _undiscoverable(user):
    PrivacySettings.objects.create(user=user, discoverable=False)


def _reference(viewer, term) -> list[str]:
    """SPEC §6.3 in Python over every user (ASCII display names: SQLite folds only those)."""
    key = term.lower()
    blocked = {
        pk for pair in Block.objects.values_list("user_low_id", "user_high_id") for pk in pair if viewer.pk in pair
    }
    hidden = set(PrivacySettings.objects.filter(discoverable=False).values_list("user_id", flat=True))
    found = [
        user
        for user in User.objects.exclude(pk=viewer.pk)
        if user.pk not in blocked
        and (key in user.username_key or user.name.lower() == key)
        and (user.username_key == key or user.pk not in hidden)
    ]
    group = lambda user: 0 if user.username_key == key else 1 if user.username_key.startswith(key) else 2  # noqa: E731
    found.sort(key=lambda user: (group(user), len(user.username_key), user.username_key))
    return names(found[:SEARCH_RESULTS_MAX])


class TestPrefixShortcut:
    """At least 20 findable usernames starting with the term answer the search alone (one
    query: the prefix matches in the search's order, checked until 20 pass, with how the viewer
    relates to each); otherwise the full search runs, then the relationships. Same results
    either way."""

    @pytest.fixture
    def crowd(self, viewer):
        # Prefix matches of several lengths and cases, the exact username, contains and display
        # name matches that would sort after them, and prefix users the viewer may not find.
        for n in range(22):
            UserFactory(username=f"Otter{'x' * (n % 4)}{n:02d}")
        UserFactory(username="otter")
        for n in range(5):
            UserFactory(username=f"sea_otter{n}")
            UserFactory(username=f"named{n}", name="Otter")
        hidden = [UserFactory(username=f"otterhidden{n}") for n in range(3)]
        for user in hidden[:2]:
            _undiscoverable(user)
        _block(hidden[2], viewer)
        _block(viewer, UserFactory(username="ottb"))
        return hidden

    def test_twenty_prefix_matches_are_the_answer_in_one_query(self, viewer, crowd, django_assert_num_queries):
        with django_assert_num_queries(1):
            found = search(viewer, "OTTER")
        assert found == _reference(viewer, "otter")
        assert found[0] == "otter" and len(found) == SEARCH_RESULTS_MAX
        assert not {"sea_otter0", "named0", "otterhidden0", "otterhidden2"} & set(found)

    def test_fewer_prefix_matches_run_the_full_search(self, viewer, crowd, django_assert_num_queries):
        # Fewer than 20 findable users start with these terms (or none do).
        for term in ["otterx", "otterxx", "Otter", "otter0", "ott", "sea", "er1", "named3"]:
            assert search(viewer, term) == _reference(viewer, term), term
        with django_assert_num_queries(3):  # the prefix matches, the full search, relationships
            found = search(viewer, "otterxx")
        assert found == _reference(viewer, "otterxx")

    def test_undiscoverable_and_blocked_prefix_users_do_not_count_toward_twenty(
        self, viewer, django_assert_num_queries
    ):
        # Given exactly 20 users starting with the term, two of whom the viewer may not find,
        # and a display-name match: the full search must run and show the display name too.
        prefixed = [UserFactory(username=f"lynx{n:02d}") for n in range(20)]
        _undiscoverable(prefixed[3])
        _block(prefixed[7], viewer)
        UserFactory(username="zz_cat", name="Lynx")
        UserFactory(username="big_lynx")
        with django_assert_num_queries(3):  # the prefix matches, the full search, relationships
            found = search(viewer, "lynx")
        assert found == _reference(viewer, "lynx")
        assert found[-2:] == ["zz_cat", "big_lynx"] and len(found) == 20

    def test_an_undiscoverable_exact_username_counts(self, viewer, django_assert_num_queries):
        exact = UserFactory(username="mole")
        _undiscoverable(exact)
        for n in range(19):
            UserFactory(username=f"mole{n:02d}")
        UserFactory(username="a_mole")
        with django_assert_num_queries(1):
            found = search(viewer, "mole")
        assert found == _reference(viewer, "mole") and found[0] == "mole"

    def test_when_the_shortest_matches_are_hidden_the_findable_ones_after_them_answer(
        self, viewer, django_assert_num_queries
    ):
        # The first 45 usernames starting with "heron" (the shortest) are not discoverable or
        # blocked: the 20 findable ones come after them.
        hidden = [UserFactory(username=f"heron{n:02d}") for n in range(45)]
        for user in hidden[:40]:
            _undiscoverable(user)
        for user in hidden[40:]:
            _block(user, viewer)
        for n in range(30):
            UserFactory(username=f"heron_{n:03d}")
        with django_assert_num_queries(1):
            found = search(viewer, "heron")
        assert found == _reference(viewer, "heron") and len(found) == 20
        assert found[0] == "heron_000"

    @pytest.mark.parametrize("viewer_is_low", [True, False])
    def test_the_one_query_relates_each_user_as_relationships_for_does(self, viewer_is_low, django_assert_num_queries):
        # Given 24 users starting with "mink", made before or after the viewer (the viewer is
        # then the high or the low side of each pair): friends (one with a live streak, in
        # another timezone), requests both ways, a former friend with a new request, strangers.
        before = [UserFactory(username=f"mink{n:02d}", timezone="Pacific/Kiritimati") for n in range(12)]
        me = UserFactory(username="viewer_mink", timezone="UTC")
        after = [UserFactory(username=f"mink{n:02d}", timezone="Pacific/Kiritimati") for n in range(12, 24)]
        # The viewer is the low side of its pairs with the users made after it, else the high.
        others = after if viewer_is_low else before  # all 8 used below are among the 20 shown
        # Each friend counted through the day before their own today: Kiritimati (UTC+14) is on
        # day 11 of the friendship then, UTC on day 10. On each other's calendars, the viewer
        # would have missed a day.
        began = dt.datetime(2026, 3, 19, 9, 0, tzinfo=dt.UTC)
        streaked = make_friends(me, others[0], since=began)
        mine, theirs = 9, 10
        Friendship.objects.filter(pk=streaked.pk).update(
            streak_length=3,
            streak_first_day=7,
            streak_last_day=9,
            streak_low_through_day=mine if viewer_is_low else theirs,
            streak_high_through_day=theirs if viewer_is_low else mine,
        )
        make_friends(others[1], me)
        make_friend_request(me, others[2])
        make_friend_request(others[3], me)
        from gamification.services.friends import friendship_end_pair

        make_friends(me, others[4])
        friendship_end_pair(user_id=me.pk, friend_id=others[4].pk)
        make_friend_request(others[4], me)
        make_friends(me, others[5])
        friendship_end_pair(user_id=others[5].pk, friend_id=me.pk)
        make_friends(others[6], me)
        make_friends(me, others[7])

        # When
        with time_machine.travel(dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC), tick=False):
            with django_assert_num_queries(1):
                found = user_search(viewer=me, term="mink")
            expected = relationships_for(viewer=me, users=found)

        # Then
        assert len(found) == SEARCH_RESULTS_MAX
        assert {user.pk: user.relationship for user in found} == expected
        by_pk = {user.pk: user.relationship for user in found}
        assert [by_pk[user.pk].status for user in others[:8]] == [
            "friends",
            "friends",
            "request_sent",
            "request_received",
            "request_received",
            "none",
            "friends",
            "friends",
        ]
        assert by_pk[others[0].pk].friend_streak == 3
        assert by_pk[others[0].pk].friends_since == began

    def test_a_term_with_like_wildcards_is_literal_in_the_prefix_query(self, viewer):
        for n in range(20):
            UserFactory(username=f"a_b{n:02d}")
        UserFactory(username="axb99")
        assert search(viewer, "a_b") == _reference(viewer, "a_b")
        assert "axb99" not in search(viewer, "a_b")


class TestBlocksAndSettingsReadInSearch:
    """A search checks the blocks of the viewer's pairs with the users it reads and those users'
    privacy settings, never the platform's (MariaDB turned an EXISTS on ``(LEAST, GREATEST)`` of
    the pair, or on a user's settings, into an ``IN`` over every block or every settings row,
    read on each search)."""

    def test_mariadb_reads_none_of_other_users_blocks_or_settings(self, viewer):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if connection.vendor != "mysql":
            pytest.skip("the plan is MariaDB's")
        # Given 3,000 blocks between other users, one of the viewer's, and 800 prefix matches
        # with their settings, the first five not discoverable (MariaDB weighs reading the
        # blocks or the settings once against a look-up per match it expects).
        others = UserFactory.create_batch(80)
        pairs = [(low, high) for n, low in enumerate(others) for high in others[n + 1 :]][:3000]
        Block.objects.bulk_create(
            Block(blocker=low, blocked=high, user_low=min(low, high, key=_pk), user_high=max(low, high, key=_pk))
            for low, high in pairs
        )
        blocked = UserFactory(username="wren_blocked")
        _block(viewer, blocked)
        matches = [UserFactory(username=f"wren{n:03d}") for n in range(800)]
        PrivacySettings.objects.bulk_create(
            PrivacySettings(user=user, discoverable=n >= 5) for n, user in enumerate(matches + others)
        )
        with CaptureQueriesContext(connection) as captured:
            found = search(viewer, "wren")
        sql = captured.captured_queries[0]["sql"]

        # When: the search's query again, counting the entries MariaDB reads one after another
        # (through an index, or a table's rows).
        read = sum(_session_counts(sql, "Handler_read_next", "Handler_read_rnd_next").values())

        # Then: the 20 findable ones, having read about as many entries as the matches.
        assert found == _reference(viewer, "wren") and len(found) == 20
        assert found[0] == "wren005" and "wren_blocked" not in found
        assert read <= 60, read


def _pk(user) -> int:
    return user.pk


def _session_counts(sql: str, *counters: str) -> dict[str, int]:
    """How much each of MariaDB's session ``counters`` grew while ``sql`` ran (differences:
    FLUSH STATUS would commit the test's transaction)."""
    from django.db import connection

    names = ", ".join(f"'{name}'" for name in counters)
    show = f"SHOW SESSION STATUS WHERE Variable_name IN ({names})"
    with connection.cursor() as cursor:
        cursor.execute(show)
        before = {name: int(value) for name, value in cursor.fetchall()}
        cursor.execute(sql)
        cursor.fetchall()
        cursor.execute(show)
        return {name: int(value) - before[name] for name, value in cursor.fetchall()}


class TestPrefixOrderIndex:
    """The prefix candidates come in the search's order from the ``user_search_order`` index
    (length, then code point of the lower-cased username), read up to the last candidate."""

    def test_the_shortest_prefix_matches_win_however_many_longer_ones_came_first(
        self, viewer, django_assert_num_queries
    ):
        for n in range(70):
            UserFactory(username=f"Gnu{'w' * 8}{n:02d}")
        # Four characters each, by code point: '-' < '.' < '1' < '_' < 'z' (MariaDB's default
        # collation puts '_' first), and the exact username before all of them.
        for username in ["Gnuz", "gnu_", "GNU1", "gnu.", "gnu-", "gnu"]:
            UserFactory(username=username)
        with django_assert_num_queries(1):
            found = search(viewer, "gnu")
        assert found == _reference(viewer, "gnu")
        assert found[:6] == ["gnu", "gnu-", "gnu.", "GNU1", "gnu_", "Gnuz"] and len(found) == SEARCH_RESULTS_MAX

    def test_a_term_longer_than_any_username_reads_no_prefix(self, viewer, django_assert_num_queries):
        UserFactory(username="x" * 50, name="y" * 51)
        with django_assert_num_queries(2):  # the full search and relationships: no username is that long
            assert search(viewer, "y" * 51) == ["x" * 50]

    def test_mariadb_reads_the_matches_in_index_order_and_only_them(self, viewer):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if connection.vendor != "mysql":
            pytest.skip("the plan is MariaDB's")
        # 25 matches, and 300 shorter or equally long usernames that do not match: read in
        # (length, username) order, a scan bounded by the length alone would read them too.
        for n in range(25):
            UserFactory(username=f"vole{n:02d}")
        for n in range(300):
            UserFactory(username=f"b{n:05d}")
        with CaptureQueriesContext(connection) as captured:
            assert len(search(viewer, "vole")) == 20
        sql = captured.captured_queries[0]["sql"]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            columns = [column[0] for column in cursor.description]
            plan = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        # Index entries read: those the handler returned, and those its pushed condition (index
        # condition pushdown) looked at and dropped.
        entries_read = max(_session_counts(sql, "Handler_read_next", "Handler_icp_attempts").values())
        (users,) = [step for step in plan if step["table"] == "gamification_user"]
        assert users["key"] == "user_search_order", plan
        assert not any("filesort" in (step["Extra"] or "") for step in plan), plan
        assert entries_read <= 25, entries_read
