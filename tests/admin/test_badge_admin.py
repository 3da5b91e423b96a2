import io
import random

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.fields.files import FieldFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from gamification.admin.charts import level_holders_chart
from gamification.models import ActivityType, AwardMechanism, Badge, TaskRun, UserBadge, UserMetric
from gamification.services.task_runs import task_runs_run_due
from tests.factories import UserFactory

CHANGELIST = "/admin/gamification/activitytype/"


def change_url(activity_type: ActivityType) -> str:
    return f"{CHANGELIST}{activity_type.pk}/change/"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 64), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    if noise:
        rng = random.Random(7)
        image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def form_data(client: Client, url: str) -> dict:
    """The POST body the admin page would send unchanged: the main form and every inline form."""
    response = client.get(url)
    assert response.status_code == 200
    data: dict = {}

    def add(form) -> None:
        for name in form.fields:
            value = form[name].value()
            if isinstance(value, FieldFile) or value is None:  # an existing upload is not re-sent
                continue
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
                continue
            data[form.add_prefix(name)] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            add(form)
    return data


def inline_index(activity_type: ActivityType, level: int) -> int:
    return list(activity_type.badges.order_by("level").values_list("level", flat=True)).index(level)


def error_text(response) -> str:
    return response.content.decode()


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def words(db):
    return ActivityType.objects.get(code="TRANSLATED_WORDS")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
