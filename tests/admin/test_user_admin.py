import pytest

from gamification.models import User
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_staff_create_an_account_by_email_and_get_a_generated_username(staff_client):
    response = staff_client.post(
        "/admin/gamification/user/add/",
        {
            "email": "Added@Example.com",
            "name": "Added",
            "usable_password": "true",
            "password1": "violet-Harbour-2931",
            "password2": "violet-Harbour-2931",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="added@example.com")
    assert user.username and user.check_password("violet-Harbour-2931")


def test_changing_a_username_to_one_taken_ignoring_case_is_refused(staff_client):
    UserFactory(username="Taken")
    target = UserFactory(username="target")
    page = staff_client.get(f"/admin/gamification/user/{target.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data.update({"username": "TAKEN", "groups": [], "user_permissions": []})
    data["created_at_0"], data["created_at_1"] = "2026-01-01", "10:00:00"
    response = staff_client.post(f"/admin/gamification/user/{target.pk}/change/", data)
    assert response.status_code == 200
    assert "This username is taken." in response.content.decode()
    target.refresh_from_db()
    assert target.username == "target"


def test_user_list_is_searchable_by_username(staff_client):
    UserFactory(username="findable_fox")
    response = staff_client.get("/admin/gamification/user/?q=findable")
    assert response.status_code == 200
    assert "findable_fox" in response.content.decode()


# The learner at a glance, manual awards and revocations ---------------------------------------

import datetime as dt  # noqa: E402

from django.utils import timezone  # noqa: E402

from gamification.models import ActivityType, BadgeAuditEntry, LanguageStreak, UserBadge, UserMetric  # noqa: E402
from tests.factories import EventFactory, MembershipFactory, make_friends  # noqa: E402


def user_page(client, user):
    response = client.get(f"/admin/gamification/user/{user.pk}/change/")
    assert response.status_code == 200
    return response


def give(user, code: str, level: int) -> UserBadge:
    badge = ActivityType.objects.get(code=code).badges.get(level=level)
    return UserBadge.objects.create(user=user, badge=badge, achieved_at=timezone.now())


def test_the_user_page_shows_badges_metrics_streaks_friends_and_classrooms(staff_client):
    learner = UserFactory(username="page_owner", timezone="UTC")
    give(learner, "TRANSLATED_WORDS", 1)
    UserMetric.objects.create(user=learner, activity_type=ActivityType.objects.get(code="TRANSLATED_WORDS"), value=12)
    LanguageStreak.objects.create(
        user=learner, language_id="de", length=3, last_date=timezone.now().date(), max_length=9,
        max_date=dt.date(2026, 1, 9),
    )  # fmt: skip
    make_friends(learner, UserFactory(username="pal_one"))
    MembershipFactory(user=learner, classroom__name="Dutch evenings")

    html = user_page(staff_client, learner).content.decode()

    for text in ("Badges (1)", "Word Curious", "Meaning Builder", "Progress (metrics)", ">12<", "Daily streaks",
                 "German (de)", "3 days", "9 days", "Friends (1)", "pal_one", "Dutch evenings", "student"):  # fmt: skip
        assert text in html, text


def test_the_user_page_costs_the_same_queries_with_more_badges_and_friends(staff_client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    learner = UserFactory()
    give(learner, "TRANSLATED_WORDS", 1)
    make_friends(learner, UserFactory())
    with CaptureQueriesContext(connection) as few:
        user_page(staff_client, learner)
    for level in (2, 3, 4):
        give(learner, "TRANSLATED_WORDS", level)
    for _ in range(4):
        make_friends(learner, UserFactory())
    MembershipFactory(user=learner)

    with django_assert_num_queries(len(few.captured_queries)):
        user_page(staff_client, learner)


def test_avatar_colours_are_swatches_of_the_vocabulary_only(staff_client):
    from gamification.constants import BACKGROUND_COLORS, CHARACTER_COLORS

    learner = UserFactory()
    response = user_page(staff_client, learner)

    field = response.context["adminform"].form.fields["avatar_character_color"]
    assert [value for value, _ in field.choices] == list(CHARACTER_COLORS)  # no blank "---------"
    html = response.content.decode()
    assert html.count('class="color-swatch"') == len(CHARACTER_COLORS) + len(BACKGROUND_COLORS)
    assert f'style="background-color: {CHARACTER_COLORS[0]}"' in html
    assert 'class="avatar-preview"' in html


def test_staff_award_a_badge_from_the_user_page_and_see_it_in_the_trail(staff_client):
    learner = UserFactory(username="award_me")
    badge = ActivityType.objects.get(code="READ_ARTICLES").badges.get(level=2)
    url = f"/admin/gamification/user/{learner.pk}/award-badge/"
    assert f'href="{url}"' in user_page(staff_client, learner).content.decode()

    refused = staff_client.post(url, {"badge": badge.pk, "reason": "   "})
    assert refused.status_code == 200 and not UserBadge.objects.filter(user=learner).exists()
    response = staff_client.post(url, {"badge": badge.pk, "reason": "Read the whole newspaper aloud"}, follow=True)

    assert response.redirect_chain[-1][0] == f"/admin/gamification/user/{learner.pk}/change/"
    assert UserBadge.objects.filter(user=learner, badge=badge).exists()
    assert not UserMetric.objects.filter(user=learner).exists()
    html = response.content.decode()
    assert "Awarded Page Turner to award_me." in html
    trail = html.split('id="user-audit"')[1].split("</fieldset>")[0]
    assert "Read the whole newspaper aloud" in trail and "Page Turner (Active Reader, level 2)" in trail
    entry = BadgeAuditEntry.objects.get(user=learner)
    assert entry.acted_by.email == "root@example.com"
    assert f'<td data-label="By">{entry.acted_by.username}</td>' in trail


def test_the_award_action_awards_selected_users_and_names_those_who_had_it(staff_client):
    ann, ben = UserFactory(username="ann_x"), UserFactory(username="ben_x")
    give(ben, "FRIENDS", 1)
    badge = ActivityType.objects.get(code="FRIENDS").badges.get(level=1)
    selection = {"action": "award_badge", "_selected_action": [ann.pk, ben.pk]}

    form_page = staff_client.post("/admin/gamification/user/", selection)
    assert form_page.status_code == 200 and "Award a badge" in form_page.content.decode()
    response = staff_client.post(
        "/admin/gamification/user/", {**selection, "apply": "1", "badge": badge.pk, "reason": "Meetup"}, follow=True
    )

    html = response.content.decode()
    assert "Awarded First Friend to ann_x." in html
    assert "Already held by ben_x: nothing changed." in html
    assert list(BadgeAuditEntry.objects.values_list("user__username", "action")) == [("ann_x", "awarded")]


def test_staff_revoke_from_the_user_page_with_a_reason(staff_client):
    learner = UserFactory(username="lose_it")
    award = give(learner, "CORRECT_EXERCISES", 1)
    page = user_page(staff_client, learner).content.decode()
    revoke = f"/admin/gamification/userbadge/{award.pk}/revoke/"
    assert f'href="{revoke}?next=/admin/gamification/user/{learner.pk}/change/"' in page

    response = staff_client.post(
        revoke, {"reason": "Answers were copied", "next": f"/admin/gamification/user/{learner.pk}/change/"}, follow=True
    )

    assert response.redirect_chain[-1][0] == f"/admin/gamification/user/{learner.pk}/change/"
    assert not UserBadge.objects.filter(pk=award.pk).exists()
    trail = response.content.decode().split('id="user-audit"')[1]
    assert "revoked" in trail and "Answers were copied" in trail


def test_revoke_ignores_a_next_url_of_another_site(staff_client):
    award = give(UserFactory(), "CORRECT_EXERCISES", 1)

    response = staff_client.post(
        f"/admin/gamification/userbadge/{award.pk}/revoke/", {"reason": "x", "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response["Location"].startswith("/admin/")


def test_the_revoke_action_on_the_badge_list(staff_client):
    a, b = give(UserFactory(), "FRIENDS", 1), give(UserFactory(), "FRIENDS", 2)
    selection = {"action": "revoke_selected", "_selected_action": [a.pk, b.pk]}

    assert "Revoke badges" in staff_client.post("/admin/gamification/userbadge/", selection).content.decode()
    response = staff_client.post("/admin/gamification/userbadge/", {**selection, "apply": "1", "reason": "Test"})

    assert response.status_code == 302
    assert not UserBadge.objects.filter(pk__in=[a.pk, b.pk]).exists()
    assert BadgeAuditEntry.objects.filter(action="revoked").count() == 2


def test_staff_without_the_award_and_revoke_permissions_are_not_offered_them(client, db):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "view_userbadge"]))
    client.force_login(viewer)
    learner = UserFactory()
    award = give(learner, "FRIENDS", 1)

    html = user_page(client, learner).content.decode()

    assert (
        "award-badge" not in html and "revoke" not in html.lower().split('id="user-badges"')[1].split("</fieldset>")[0]
    )
    assert client.get(f"/admin/gamification/user/{learner.pk}/award-badge/").status_code == 403
    assert client.get(f"/admin/gamification/userbadge/{award.pk}/revoke/").status_code == 403
    listing = client.get("/admin/gamification/userbadge/")
    assert listing.context["action_form"] is None  # no action this staff member could finish


def test_deleting_an_account_goes_through_the_service_and_friends_counts_follow(staff_client):
    from gamification.services.friends import friend_request_accept, friend_request_send

    leaving, staying = UserFactory(), UserFactory()
    friend_request_accept(
        request_id=friend_request_send(sender=leaving, receiver_username=staying.username).pk, acting_user=staying
    )
    give(leaving, "TRANSLATED_WORDS", 1)
    assert UserMetric.objects.get(user=staying, activity_type__code="FRIENDS").value == 1

    for _ in range(30):
        EventFactory(user=leaving, type="practice", kind="reading", duration_seconds=60)

    confirm = staff_client.get(f"/admin/gamification/user/{leaving.pk}/delete/")
    assert confirm.status_code == 200 and not confirm.context["perms_lacking"]
    html = confirm.content.decode()
    assert "<li>Activity events: 30</li>" in html and "<li>User badges: 2</li>" in html
    assert "practice by" not in html  # a count, not one line per row of the activity log
    response = staff_client.post(f"/admin/gamification/user/{leaving.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=leaving.pk).exists()
    assert UserMetric.objects.get(user=staying, activity_type__code="FRIENDS").value == 0
