"""The admin site of the product (SPEC §7): its name in the header, and an index that puts badges
first and the internal tables apart.

Django lists every model of an app alphabetically under the app's name. Staff come for the
badges, so the index (and the navigation sidebar, built from the same list) groups this app's
models by what staff do with them; the tables that only explain derived numbers sit last, as
read-only diagnostics.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

APP_LABEL = "gamification"

# (section title, models by object name, the name each is listed under when not its own).
SECTIONS: list[tuple[str, list[tuple[str, str | None]]]] = [
    (
        "Badges",
        [
            ("ActivityType", "Badges and levels, by activity type"),
            ("UserBadge", "Badges held by learners"),
            ("BadgeAuditEntry", None),
            ("UserMetric", "Learners' progress (metrics)"),
        ],
    ),
    (
        "Learners",
        [
            ("User", "Users"),
            ("Friendship", None),
            ("FriendRequest", None),
            ("Block", None),
            ("Classroom", None),
            ("ClassroomMembership", None),
            ("ActivityEvent", "Activity log"),
            ("ClientToken", None),
        ],
    ),
    (
        "Platform integration",
        [
            ("WebhookEndpoint", None),
            ("WebhookDelivery", None),
        ],
    ),
    (
        "Background work",
        [
            ("TaskRun", "Background tasks (award badges, rebuild metrics)"),
            ("QueuedEventBatch", "Queued event batches"),
        ],
    ),
    (
        "Diagnostics (read-only)",
        [
            ("FirstOccurrence", None),
            ("PracticeDay", None),
            ("LanguageStreak", None),
        ],
    ),
]


# Other apps, under the name of what staff do there.
APP_NAMES = {"axes": "Login lockouts (Axes)", "waffle": "Feature flags"}


class ZeeguuAdminSite(admin.AdminSite):
    site_header = "Zeeguu gamification"
    site_title = "Zeeguu gamification admin"
    index_title = "Staff console"
    # "View site" lands on the service's front page (links to the admin, the API docs and the
    # health checks).
    site_url = "/"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        app_list = super().get_app_list(request, app_label)
        ours = next((app for app in app_list if app["app_label"] == APP_LABEL), None)
        if ours is None:
            return [{**app, "name": APP_NAMES.get(app["app_label"], app["name"])} for app in app_list]
        by_name = {model["object_name"]: model for model in ours["models"]}
        main, diagnostics = [], []
        for title, entries in SECTIONS:
            models = []
            for object_name, label in entries:
                model = by_name.pop(object_name, None)
                if model is None:
                    continue  # not registered, or this user may not see it
                models.append({**model, "name": label} if label else model)
            if models:
                section = {**ours, "name": title, "models": models}
                (diagnostics if title.startswith("Diagnostics") else main).append(section)
        if by_name:  # registered but not placed in a section yet: listed, never hidden
            main.append({**ours, "name": "More", "models": sorted(by_name.values(), key=lambda model: model["name"])})
        others = [{**app, "name": APP_NAMES.get(app["app_label"], app["name"])} for app in app_list if app is not ours]
        # This app's sections first, then the other apps as Django lists them, diagnostics last.
        return main + others + diagnostics


class ZeeguuAdminConfig(AdminConfig):
    default_site = "zeeguu_site.admin_site.ZeeguuAdminSite"