class TestEditLevels:
    def test_change_page_shows_each_level_as_a_card_with_the_learners_preview(self, admin_client, words):
        response = admin_client.get(change_url(words))

        assert response.status_code == 200
        html = error_text(response)
        assert html.count('class="badge-icon-select"') >= 5
        assert 'data-icon-url="/static/gamification/badges/translated_words_3.svg"' in html
        # five levels and the template "Add another level" copies; achieved and not, one icon
        assert html.count('class="learner-preview"') == 6
        assert html.count('<img class="learner-badge-icon"') == 12
        assert 'src="/static/gamification/badges/translated_words_1.svg"' in html
        assert "gamification/admin/badge_levels.js" in html
        assert "badge-icon-preview" not in html and "badge-icon-thumb" not in html  # one preview only
        # the select offers every bundled SVG
        formset = response.context["inline_admin_formsets"][0].formset
        choices = [value for value, _ in formset.forms[0].fields["icon"].choices]
        assert "friends_5.svg" not in choices
        assert {"friends_5", "classroom_joined_1", "translated_words_1"} <= set(choices)
        assert len(choices) == 37 + 1

    def test_edit_level_name_and_threshold_shows_in_the_api(self, admin_client, words, user, auth_client):
        data = form_data(admin_client, change_url(words))
        index = inline_index(words, 2)
        data[f"badges-{index}-name"] = "Word Explorer"
        data[f"badges-{index}-threshold"] = 80

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        badge = Badge.objects.get(activity_type=words, level=2)
        assert (badge.name, badge.threshold) == ("Word Explorer", 80)
        api = {item["code"]: item for item in auth_client.get("/api/badges/").json()}
        level_2 = api["TRANSLATED_WORDS"]["badges"][1]
        assert (level_2["name"], level_2["threshold"]) == ("Word Explorer", 80)

    @pytest.mark.parametrize("threshold", [100, 99, 1])
    def test_thresholds_not_increasing_with_level_are_refused(self, admin_client, words, threshold):
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 3)}-threshold"] = threshold  # level 2 is 100

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 200
        assert "Thresholds must increase with level: level 3" in error_text(response)
        assert Badge.objects.get(activity_type=words, level=3).threshold == 500

    def test_repeated_level_is_refused(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 5)}-level"] = 4

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 200
        assert "Each level may appear only once; repeated: 4." in error_text(response)
        assert sorted(words.badges.values_list("level", flat=True)) == [1, 2, 3, 4, 5]

    @pytest.mark.parametrize("field, value", [("threshold", 0), ("level", 0), ("threshold", -5), ("level", 101)])
    def test_out_of_range_level_or_threshold_is_a_field_error(self, admin_client, words, field, value):
        data = form_data(admin_client, change_url(words))
        data[f"badges-0-{field}"] = value

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 200
        assert response.context["inline_admin_formsets"][0].formset.forms[0].errors[field]

    def test_swapping_two_levels_saves_without_a_unique_clash(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        first, second = inline_index(words, 1), inline_index(words, 2)
        data[f"badges-{first}-level"], data[f"badges-{second}-level"] = 2, 1
        data[f"badges-{first}-threshold"], data[f"badges-{second}-threshold"] = 100, 10

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert list(words.badges.order_by("level").values_list("name", "threshold")[:2]) == [
            ("Translation Enthusiast", 10),
            ("Word Curious", 100),
        ]

    def test_adding_a_sixth_level(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data["badges-TOTAL_FORMS"] = 6
        data.update(
            {
                "badges-5-level": 6,
                "badges-5-name": "Lexicon Legend",
                "badges-5-threshold": 5000,
                "badges-5-unachieved_description": "Translate 5000 unique words.",
                "badges-5-achieved_description": "5000 unique words!",
                "badges-5-icon": "translated_words_5",
                "badges-5-activity_type": words.pk,
            }
        )

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert words.badges.get(level=6).name == "Lexicon Legend"

    def test_a_level_users_hold_offers_no_delete_box_and_stays(self, admin_client, words):
        UserBadge.objects.create(user=UserFactory(), badge=words.badges.get(level=5), achieved_at=timezone.now())
        page = admin_client.get(change_url(words))
        index = inline_index(words, 5)
        delete_box = page.context["inline_admin_formsets"][0].formset.forms[index].fields["DELETE"]
        assert delete_box.disabled and "Held by 1 user." in delete_box.help_text
        assert "held by 1 user" in error_text(page)

        data = form_data(admin_client, change_url(words))
        data[f"badges-{index}-DELETE"] = "on"  # sent anyway: a disabled field keeps its value
        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert words.badges.count() == 5

    def test_deleting_a_level_nobody_holds(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 5)}-DELETE"] = "on"

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert sorted(words.badges.values_list("level", flat=True)) == [1, 2, 3, 4]


@pytest.mark.django_db
class TestOneTimeAndMechanism:
    def test_second_badge_on_a_one_time_type_is_refused(self, admin_client):
        joined = ActivityType.objects.get(code="CLASSROOM_JOINED")
        data = form_data(admin_client, change_url(joined))
        data["badges-TOTAL_FORMS"] = 2
        data.update(
            {
                "badges-1-level": 2,
                "badges-1-name": "Class Regular",
                "badges-1-threshold": 2,
                "badges-1-unachieved_description": "Join two classrooms.",
                "badges-1-achieved_description": "Two classrooms!",
                "badges-1-icon": "classroom_joined_1",
                "badges-1-activity_type": joined.pk,
            }
        )

        response = admin_client.post(change_url(joined), data)

        assert response.status_code == 200
        assert "A one-time activity type has exactly one badge; this form would leave 2." in error_text(response)
        assert joined.badges.count() == 1

    def test_one_time_badge_threshold_must_be_1(self, admin_client):
        joined = ActivityType.objects.get(code="CLASSROOM_JOINED")
        data = form_data(admin_client, change_url(joined))
        data["badges-0-threshold"] = 3

        response = admin_client.post(change_url(joined), data)

        assert response.status_code == 200
        assert "needs threshold 1" in error_text(response)
        assert joined.badges.get().threshold == 1

    def test_one_time_type_offers_no_second_row(self, admin_client):
        joined = ActivityType.objects.get(code="CLASSROOM_JOINED")

        response = admin_client.get(change_url(joined))

        assert response.context["inline_admin_formsets"][0].formset.max_num == 1

    def test_mechanism_and_code_of_a_known_type_cannot_be_changed(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        assert "award_mechanism" not in data and "code" not in data  # read-only on the page
        data.update(award_mechanism="ONE_TIME", code="SOMETHING_ELSE", name="Meaning Builder II")

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        words.refresh_from_db()
        assert (words.code, words.award_mechanism, words.name) == ("TRANSLATED_WORDS", "COUNTER", "Meaning Builder II")

    def _add_data(self, **overrides) -> dict:
        data = {
            "code": "PROFILE_CUSTOMISED",
            "name": "Self Portrait",
            "description": "",
            "badges-TOTAL_FORMS": 1,
            "badges-INITIAL_FORMS": 0,
            "badges-MIN_NUM_FORMS": 0,
            "badges-MAX_NUM_FORMS": 1000,
            "badges-0-level": 1,
            "badges-0-name": "Face of the Class",
            "badges-0-threshold": 1,
            "badges-0-unachieved_description": "Customise your avatar.",
            "badges-0-achieved_description": "Looking good!",
            "badges-0-icon": "profile_customised_1",
        }
        data.update(overrides)
        return data

    def test_add_is_not_offered_once_every_known_code_is_in_the_catalogue(self, admin_client):
        changelist = admin_client.get(CHANGELIST)

        assert changelist.context["has_add_permission"] is False
        assert f"{CHANGELIST}add/" not in error_text(changelist)
        assert admin_client.get(f"{CHANGELIST}add/").status_code == 403

    def test_add_offers_only_the_missing_known_codes(self, admin_client):
        ActivityType.objects.filter(code="PROFILE_CUSTOMISED").delete()

        response = admin_client.get(f"{CHANGELIST}add/")

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert [code for code, _ in form.fields["code"].choices] == ["PROFILE_CUSTOMISED"]
        assert "award_mechanism" not in form.fields  # the rule decides it
        assert "the first change of one&#x27;s avatar" in error_text(response)

    def test_re_adding_a_known_type_takes_the_mechanism_of_its_rule(self, admin_client):
        ActivityType.objects.filter(code="PROFILE_CUSTOMISED").delete()

        response = admin_client.post(f"{CHANGELIST}add/", self._add_data(award_mechanism="COUNTER"))

        assert response.status_code == 302, error_text(response)
        created = ActivityType.objects.get(code="PROFILE_CUSTOMISED")
        assert created.award_mechanism == AwardMechanism.ONE_TIME
        assert created.badges.get().name == "Face of the Class"

    def test_adding_a_code_no_rule_feeds_is_refused(self, admin_client):
        ActivityType.objects.filter(code="PROFILE_CUSTOMISED").delete()

        response = admin_client.post(f"{CHANGELIST}add/", self._add_data(code="DANCE_MOVES"))

        assert response.status_code == 200
        assert "Select a valid choice" in error_text(response)
        assert not ActivityType.objects.filter(code="DANCE_MOVES").exists()

    def test_a_second_badge_on_a_new_one_time_type_is_refused_on_the_second_card(self, admin_client):
        ActivityType.objects.filter(code="PROFILE_CUSTOMISED").delete()
        data = self._add_data(**{"badges-TOTAL_FORMS": 2})
        data.update(
            {
                "badges-1-level": 2,
                "badges-1-name": "Portrait Gallery",
                "badges-1-threshold": 2,
                "badges-1-unachieved_description": "Customise twice.",
                "badges-1-achieved_description": "Twice!",
                "badges-1-icon": "profile_customised_1",
            }
        )

        response = admin_client.post(f"{CHANGELIST}add/", data)

        assert response.status_code == 200
        forms = response.context["inline_admin_formsets"][0].formset.forms
        assert forms[0].errors == {}
        assert forms[1].non_field_errors() == [
            "A one-time activity type has exactly one badge; this form would leave 2."
        ]
        assert not ActivityType.objects.filter(code="PROFILE_CUSTOMISED").exists()

    def test_known_types_cannot_be_deleted(self, admin_client, words):
        changelist = admin_client.get(CHANGELIST)

        assert "delete_selected" not in changelist.context["action_form"].fields["action"].choices.__str__()
        assert admin_client.get(f"{change_url(words)[: -len('change/')]}delete/").status_code == 403


@pytest.mark.django_db
class TestIconUpload:
    def post_upload(self, admin_client, words, upload, **extra):
        data = form_data(admin_client, change_url(words))
        data["badges-0-icon_upload"] = upload
        data.update(extra)
        return admin_client.post(change_url(words), data)

    def test_svg_upload_is_refused(self, admin_client, words, media_root):
        svg = SimpleUploadedFile(
            "evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"
        )

        response = self.post_upload(admin_client, words, svg)

        assert response.status_code == 200
        assert "SVG files cannot be uploaded because they can carry scripts" in error_text(response)
        assert not words.badges.get(level=1).icon_upload
        assert not any(media_root.rglob("*"))

    def test_svg_disguised_as_png_is_refused(self, admin_client, words, media_root):
        svg = SimpleUploadedFile("innocent.png", b"<?xml version='1.0'?>\n<svg><script/></svg>", "image/png")

        response = self.post_upload(admin_client, words, svg)

        assert "SVG files cannot be uploaded" in error_text(response)
        assert not words.badges.get(level=1).icon_upload

    def test_valid_png_is_accepted_and_served_as_the_icon(self, admin_client, words, media_root, auth_client):
        png = SimpleUploadedFile("my icon.png", image_bytes("PNG"), "image/png")

        response = self.post_upload(admin_client, words, png)

        assert response.status_code == 302, error_text(response)
        badge = words.badges.get(level=1)
        assert badge.icon_upload.name.startswith("badge-icons/")
        assert badge.icon_upload.name.endswith(".png")
        icon_url = auth_client.get("/api/badges/").json()[0]["badges"][0]["icon_url"]
        assert icon_url == f"http://testserver/media/{badge.icon_upload.name}"
        with (
            Image.open(media_root / badge.icon_upload.name) as stored,
            Image.open(io.BytesIO(image_bytes("PNG"))) as sent,
        ):
            assert stored.format == "PNG"
            assert stored.size == sent.size
            assert stored.convert("RGB").tobytes() == sent.convert("RGB").tobytes()

    def test_bytes_after_the_image_are_not_stored(self, admin_client, words, media_root):
        payload = b"<html><script>alert(document.cookie)</script></html>"
        polyglot = image_bytes("PNG") + payload

        response = self.post_upload(admin_client, words, SimpleUploadedFile("icon.png", polyglot, "image/png"))

        assert response.status_code == 302, error_text(response)
        stored = (media_root / words.badges.get(level=1).icon_upload.name).read_bytes()
        assert payload not in stored
        assert stored.endswith(b"IEND\xaeB`\x82")

    def test_jpeg_metadata_is_dropped(self, admin_client, words, media_root):
        exif = Image.Exif()
        exif[0x010E] = "secret description"  # ImageDescription
        exif[0x8825] = {2: (55.0, 40.0, 0.0)}  # GPS latitude
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (10, 200, 30)).save(buffer, format="JPEG", exif=exif, comment=b"a comment")
        assert b"secret description" in buffer.getvalue()

        response = self.post_upload(
            admin_client, words, SimpleUploadedFile("photo.jpg", buffer.getvalue(), "image/jpeg")
        )

        assert response.status_code == 302, error_text(response)
        stored = (media_root / words.badges.get(level=1).icon_upload.name).read_bytes()
        assert b"secret description" not in stored and b"a comment" not in stored
        with Image.open(io.BytesIO(stored)) as image:
            assert not image.getexif()

    def test_a_replaced_upload_is_deleted_from_storage(
        self, admin_client, words, media_root, django_capture_on_commit_callbacks
    ):
        self.post_upload(admin_client, words, SimpleUploadedFile("first.png", image_bytes("PNG"), "image/png"))
        first = words.badges.get(level=1).icon_upload.name
        assert (media_root / first).exists()

        with django_capture_on_commit_callbacks(execute=True):
            response = self.post_upload(
                admin_client, words, SimpleUploadedFile("second.webp", image_bytes("WEBP"), "image/webp")
            )

        assert response.status_code == 302, error_text(response)
        second = words.badges.get(level=1).icon_upload.name
        assert second != first and (media_root / second).exists()
        assert not (media_root / first).exists()

    def test_clearing_an_upload_deletes_the_file(
        self, admin_client, words, media_root, django_capture_on_commit_callbacks
    ):
        self.post_upload(admin_client, words, SimpleUploadedFile("first.png", image_bytes("PNG"), "image/png"))
        first = words.badges.get(level=1).icon_upload.name

        with django_capture_on_commit_callbacks(execute=True):
            response = self.post_upload(admin_client, words, "", **{"badges-0-icon_upload-clear": "on"})

        assert response.status_code == 302, error_text(response)
        assert not words.badges.get(level=1).icon_upload
        assert not (media_root / first).exists()

    def test_a_deleted_badge_takes_its_upload_with_it(self, words, media_root, django_capture_on_commit_callbacks):
        from gamification.services.badge_icons import badge_icon_clean

        badge = words.badges.get(level=5)
        badge.icon_upload = badge_icon_clean(SimpleUploadedFile("x.png", image_bytes("PNG"), "image/png"))
        badge.save(update_fields=["icon_upload"])
        stored = media_root / badge.icon_upload.name
        assert stored.exists()

        with django_capture_on_commit_callbacks(execute=True):
            badge.delete()

        assert not stored.exists()

    def test_a_rolled_back_replacement_keeps_the_old_file(self, words, media_root, django_capture_on_commit_callbacks):
        from django.db import transaction

        from gamification.services.badge_icons import badge_icon_clean

        badge = words.badges.get(level=4)
        badge.icon_upload = badge_icon_clean(SimpleUploadedFile("x.png", image_bytes("PNG"), "image/png"))
        badge.save(update_fields=["icon_upload"])
        stored = media_root / badge.icon_upload.name

        with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):  # noqa: SIM117
            with transaction.atomic():
                badge.icon_upload = badge_icon_clean(SimpleUploadedFile("y.png", image_bytes("PNG"), "image/png"))
                badge.save(update_fields=["icon_upload"])
                raise RuntimeError("rolled back")

        assert callbacks == []
        assert stored.exists()

    @pytest.mark.parametrize("fmt, extension", [("JPEG", "jpg"), ("WEBP", "webp")])
    def test_jpeg_and_webp_are_accepted_under_their_real_extension(
        self, admin_client, words, media_root, fmt, extension
    ):
        upload = SimpleUploadedFile("icon.png", image_bytes(fmt), "image/png")

        response = self.post_upload(admin_client, words, upload)

        assert response.status_code == 302, error_text(response)
        assert words.badges.get(level=1).icon_upload.name.endswith(f".{extension}")

    def test_oversized_file_is_refused(self, admin_client, words, media_root, settings):
        settings.BADGE_ICON_MAX_BYTES = 4096
        content = image_bytes("PNG", size=(128, 128), noise=True)
        assert len(content) > 4096

        response = self.post_upload(admin_client, words, SimpleUploadedFile("big.png", content, "image/png"))

        assert response.status_code == 200
        assert (
            "icons may be at most 4.0\xa0KB"
            in response.context["inline_admin_formsets"][0].formset.forms[0].errors["icon_upload"][0]
        )
        assert not words.badges.get(level=1).icon_upload

    @pytest.mark.parametrize(
        "name, content, message",
        [
            ("icon.gif", image_bytes("GIF"), "Only PNG, JPEG or WebP images are accepted; this file is GIF."),
            ("icon.png", b"\x89PNG\r\n\x1a\nnot really a png", "not a valid PNG, JPEG or WebP image"),
            ("icon.png", b"hello", "not a valid PNG, JPEG or WebP image"),
            ("icon.png", image_bytes("PNG", size=(2000, 40)), "The image is 2000 x 40 pixels"),
            ("icon.png", image_bytes("PNG", size=(8, 8)), "each side must be between 16 and 1024"),
        ],
    )
    def test_other_bad_files_are_refused_with_a_message(self, admin_client, words, media_root, name, content, message):
        response = self.post_upload(admin_client, words, SimpleUploadedFile(name, content, "image/png"))

        assert response.status_code == 200
        errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors["icon_upload"]
        assert message in errors[0]
        assert not words.badges.get(level=1).icon_upload

    def test_a_badge_needs_an_icon(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data["badges-0-icon"] = ""

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 200
        assert "Pick a bundled icon or upload an image." in error_text(response)

    def test_unknown_bundled_icon_name_is_refused(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data["badges-0-icon"] = "../../secrets"

        response = admin_client.post(change_url(words), data)

        assert response.status_code == 200
        assert words.badges.get(level=1).icon == "translated_words_1"


def run_queued_tasks() -> None:
    """What the worker does with tasks started in the admin."""
    while task_runs_run_due(background=False):
        pass


@pytest.mark.django_db
class TestAwardQualified:
    def test_lowering_a_threshold_then_the_action_awards_users_who_qualify(self, admin_client, words):
        learner, below = UserFactory(), UserFactory()
        UserMetric.objects.create(user=learner, activity_type=words, value=60)
        UserMetric.objects.create(user=below, activity_type=words, value=5)
        UserBadge.objects.create(user=learner, badge=words.badges.get(level=1), achieved_at=timezone.now())
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 2)}-threshold"] = 50
        assert admin_client.post(change_url(words), data).status_code == 302
        assert not UserBadge.objects.filter(user=learner, badge__level=2).exists()  # saving awards nothing

        response = admin_client.post(
            CHANGELIST,
            {"action": "award_qualified_badges", "_selected_action": [words.pk]},
            follow=True,
        )

        assert response.status_code == 200
        assert "as a background task" in error_text(response)
        run_queued_tasks()
        assert TaskRun.objects.get().result == "Awarded 1 badge (TRANSLATED_WORDS)."
        assert sorted(UserBadge.objects.filter(user=learner).values_list("badge__level", flat=True)) == [1, 2]
        assert not UserBadge.objects.filter(user=below).exists()

    def test_action_on_several_types_counts_every_award(self, admin_client, words):
        learner = UserFactory()
        UserMetric.objects.create(user=learner, activity_type=words, value=100)
        friends = ActivityType.objects.get(code="FRIENDS")
        UserMetric.objects.create(user=learner, activity_type=friends, value=3)

        response = admin_client.post(
            CHANGELIST,
            {"action": "award_qualified_badges", "_selected_action": [words.pk, friends.pk]},
            follow=True,
        )

        assert "as a background task" in error_text(response)
        run_queued_tasks()
        assert TaskRun.objects.get().result.startswith("Awarded 4 badges")
        assert UserBadge.objects.filter(user=learner).count() == 4


