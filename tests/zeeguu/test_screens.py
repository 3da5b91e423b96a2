"""One test per screen of the Zeeguu web frontend: the calls in the order the screen makes them,
each answer checked for what the frontend reads from it (docs/zeeguu.md). Activity comes
in through ``POST /api/events/``, as the platform would report it."""

import datetime as dt
from urllib.parse import quote

import pytest
import time_machine
from waffle.models import Flag

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS
from gamification.timeutils import local_today, week_monday
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, ClassroomFactory, MembershipFactory, UserFactory
from tests.zeeguu.conftest import Frontend

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 6, 12, 15, 0, tzinfo=dt.UTC)  # a Wednesday
LEADERBOARD_TABS = ("reading_time", "read_articles", "exercises_done", "listening_time")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def gamification_on():
    flag = Flag.objects.get(name="gamification")
    flag.everyone = True
    flag.save()


def report(user, *events) -> None:
    response = client_for(user).post("/api/events/", {"events": list(events)}, format="json")
    assert response.status_code == 201, response.content


def reading(seconds: int, **extra) -> dict:
    return {"type": "practice", "kind": "reading", "duration_seconds": seconds, "language": "de", **extra}


def log_in(user) -> Frontend:
    """LogIn.js: POST /session/<email> (form password), exactly 200, then data.session."""
    response = Frontend().post_form(f"/session/{user.email}", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    return Frontend(response.json()["session"])


def ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


def assert_valid_avatar(avatar: dict) -> None:
    """The frontend's validatedAvatar*: each value exactly one of its lists, else it draws a default."""
    assert avatar["image_name"] in AVATAR_IMAGES
    assert avatar["character_color"] in CHARACTER_COLORS
    assert avatar["background_color"] in BACKGROUND_COLORS


def assert_user_row(user: dict) -> None:
    """FriendRow / UserBaseInfo: username, name, avatar.*."""
    assert isinstance(user["username"], str) and user["username"]
    assert isinstance(user["name"], str)
    assert_valid_avatar(user["avatar"])


@pytest.fixture
def ada():
    return UserFactory(username="ada_l", name="Ada", email="ada@example.com", timezone="Europe/Copenhagen")


@pytest.fixture
def ben():
    return UserFactory(username="ben_b", name="Ben", email="ben@example.com")


def befriend(a_frontend: Frontend, b_frontend: Frontend, b_username: str, a_username: str) -> None:
    assert a_frontend.post_json("/send_friend_request", {"receiver_username": b_username}).status_code == 200
    assert b_frontend.post_json("/accept_friend_request", {"sender_username": a_username}).status_code == 200


def test_app_start_login_details_validate_timezone(ada):
    frontend = log_in(ada)

    details = ok(frontend.get("/get_user_details"))
    # LocalStorage.setUserInfo and Feature.has_gamification(); SideNavProfileOption; ProfileDetails.
    for key in ("learned_language", "native_language", "is_teacher", "is_student", "is_anonymous"):
        assert key in details
    assert "gamification" in details["features"]
    assert (details["username"], details["name"], details["email"]) == ("ada_l", "Ada", "ada@example.com")
    assert_valid_avatar(details["user_avatar"])
    assert details["requires_email_verification"] is False  # no detour to /verify_email

    assert frontend.get("/validate").status_code == 200
    # useReportTimezone: sent when the browser's zone differs from the last one reported.
    assert frontend.post_form("/user_timezone", {"timezone": "Europe/Berlin"}).status_code == 200
    assert frontend.get("/daily_streak").json() == {"daily_streak": 0}


def test_friends_page_requests_accept_and_reject(ada, ben):
    cem = UserFactory(username="cem_c", name="Cem")
    ada_fe, ben_fe, cem_fe = log_in(ada), log_in(ben), log_in(cem)
    assert ben_fe.post_json("/send_friend_request", {"receiver_username": "ada_l"}).status_code == 200
    assert cem_fe.post_json("/send_friend_request", {"receiver_username": "ada_l"}).status_code == 200
    report(ben, reading(300))

    # useFriendRequestNotification on every route change.
    assert ok(ada_fe.get("/get_number_of_received_friend_requests")) == 2
    # Friends.js: the friends list and the received requests.
    assert ok(ada_fe.get("/my_friends")) == []
    requests = ok(ada_fe.get("/get_received_friend_requests"))
    assert [r["sender"]["username"] for r in requests] == ["cem_c", "ben_b"]
    for item in requests:
        assert_user_row(item["sender"])

    # Accept one (handleFriendActionPromise: exactly 200), reject the other, refetch the counter.
    assert ada_fe.post_json("/accept_friend_request", {"sender_username": "ben_b"}).status_code == 200
    assert ada_fe.post_json("/reject_friend_request", {"sender_username": "cem_c"}).status_code == 200
    assert ok(ada_fe.get("/get_number_of_received_friend_requests")) == 0

    (friend,) = ok(ada_fe.get("/my_friends"))
    assert_user_row(friend)
    assert friend["username"] == "ben_b"
    assert isinstance(friend["friendship"]["friend_streak"], int)
    assert [language["code"] for language in friend["languages"] or []] == ["de"]


def test_search_send_and_cancel(ada, ben):
    ada_fe = log_in(ada)

    def find(term: str) -> dict:
        # Friends.js searches once the trimmed input has 2 characters; encodeURIComponent.
        (row,) = ok(ada_fe.get(f"/search_users?query={quote(term)}"))
        assert_user_row(row)
        return row

    row = find("ben")
    assert not row["friendship"] and not row["friend_request"]  # shows "Add"
    assert ada_fe.post_json("/send_friend_request", {"receiver_username": row["username"]}).status_code == 200

    row = find("ben_")
    # A request whose sender is not the row's user shows "Cancel".
    assert row["friend_request"]["sender"]["username"] != row["username"]
    assert ada_fe.post_json("/delete_friend_request", {"receiver_username": "ben_b"}).status_code == 200
    assert not find("BEN")["friend_request"]

    # From Ben's side the request is one "they sent you".
    ada_fe.post_json("/send_friend_request", {"receiver_username": "ben_b"})
    (row,) = ok(log_in(ben).get("/search_users?query=ada"))
    assert row["friend_request"]["sender"]["username"] == row["username"] == "ada_l"


def test_profile_page_of_a_friend_and_of_a_stranger(ada, ben):
    ada_fe, ben_fe = log_in(ada), log_in(ben)
    befriend(ada_fe, ben_fe, "ben_b", "ada_l")
    report(ben, reading(200), *({"type": "word_translated", "word": f"wort{i}", "language": "de"} for i in range(10)))
    me = ok(ada_fe.get("/get_user_details"))

    # UserProfile.js loadProfile.
    profile = ok(ada_fe.get("/get_friend_details/ben_b"))
    assert profile["username"] != me["username"]  # no redirect to /profile
    assert (profile["username"], profile["name"]) == ("ben_b", "Ben")
    assert profile["created_at"]
    assert_valid_avatar(profile["user_avatar"])
    friendship = profile["friendship"]
    assert friendship["is_accepted"] is True  # the badges and friends tabs appear
    assert isinstance(friendship["friend_streak"], int) and friendship["created_at"]

    badges = {category["name"]: category["badges"] for category in ok(ada_fe.get("//friend_badges/ben_b"))}
    assert set(badges) == {"Meaning Builder", "Influencer"}  # ten words, and a first friend
    assert [(badge["name"], badge["achieved"]) for badge in badges["Meaning Builder"]] == [("Word Curious", True)]
    assert badges["Meaning Builder"][0]["icon_name"] == "translated-words.svg"

    friends = ok(ada_fe.get("/friends_of/ben_b"))
    assert [row["username"] for row in friends] == ["ada_l"]
    for row in friends:
        assert_user_row(row)
        assert [language["code"] for language in row["languages"] or []] == []

    history = ok(ada_fe.get("/friend_language_streak_history/ben_b"))
    # ProfileHeaderCard flags (code), LanguagesModal (code, language, daily_streak, max_streak).
    assert history == [
        {"code": "de", "language": "German", "daily_streak": 1, "max_streak": 1, "max_streak_date": "2024-06-12"}
    ]

    # A stranger's profile: no friendship, so no badges or friends tabs; languages without numbers.
    stranger = UserFactory(username="dora_d")
    report(stranger, reading(500))
    profile = ok(ada_fe.get("/get_friend_details/dora_d"))
    assert "friendship" not in profile
    assert ok(ada_fe.get("/friend_language_streak_history/dora_d")) == [{"code": "de", "language": "German"}]


def test_own_profile_badges_with_the_unseen_counter(ada):
    ada_fe = log_in(ada)
    report(ada, *({"type": "word_translated", "word": f"wort{i}", "language": "de"} for i in range(12)), reading(130))

    # useBadgeCounterNotification: shows when at least 1.
    assert ok(ada_fe.get("//badges/count_unseen")) >= 1
    categories = ok(ada_fe.get("//my_badges"))
    words = next(category for category in categories if category["name"] == "Meaning Builder")
    assert categories[0] is words  # the most recently achieved first
    assert words["current_value"] == 12
    levels = words["badges"]
    assert [badge["level"] for badge in levels] == [1, 2, 3, 4, 5]  # "achieved at" reads the last element
    achieved = [badge for badge in levels if badge["achieved"]]
    assert [badge["name"] for badge in achieved] == ["Word Curious"]
    assert achieved[0]["achieved_description"] and achieved[0]["achieved_at"]
    assert achieved[0]["is_shown"] is False  # the "new" tag
    next_level = next(badge for badge in levels if not badge["achieved"])
    assert next_level["unachieved_description"] and next_level["threshold"] == 100
    # Progress bar: min(current_value, threshold) / threshold.
    assert min(words["current_value"], next_level["threshold"]) / next_level["threshold"] == 0.12

    # An achieved badge not yet shown: markAllBadgesSeen() once, after the tags were drawn.
    assert ada_fe.post_empty("//badges/mark_all_seen").status_code == 200
    assert ok(ada_fe.get("//badges/count_unseen")) == 0
    assert all(
        badge["is_shown"]
        for category in ok(ada_fe.get("//my_badges"))
        for badge in category["badges"]
        if badge["achieved"]
    )
    assert [row["code"] for row in ok(ada_fe.get("/language_streak_history"))] == ["de"]


def week_strings(tz_name: str) -> tuple[str, str]:
    """computeWeeklyPeriod in a browser set to ``tz_name``: Monday 00:00:00 to Sunday 23:59:59."""
    monday = week_monday(local_today(tz_name))
    sunday = monday + dt.timedelta(days=6)
    return f"{monday.isoformat()}T00:00:00", f"{sunday.isoformat()}T23:59:59"


def test_leaderboards_friends_and_cohort(ada, ben):
    ada_fe, ben_fe = log_in(ada), log_in(ben)
    befriend(ada_fe, ben_fe, "ben_b", "ada_l")
    classroom = ClassroomFactory(name="German B1", leaderboard_enabled=True)
    MembershipFactory(classroom=classroom, user=ada)
    MembershipFactory(classroom=classroom, user=ben)
    report(ada, reading(600), {"type": "exercise_answered", "correct": True, "language": "de"})
    report(ben, reading(90), {"type": "practice", "kind": "listening", "duration_seconds": 45, "language": "de"})
    report(ben, {"type": "article_read", "article_id": 7, "language": "de"})

    details = ok(ada_fe.get("/get_user_details"))
    assert details["is_student"] is True
    cohorts = ok(ada_fe.get("//student_info"))["cohorts"]
    assert [(cohort["id"], cohort["name"]) for cohort in cohorts] == [(classroom.pk, "German B1")]

    start, end = week_strings(ada.timezone)
    expected = {
        "reading_time": {"ada_l": 600_000, "ben_b": 90_000},
        "read_articles": {"ada_l": 0, "ben_b": 1},
        "exercises_done": {"ada_l": 1, "ben_b": 0},
        "listening_time": {"ada_l": 0, "ben_b": 45_000},
    }
    for scope in ("/friends_leaderboard", f"/cohort_leaderboard/{cohorts[0]['id']}"):
        for metric in LEADERBOARD_TABS:
            query = f"metric={metric}&from_date={quote(start)}&to_date={quote(end)}"  # URLSearchParams
            rows = ok(ada_fe.get(f"{scope}?{query}"))
            assert isinstance(rows, list)
            for row in rows:
                assert_user_row(row["user"])
                assert isinstance(row["value"], int)
            assert {row["user"]["username"]: row["value"] for row in rows} == expected[metric], (scope, metric)
    # The previous week (the arrow back): nothing yet.
    previous = (dt.date.fromisoformat(start[:10]) - dt.timedelta(days=7)).isoformat()
    rows = ok(
        ada_fe.get(
            f"/friends_leaderboard?metric=reading_time&from_date={previous}T00:00:00&to_date={start[:10]}T00:00:00"
        )
    )
    assert {row["value"] for row in rows} == {0}


def test_streak_bar(ada):
    ada_fe = log_in(ada)
    assert ok(ada_fe.get("/all_language_streaks")) == []
    report(ada, reading(60))
    (row,) = ok(ada_fe.get("/all_language_streaks"))
    assert (row["code"], row["daily_streak"], row["practiced_today"]) == ("de", 0, False)
    report(ada, reading(60))  # two minutes today: the day counts (the chime plays)
    (row,) = ok(ada_fe.get("/all_language_streaks"))
    assert (row["code"], row["language"], row["daily_streak"], row["practiced_today"]) == ("de", "German", 1, True)
    assert ok(ada_fe.get("/daily_streak")) == {"daily_streak": 1}


def test_settings_and_the_avatar_editor(ada):
    ada_fe = log_in(ada)
    details = ok(ada_fe.get("/get_user_details"))
    assert (details["name"], details["username"], details["email"]) == ("Ada", "ada_l", "ada@example.com")

    # ProfileDetails.js handleSave: qs.stringify of the whole details object, name/username/email
    # on top, and the avatar editor's three values.
    form = {key: value for key, value in details.items() if not isinstance(value, dict | list) and value is not None}
    form.update(
        {
            "user_avatar[image_name]": details["user_avatar"]["image_name"],
            "features[0]": "gamification",
            "name": "Ada Lovelace",
            "username": "countess_ada",
            "email": details["email"],
            "avatar_image_name": "lynx",
            "avatar_character_color": "#6367FF",
            "avatar_background_color": "#C9BEFF",
        }
    )
    response = ada_fe.post_form("/user_settings", form)
    assert (response.status_code, response.content) == (200, b"OK")

    details = ok(ada_fe.get("/get_user_details"))
    assert (details["name"], details["username"]) == ("Ada Lovelace", "countess_ada")
    assert details["user_avatar"] == {"image_name": "lynx", "character_color": "#6367FF", "background_color": "#C9BEFF"}
    # The same account through /api/.
    me = client_for(ada).get("/api/me/").json()
    assert (me["username"], me["avatar"]["image"]) == ("countess_ada", "lynx")

    # A username someone holds: the form shows the message.
    UserFactory(username="taken_name")
    response = ada_fe.post_form("/user_settings", {**form, "username": "Taken_Name"})
    assert response.status_code == 400
    assert response.json() == {"message": "Username already in use"}
