"""The per-process catalogue cache (gamification.selectors.catalogue) and its invalidation by
the version token, as another process sees it."""

import pytest

from gamification.models import ActivityType, Badge, CatalogueVersion
from gamification.selectors.catalogue import catalogue_get
from gamification.services.badges import badge_levels_make_room
from gamification.services.catalogue import catalogue_changed

pytestmark = pytest.mark.django_db


def names(catalogue) -> dict[int, str]:
    return {badge.pk: badge.name for badge in catalogue.badges.values()}


def test_a_current_copy_costs_one_query(django_assert_num_queries):
    first = catalogue_get()
    assert len(first.badges) == Badge.objects.count()
    with django_assert_num_queries(1):
        assert catalogue_get() is first


def test_saving_a_badge_gives_a_new_token_and_the_next_read_sees_the_change(django_assert_num_queries):
    before = catalogue_get()
    badge = Badge.objects.order_by("id").first()
    badge.name = "Renamed by staff"
    badge.save()
    assert CatalogueVersion.objects.get().token != before.token
    with django_assert_num_queries(3):  # token, types, badges
        after = catalogue_get()
    assert names(after)[badge.pk] == "Renamed by staff"


@pytest.mark.parametrize("change", ["create type", "delete badge", "rename type"])
def test_every_kind_of_change_is_seen(change):
    catalogue_get()
    if change == "create type":
        ActivityType.objects.create(code="NEW_TYPE", name="New", award_mechanism="COUNTER")
        assert any(t.activity_type.code == "NEW_TYPE" for t in catalogue_get().types)
    elif change == "delete badge":
        badge = Badge.objects.order_by("-id").first()
        badge.delete()
        assert badge.pk not in catalogue_get().badges
    else:
        activity_type = ActivityType.objects.order_by("id").first()
        activity_type.name = "Renamed type"
        activity_type.save()
        assert catalogue_get().types[0].activity_type.name == "Renamed type"


def test_another_process_change_is_seen_through_the_token_alone():
    """Another process changed a badge and wrote a new token: this process's copy, whose token
    no longer matches, is reloaded although nothing happened in this process."""
    badge = Badge.objects.order_by("id").first()
    stale = catalogue_get()
    Badge.objects.filter(pk=badge.pk).update(name="Changed elsewhere")  # no signal in this process
    assert catalogue_get() is stale  # same token: the copy is kept
    CatalogueVersion.objects.filter(pk=1).update(token="written-by-another-process")
    assert names(catalogue_get())[badge.pk] == "Changed elsewhere"


def test_queryset_updates_of_the_services_change_the_token():
    before = catalogue_get().token
    badge_levels_make_room(badge_ids=[Badge.objects.order_by("id").first().pk])
    assert CatalogueVersion.objects.get().token != before


def test_without_the_row_nothing_is_cached(django_assert_num_queries):
    CatalogueVersion.objects.all().delete()
    catalogue_get()
    with django_assert_num_queries(3):
        catalogue_get()
    catalogue_changed()  # recreates it
    assert CatalogueVersion.objects.get().token


def test_a_rolled_back_change_never_shares_a_token_with_another_state():
    """Tokens are random: after a rollback, a different change cannot reuse the token of the
    rolled-back state that a process may have cached."""
    tokens = set()
    for _ in range(5):
        catalogue_changed()
        tokens.add(CatalogueVersion.objects.get().token)
    assert len(tokens) == 5


def test_a_badge_list_sees_a_change_made_by_another_process():
    """The badge lists read the token in their own query: a new token written by another
    process (here: directly in the table) makes the next list load the catalogue again."""
    import uuid

    from gamification.selectors.badges import badge_progress_for_user
    from tests.factories import UserFactory

    learner = UserFactory()
    badge_progress_for_user(user=learner)
    Badge.objects.filter(pk=Badge.objects.order_by("pk").values_list("pk", flat=True)[:1]).update(name="Renamed")
    assert not any(b.badge.name == "Renamed" for t in badge_progress_for_user(user=learner) for b in t.badges)
    CatalogueVersion.objects.filter(pk=1).update(token=uuid.uuid4().hex)
    assert any(b.badge.name == "Renamed" for t in badge_progress_for_user(user=learner) for b in t.badges)