@pytest.mark.django_db
class TestLevelChart:
    def test_chart_shows_how_many_users_hold_each_level(self, admin_client, words):
        holders = [UserFactory() for _ in range(3)]
        for user in holders:
            UserBadge.objects.create(user=user, badge=words.badges.get(level=1), achieved_at=timezone.now())
        UserBadge.objects.create(user=holders[0], badge=words.badges.get(level=2), achieved_at=timezone.now())
        other_type = ActivityType.objects.get(code="FRIENDS").badges.get(level=1)
        UserBadge.objects.create(user=holders[1], badge=other_type, achieved_at=timezone.now())

        response = admin_client.get(change_url(words))

        html = error_text(response)
        assert "Users holding each level" in html
        assert [(row["level"], row["holders"]) for row in response.context["level_chart"]["rows"]] == [
            (1, 3),
            (2, 1),
            (3, 0),
            (4, 0),
            (5, 0),
        ]
        assert 'data-level="1" data-holders="3"' in html
        assert 'data-level="2" data-holders="1"' in html
        assert 'data-level="5" data-holders="0"' in html
        assert "4 awards in all" in html
        assert "<script" not in html.split('id="level-chart"')[1].split("</fieldset>")[0]

    def test_chart_bars_scale_to_the_largest_level(self, words):
        for user in [UserFactory(), UserFactory()]:
            UserBadge.objects.create(user=user, badge=words.badges.get(level=1), achieved_at=timezone.now())
        UserBadge.objects.create(user=UserFactory(), badge=words.badges.get(level=3), achieved_at=timezone.now())

        rows = level_holders_chart(words)["rows"]

        assert [row["percent"] for row in rows] == [100, 0, 50, 0, 0]

    def test_chart_is_one_query(self, words, django_assert_num_queries):
        with django_assert_num_queries(1):
            level_holders_chart(words)


