"""``gamification.prepared.PreparedQuery``: the rows of the queryset it was built from."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gamification.models import ActivityEvent, Friendship, LanguageStreak, User
from gamification.prepared import PreparedQuery
from tests.factories import EventFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db


def _events(user_id, since, language):
    return (
        ActivityEvent.objects.filter(user_id=user_id, occurred_at__gte=since, language_id=language)
        .order_by("occurred_at", "id")
        .values_list("id", "type", "occurred_at", "language_id")
    )


@pytest.fixture
def learners():
    ada, bob = UserFactory(username="ada", name="Ada"), UserFactory(username="bob", timezone="Asia/Tokyo")
    start = timezone.now() - dt.timedelta(days=3)
    for n in range(5):
        EventFactory(user=ada, occurred_at=start + dt.timedelta(hours=n), language_id="de" if n % 2 else "fr")
    EventFactory(user=bob, occurred_at=start)
    return ada, bob, start


def test_rows_equal_the_querysets_with_converted_datetimes(learners):
    ada, bob, start = learners
    prepared = PreparedQuery(_events, user_id="int", since="datetime", language="str")
    for user, since, language in [(ada, start, "de"), (ada, start + dt.timedelta(hours=2), "fr"), (bob, start, "de")]:
        rows = prepared.rows(user_id=user.pk, since=since, language=language)
        assert rows == list(_events(user.pk, since, language))
        assert all(isinstance(row[2], dt.datetime) and row[2].tzinfo is not None for row in rows)
    assert len(prepared.rows(user_id=ada.pk, since=start, language="de")) == 2


def test_a_parameter_used_twice_and_a_subquery(learners):
    ada, bob, _ = learners
    make_friends(ada, bob)

    def build(user_id):
        names = User.objects.filter(pk=OuterRef("user_id")).values("username")[:1]
        friends = Friendship.objects.filter(user_low_id=user_id).values("user_high_id")
        return (
            ActivityEvent.objects.filter(Q(user_id=user_id) | Q(user_id__in=Subquery(friends)))
            .annotate(username=Subquery(names))
            .values_list("username")
            .annotate(n=Count("id"))
            .order_by("username")
        )

    prepared = PreparedQuery(build, user_id="int")
    for user in (ada, bob):
        assert prepared.rows(user_id=user.pk) == list(build(user.pk))


def test_dates_and_annotations_in_the_order_asked(learners):
    ada, _, _ = learners
    LanguageStreak.objects.create(user=ada, language_id="de", length=3, last_date=dt.date(2026, 1, 2), max_length=5)

    def build(user_id, day):
        return (
            LanguageStreak.objects.filter(user_id=user_id, last_date__lte=day)
            .annotate(gap=F("max_length") - F("length"))
            .values_list("gap", "language__name", "last_date", "frozen_days")
        )

    prepared = PreparedQuery(build, user_id="int", day="date")
    assert prepared.rows(user_id=ada.pk, day=dt.date(2026, 1, 2)) == [(2, "German", dt.date(2026, 1, 2), [])]
    assert prepared.rows(user_id=ada.pk, day=dt.date(2026, 1, 1)) == []


def test_one_query_and_refusals(learners, django_assert_num_queries):
    ada, _, start = learners
    prepared = PreparedQuery(_events, user_id="int", since="datetime", language="str")
    with django_assert_num_queries(1):
        prepared.rows(user_id=ada.pk, since=start, language="de")
    with pytest.raises(TypeError):
        prepared.rows(user_id=ada.pk, since=start)
    with pytest.raises(TypeError):
        prepared.rows(user_id=None, since=start, language="de")
    with pytest.raises(ValueError):
        PreparedQuery(_events, user_id="list")
    # A parameter the queryset does not bind (here: compared in Python, not in SQL).
    unbound = PreparedQuery(lambda user_id: User.objects.values_list("id"), user_id="int")
    with pytest.raises(ValueError, match="user_id"):
        unbound.rows(user_id=ada.pk)


def test_a_list_of_ints_widens_to_its_values_and_keeps_the_other_parameters(learners, django_assert_num_queries):
    ada, bob, start = learners
    carol = UserFactory(username="carol")

    def build(user_ids, since, language):
        return (
            ActivityEvent.objects.filter(user_id__in=user_ids, occurred_at__gte=since, language_id=language)
            .order_by("user_id", "occurred_at", "id")
            .values_list("user_id", "occurred_at")
        )

    prepared = PreparedQuery(build, user_ids="ints", since="datetime", language="str")
    for ids in ([ada.pk], [ada.pk, bob.pk], [carol.pk, bob.pk, ada.pk], [bob.pk, bob.pk]):
        for language in ("de", "fr"):
            with django_assert_num_queries(1):
                rows = prepared.rows(user_ids=ids, since=start, language=language)
            assert rows == list(build(ids, start, language))
            assert {row[0] for row in rows} <= set(ids)
    for bad in ([], [None], None, ["1) OR (1=1"], [True], [1.0]):
        with pytest.raises(TypeError):
            prepared.rows(user_ids=bad, since=start, language="de")


def test_a_list_of_ints_beside_a_literal_percent_sign(learners):
    ada, bob, _ = learners

    # The SQL holds ``'%%s'`` (the text %s, not a placeholder): only real placeholders widen.
    def build(user_ids):
        return User.objects.filter(pk__in=user_ids).extra(where=["username <> '%%s'"]).values_list("username")

    prepared = PreparedQuery(build, user_ids="ints")
    assert sorted(prepared.rows(user_ids=[ada.pk, bob.pk])) == [("ada",), ("bob",)]


def test_a_union_all_with_datetimes_in_its_second_branch():
    from gamification.models import ActivityType, Badge, UserBadge, UserMetric
    from gamification.selectors.badges import _METRICS_AND_AWARDS, _metrics_and_awards_rows

    user = UserFactory()
    UserMetric.objects.create(user=user, activity_type=ActivityType.objects.order_by("id").first(), value=3)
    seen = timezone.now() - dt.timedelta(hours=1)
    for n, badge in enumerate(Badge.objects.order_by("id")[:3]):
        UserBadge.objects.create(
            user=user, badge=badge, achieved_at=seen - dt.timedelta(days=n), seen_at=seen if n else None
        )
    assert UserMetric.objects.filter(user=user).exists()

    rows = _METRICS_AND_AWARDS.rows(user_id=user.pk)
    assert sorted(rows, key=repr) == sorted(_metrics_and_awards_rows(user.pk), key=repr)
    achieved = [row[3] for row in rows if row[0] == 1]
    assert len(achieved) == 3 and all(isinstance(at, dt.datetime) and at.tzinfo is not None for at in achieved)


def _board_values(user_ids, since):
    return (
        ActivityEvent.objects.filter(user_id__in=user_ids, occurred_at__gte=since)
        .order_by()
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )


def test_a_forced_index_is_named_to_mariadb_only_and_gives_the_same_rows(learners):
    ada, bob, start = learners
    prepared = PreparedQuery(_board_values, force_index="activityevent_board_cover", user_ids="ints", since="datetime")
    with CaptureQueriesContext(connection) as captured:
        rows = prepared.rows(user_ids=[ada.pk, bob.pk], since=start)
    assert sorted(rows) == sorted(_board_values([ada.pk, bob.pk], start)) == [(ada.pk, 5), (bob.pk, 1)]
    (query,) = captured.captured_queries
    hint = "FORCE INDEX (`activityevent_board_cover`)"
    if connection.vendor == "mysql":
        assert f"FROM `gamification_activityevent` {hint}" in query["sql"]
    else:
        assert "FORCE INDEX" not in query["sql"]


def test_a_forced_index_must_be_one_the_model_declares(learners):
    ada, _, start = learners
    prepared = PreparedQuery(_board_values, force_index="no_such_index", user_ids="ints", since="datetime")
    if connection.vendor != "mysql":
        assert prepared.rows(user_ids=[ada.pk], since=start) == [(ada.pk, 5)]  # no hint is written
        return
    with pytest.raises(ValueError, match="declares no index 'no_such_index'"):
        prepared.rows(user_ids=[ada.pk], since=start)
