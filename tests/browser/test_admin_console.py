"""Staff at work in the admin console, in headless Chromium (SPEC §7): editing levels, the
refusals they meet (each message on screen), the level chart, awarding, and what a Badge editor
is offered."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gamification.models import ActivityType, BadgeAuditEntry, UserBadge, UserMetric
from gamification.services.task_runs import task_runs_run_due
from gamification.services.tokens import auth_token_issue
from tests.browser.conftest import PHONE
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def staff(db):
    return UserFactory(username="staff_in_browser", is_staff=True, is_superuser=True)


@pytest.fixture
def words(db) -> ActivityType:
    return ActivityType.objects.get(code="TRANSLATED_WORDS")


def type_page(base: str, activity_type: ActivityType) -> str:
    return f"{base}/admin/gamification/activitytype/{activity_type.pk}/change/"


def card(page: Page, level: int):
    """The card of a saved level, found by its heading."""
    label = page.locator(".inline_label", has_text=re.compile(rf"^Level {level}:"))
    return page.locator(".badge-level.has_original").filter(has=label)


def assert_fits_the_width(page: Page) -> None:
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"the page scrolls sideways: {scroll_width} px in {inner_width} px"


def test_staff_edit_a_levels_name_threshold_and_icon_and_the_api_shows_it(page: Page, log_in, staff, words):
    base = log_in(staff)
    page.goto(type_page(base, words))
    level_2 = card(page, 2)
    preview = level_2.locator(".learner-preview")

    level_2.get_by_label("Name:").fill("Word Explorer")
    level_2.get_by_label("Threshold:").fill("80")
    level_2.get_by_label("Bundled icon:").select_option("translated_words_5")

    # The learner's-eye preview follows the typing, and flags the texts that still say 100.
    expect(preview.locator(".locked [data-preview=name]")).to_have_text("Word Explorer")
    expect(preview.locator(".locked [data-preview=threshold]")).to_have_text("80")
    expect(preview.locator("img.learner-badge-icon").first).to_have_attribute(
        "src", "/static/gamification/badges/translated_words_5.svg"
    )
    expect(preview.locator(".learner-preview-warnings")).to_contain_text("names 100, but the threshold is 80")

    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    expect(page.locator(".messagelist .warning").first).to_contain_text("Level 2: The not achieved text names 100")
    token = auth_token_issue(user=UserFactory(), client_name="browser test").token
    response = page.request.get(f"{base}/api/badges/", headers={"Authorization": f"Token {token}"})
    assert response.ok
    level = next(item for item in response.json() if item["code"] == "TRANSLATED_WORDS")["badges"][1]
    assert (level["name"], level["threshold"]) == ("Word Explorer", 80)
    assert level["icon_url"].endswith("/static/gamification/badges/translated_words_5.svg")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_non_increasing_thresholds_show_the_message_beside_the_field(page: Page, log_in, staff, words, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    base = log_in(staff)
    page.goto(type_page(base, words))
    assert_fits_the_width(page)

    card(page, 3).get_by_label("Threshold:").fill("50")
    page.get_by_role("button", name="Save and continue editing").click()

    message = card(page, 3).locator(".field-threshold .errorlist")
    expect(message).to_have_text("Thresholds must increase with level: level 3 (50) must be above level 2 (100).")
    expect(message).to_be_in_viewport()
    expect(card(page, 3)).to_have_class(re.compile(r"\bhas-errors\b"))
    expect(card(page, 3).get_by_label("Threshold:")).to_be_focused()
    assert_fits_the_width(page)
    assert words.badges.get(level=3).threshold == 500


def test_an_svg_upload_is_refused_with_the_message_on_screen(page: Page, log_in, staff, words):
    base = log_in(staff)
    page.goto(type_page(base, words))
    upload = card(page, 4).get_by_label("Uploaded icon:")

    upload.set_input_files({"name": "evil.svg", "mimeType": "image/svg+xml", "buffer": SVG})
    expect(card(page, 4).locator("[data-preview=icon-source]")).to_contain_text("only PNG, JPEG or WebP")
    page.get_by_role("button", name="Save and continue editing").click()

    message = card(page, 4).locator(".field-icon_upload .errorlist")
    expect(message).to_contain_text("SVG files cannot be uploaded because they can carry scripts")
    expect(message).to_be_in_viewport()
    assert_fits_the_width(page)
    assert not words.badges.get(level=4).icon_upload


def test_a_second_badge_on_a_one_time_type_is_refused_with_the_message_on_screen(page: Page, log_in, staff):
    ActivityType.objects.filter(code="PROFILE_CUSTOMISED").delete()
    base = log_in(staff)
    page.goto(f"{base}/admin/gamification/activitytype/add/")

    page.get_by_label("Code:").select_option("PROFILE_CUSTOMISED")
    page.locator("#id_name").fill("Self Portrait")
    for index in (0, 1):
        if index:
            page.get_by_role("button", name="Add another Level").click()
        new = page.locator(f"#badges-{index}")
        new.get_by_label("Level:").fill(str(index + 1))
        new.get_by_label("Threshold:").fill(str(index + 1))
        new.get_by_label("Name:").fill(f"Portrait {index + 1}")
        new.get_by_label("Not achieved yet:").fill("Customise your avatar.")
        new.get_by_label("Achieved:").fill("Looking good!")
        new.get_by_label("Bundled icon:").select_option("profile_customised_1")
    page.get_by_role("button", name="Save", exact=True).click()

    message = page.locator("#badges-1 .badge-level-errors .errorlist")
    expect(message).to_have_text("A one-time activity type has exactly one badge; this form would leave 2.")
    expect(message).to_be_in_viewport()
    assert not ActivityType.objects.filter(code="PROFILE_CUSTOMISED").exists()


def test_the_chart_counts_holders_and_its_bars_read_in_dark_mode(page: Page, log_in, staff, words):
    for holder in [UserFactory() for _ in range(3)]:
        UserBadge.objects.create(user=holder, badge=words.badges.get(level=1), achieved_at=timezone.now())
    UserBadge.objects.create(user=UserFactory(), badge=words.badges.get(level=2), achieved_at=timezone.now())
    base = log_in(staff)
    page.emulate_media(color_scheme="dark")
    page.goto(type_page(base, words))

    rows = page.locator("#level-chart .level-row")
    expect(rows).to_have_count(5)
    assert [rows.nth(i).locator(".count").inner_text() for i in range(5)] == ["3", "1", "0", "0", "0"]
    widths = [rows.nth(i).locator(".bar").evaluate("bar => bar.getBoundingClientRect().width") for i in range(2)]
    assert widths[0] == pytest.approx(3 * widths[1], rel=0.05)
    expect(page.locator("#level-chart")).to_contain_text("4 awards in all")
    contrast = page.evaluate(
        """() => {
            const luminance = (color) => {
                const [r, g, b] = color.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
                    v /= 255;
                    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const bar = getComputedStyle(document.querySelector("#level-chart .bar")).backgroundColor;
            const page = getComputedStyle(document.body).backgroundColor;
            const [hi, lo] = [luminance(bar), luminance(page)].sort((a, b) => b - a);
            return (hi + 0.05) / (lo + 0.05);
        }"""
    )
    assert contrast >= 3, f"bars hardly show on the dark page (contrast {contrast:.1f}:1)"


def test_the_award_action_awards_what_metrics_qualify_for(page: Page, log_in, staff, words):
    learner = UserFactory()
    UserMetric.objects.create(user=learner, activity_type=words, value=150)
    base = log_in(staff)
    page.goto(f"{base}/admin/gamification/activitytype/")

    page.locator(f"input[name=_selected_action][value='{words.pk}']").check()
    page.locator("select[name=action]").select_option("award_qualified_badges")
    page.get_by_role("button", name="Go").click()

    message = page.locator(".messagelist .success")
    expect(message).to_contain_text("as a background task")
    message.get_by_role("link", name="progress").click()
    expect(page.locator("#content")).to_contain_text("Queued")

    task_runs_run_due(background=False)  # what the worker does
    page.reload()
    expect(page.locator("#content")).to_contain_text("Awarded 2 badges (TRANSLATED_WORDS).")
    assert sorted(UserBadge.objects.filter(user=learner).values_list("badge__level", flat=True)) == [1, 2]


def test_a_manual_award_and_a_revocation_appear_on_the_users_page(page: Page, log_in, staff):
    learner = UserFactory(username="browser_learner")
    base = log_in(staff)
    page.goto(f"{base}/admin/gamification/user/{learner.pk}/change/")
    expect(page.locator("#user-badges h2")).to_have_text("Badges (0)")

    page.locator("#user-badges").get_by_role("link", name="Award a badge…").click()
    page.get_by_label("Badge:").select_option(label="Level 2: Page Turner")
    page.get_by_label("Reason:").fill("Read every article of the school paper")
    page.get_by_role("button", name="Award").click()

    expect(page.locator(".messagelist .success")).to_contain_text("Awarded Page Turner to browser_learner.")
    expect(page.locator("#user-badges h2")).to_have_text("Badges (1)")
    expect(page.locator("#user-badges")).to_contain_text("Page Turner")
    trail = page.locator("#user-audit")
    expect(trail).to_contain_text("Read every article of the school paper")
    expect(trail).to_contain_text("staff_in_browser")
    assert not UserMetric.objects.filter(user=learner).exists()

    page.locator("#user-badges").get_by_role("link", name="Revoke…").click()
    page.get_by_label("Reason:").fill("Awarded to the wrong learner")
    page.get_by_role("button", name="Revoke").click()

    expect(page.locator("#user-badges h2")).to_have_text("Badges (0)")
    expect(trail.locator("tbody tr")).to_have_count(2)
    expect(trail.locator("tbody tr").first).to_contain_text("Awarded to the wrong learner")
    assert list(BadgeAuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["awarded", "revoked"]


def test_a_badge_editor_sees_and_finishes_only_badge_work(page: Page, live_server, badge_editors_group, words):
    editor = UserFactory(email="editor@example.com", is_staff=True)
    editor.groups.add(badge_editors_group)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Email:").fill("editor@example.com")
    page.get_by_label("Password:").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    sections = page.locator("#content-main .module caption, #content-main .module h2")
    expect(sections).to_have_text(["Badges", "Background work"])  # to follow the award task
    expect(page.locator("#content-main")).not_to_contain_text("Users")
    page.get_by_role("link", name="Badges and levels, by activity type").click()
    expect(page.locator("select[name=action] option")).to_have_text(
        ["---------", "Award badges that existing metrics already qualify for (background task)"]
    )
    expect(page.get_by_role("link", name="Add activity type")).to_have_count(0)
    page.get_by_role("link", name="Meaning Builder").click()
    expect(page.get_by_role("link", name="Delete", exact=True)).to_have_count(0)
    expect(card(page, 1).locator("input[name$=DELETE]")).to_be_enabled()

    card(page, 1).get_by_label("Name:").fill("Word Curious Cat")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert words.badges.get(level=1).name == "Word Curious Cat"
    assert page.goto(f"{live_server.url}/admin/gamification/user/").status == 403