@pytest.mark.django_db
class TestUserBadgeAndMetricAdmin:
    def test_user_badges_are_searchable_by_username_and_filterable(self, admin_client, words):
        alice, bob = UserFactory(username="alice_reads"), UserFactory(username="bob_reads")
        UserBadge.objects.create(user=alice, badge=words.badges.get(level=1), achieved_at=timezone.now())
        friends = ActivityType.objects.get(code="FRIENDS")
        UserBadge.objects.create(user=bob, badge=friends.badges.get(level=1), achieved_at=timezone.now())

        by_name = admin_client.get("/admin/gamification/userbadge/", {"q": "ALICE"})
        by_type = admin_client.get("/admin/gamification/userbadge/", {"badge__activity_type__id__exact": friends.pk})

        assert by_name.status_code == 200
        assert [row.user.username for row in by_name.context["cl"].result_list] == ["alice_reads"]
        assert [row.user.username for row in by_type.context["cl"].result_list] == ["bob_reads"]

    def test_user_badges_cannot_be_added_edited_or_deleted_without_a_reason(self, admin_client, words):
        award = UserBadge.objects.create(
            user=UserFactory(), badge=words.badges.get(level=1), achieved_at=timezone.now()
        )
        url = f"/admin/gamification/userbadge/{award.pk}/"

        assert admin_client.get("/admin/gamification/userbadge/add/").status_code == 403
        assert admin_client.post(f"{url}change/", {"seen_at_0": "2020-01-01"}).status_code == 403
        assert admin_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
        assert UserBadge.objects.filter(pk=award.pk).exists()

    def test_metrics_are_read_only(self, admin_client, words):
        learner = UserFactory(username="metric_owner")
        metric = UserMetric.objects.create(user=learner, activity_type=words, value=42)
        url = f"/admin/gamification/usermetric/{metric.pk}/"

        listing = admin_client.get("/admin/gamification/usermetric/", {"q": "metric_OWNER"})
        filtered = admin_client.get("/admin/gamification/usermetric/", {"activity_type__id__exact": words.pk})

        assert [row.pk for row in listing.context["cl"].result_list] == [metric.pk]
        assert [row.pk for row in filtered.context["cl"].result_list] == [metric.pk]
        assert admin_client.get(f"{url}change/").status_code == 200  # view only
        assert admin_client.post(f"{url}change/", {"value": 1}).status_code == 403
        assert admin_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
        assert admin_client.get("/admin/gamification/usermetric/add/").status_code == 403
        metric.refresh_from_db()
        assert metric.value == 42


@pytest.mark.django_db
class TestBadgeEditors:
    @pytest.fixture
    def editor_client(self, db):
        editor = UserFactory(is_staff=True)
        editor.groups.add(Group.objects.get(name="Badge editors"))
        client = Client()
        client.force_login(editor)
        return client

    def test_group_holds_exactly_the_badge_permissions(self):
        group = Group.objects.get(name="Badge editors")

        # ... and may follow the "award badges" task their action starts.
        assert sorted(group.permissions.values_list("codename", flat=True)) == sorted(
            [
                *(f"{a}_{model}" for model in ("activitytype", "badge") for a in ("view", "add", "change", "delete")),
                "view_taskrun",
            ]
        )

    def test_editor_edits_badges(self, editor_client, words):
        assert editor_client.get(CHANGELIST).status_code == 200
        data = form_data(editor_client, change_url(words))
        data[f"badges-{inline_index(words, 1)}-name"] = "Word Curious Cat"

        response = editor_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert words.badges.get(level=1).name == "Word Curious Cat"

    @pytest.mark.parametrize(
        "url",
        [
            "/admin/gamification/user/",
            "/admin/gamification/userbadge/",
            "/admin/gamification/usermetric/",
            "/admin/auth/group/",
        ],
    )
    def test_editor_gets_403_elsewhere(self, editor_client, url):
        assert editor_client.get(url).status_code == 403

    def test_learner_cannot_reach_the_admin(self, user, words):
        client = Client()
        client.force_login(user)

        response = client.get(change_url(words))

        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
class TestLearnerPreview:
    def test_preview_shows_the_icon_name_texts_and_threshold_of_each_level(self, admin_client, words):
        response = admin_client.get(change_url(words))

        forms = response.context["inline_admin_formsets"][0].formset.forms
        preview = forms[inline_index(words, 2)].learner_preview()
        assert preview == {
            "name": "Translation Enthusiast",
            "threshold": 100,
            "unachieved": "Translate 100 unique words while reading.",
            "achieved": "You translated 100 unique words!",
            "icon_url": "/static/gamification/badges/translated_words_2.svg",
            "upload_url": "",
            "icon_source": "the bundled icon translated_words_2",
            "warnings": [],
        }

    def test_the_preview_shows_the_upload_learners_see_not_the_bundled_icon(self, admin_client, words, media_root):
        from gamification.services.badge_icons import badge_icon_clean

        badge = words.badges.get(level=1)
        badge.icon_upload = badge_icon_clean(SimpleUploadedFile("mine.png", image_bytes("PNG"), "image/png"))
        badge.save(update_fields=["icon_upload"])

        response = admin_client.get(change_url(words))

        preview = response.context["inline_admin_formsets"][0].formset.forms[0].learner_preview()
        assert preview["icon_url"] == badge.icon_upload.url == preview["upload_url"]
        assert preview["icon_source"] == "the uploaded image"
        html = error_text(response).split('id="badges-0"')[1].split('id="badges-1"')[0]
        assert html.count(f'src="{badge.icon_upload.url}"') == 2  # achieved and not: the same icon
        assert "translated_words_1.svg" not in html.split('class="learner-preview"')[1]

    @pytest.mark.parametrize(
        ("text", "threshold", "flagged"),
        [
            ("Translate 100 unique words.", 100, False),
            ("Translate 2,500 words.", 2500, False),
            ("Keep a 7-day streak.", 7, False),
            ("Join your first classroom.", 1, False),
            ("Translate 100 unique words.", 80, True),
            ("Read 1,000 articles in 30 days.", 500, True),
        ],
    )
    def test_descriptions_naming_another_number_are_flagged(self, text, threshold, flagged):
        from gamification.admin.forms import description_number_mismatches

        warnings = description_number_mismatches(threshold=threshold, descriptions=[("achieved", text)])

        assert bool(warnings) is flagged
        if flagged:
            assert warnings[0].endswith(f"but the threshold is {threshold}.")

    def test_saving_a_threshold_the_texts_contradict_warns_after_the_save(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 2)}-threshold"] = 80

        response = admin_client.post(change_url(words), data, follow=True)

        assert words.badges.get(level=2).threshold == 80
        warnings = [str(message) for message in response.context["messages"] if message.level_tag == "warning"]
        assert warnings == [
            "Level 2: The not achieved text names 100, but the threshold is 80.",
            "Level 2: The achieved text names 100, but the threshold is 80.",
        ]

    def test_a_threshold_error_sits_on_its_level_and_field(self, admin_client, words):
        data = form_data(admin_client, change_url(words))
        data[f"badges-{inline_index(words, 3)}-threshold"] = 50

        response = admin_client.post(change_url(words), data)

        forms = response.context["inline_admin_formsets"][0].formset.forms
        assert list(forms[inline_index(words, 3)].errors) == ["threshold"]
        assert [form.errors for index, form in enumerate(forms) if index != inline_index(words, 3)] == [{}] * 4
        html = error_text(response)
        assert html.count("badge-level has_original has-errors") == 1


@pytest.mark.django_db
class TestWhatEachGroupIsOffered:
    @pytest.fixture
    def editor_client(self, db):
        editor = UserFactory(is_staff=True)
        editor.groups.add(Group.objects.get(name="Badge editors"))
        client = Client()
        client.force_login(editor)
        return client

    def test_a_badge_editor_is_offered_only_badge_work(self, editor_client, words):
        index = editor_client.get("/admin/")
        changelist = editor_client.get(CHANGELIST)
        change = editor_client.get(change_url(words))

        assert [
            (app["name"], [model["object_name"] for model in app["models"]]) for app in index.context["app_list"]
        ] == [("Badges", ["ActivityType"]), ("Background work", ["TaskRun"])]  # to follow the award task
        actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
        assert actions == ["", "award_qualified_badges"]
        assert change.context["has_delete_permission"] is False
        assert "revoke" not in error_text(change).lower()

    def test_a_badge_editor_may_delete_a_level_nobody_holds(self, editor_client, words):
        data = form_data(editor_client, change_url(words))
        data[f"badges-{inline_index(words, 5)}-DELETE"] = "on"

        response = editor_client.post(change_url(words), data)

        assert response.status_code == 302, error_text(response)
        assert words.badges.count() == 4

    def test_a_badge_editor_runs_the_award_action_to_its_end(self, editor_client, words):
        learner = UserFactory()
        UserMetric.objects.create(user=learner, activity_type=words, value=10)

        response = editor_client.post(
            CHANGELIST, {"action": "award_qualified_badges", "_selected_action": [words.pk]}, follow=True
        )

        assert response.status_code == 200
        assert "as a background task" in error_text(response)
        run_queued_tasks()
        assert TaskRun.objects.get().result.startswith("Awarded 1 badge")
        # The message links to the task's progress, which a badge editor may follow.
        assert editor_client.get(f"/admin/gamification/taskrun/{TaskRun.objects.get().pk}/change/").status_code == 200

    def test_a_leftover_type_no_rule_feeds_can_be_deleted_while_nobody_has_progress(self, admin_client):
        leftover = ActivityType.objects.create(code="OLD_THING", name="Old", award_mechanism="COUNTER")
        url = f"{CHANGELIST}{leftover.pk}/delete/"

        assert admin_client.get(change_url(leftover)).context["has_delete_permission"] is True
        UserMetric.objects.create(user=UserFactory(), activity_type=leftover, value=1)
        assert admin_client.get(url).status_code == 403
        UserMetric.objects.all().delete()
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
        assert not ActivityType.objects.filter(code="OLD_THING").exists()

    def test_the_held_level_refusal_points_revokers_to_revoking_and_others_to_someone_who_may(self, words):
        from gamification.admin.forms import BadgeInlineFormSet

        formset = BadgeInlineFormSet.__new__(BadgeInlineFormSet)
        formset.held_badges_url = "/admin/gamification/userbadge/"
        with_link = formset._with_revoke_hint("Held.", 7)
        formset.held_badges_url = None
        without = formset._with_revoke_hint("Held.", 7)

        assert 'href="/admin/gamification/userbadge/?badge__id__exact=7"' in with_link
        assert "href" not in without and "Staff who may revoke badges" in without
