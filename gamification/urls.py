"""The REST API under /api/: resources on a router, the rest (auth, me, events, leaderboards) as
plain views. Every route has a trailing slash; a path without one is a JSON 404."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from gamification.views import (
    accounts,
    activity,
    badges,
    classrooms,
    events,
    friend_requests,
    friends,
    leaderboards,
    platform,
    rest_days,
    safety,
    streaks,
    users,
)

router = SimpleRouter()
router.register("friend-requests", friend_requests.FriendRequestViewSet, basename="friend-request")
router.register("friends", friends.FriendViewSet, basename="friend")
router.register("users", users.UserViewSet, basename="user")
router.register("badges", badges.BadgeViewSet, basename="badge")
router.register("classrooms", classrooms.ClassroomViewSet, basename="classroom")
router.register("blocks", safety.BlockViewSet, basename="block")
router.register("platform/users", platform.PlatformUserViewSet, basename="platform-user")
router.register("me/rest-days", rest_days.RestDayViewSet, basename="rest-day")

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login/", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("me/privacy/", safety.PrivacySettingsView.as_view(), name="me-privacy"),
    path("me/activity/", activity.MyActivityView.as_view(), name="me-activity"),
    path("me/export/", activity.MyExportView.as_view(), name="me-export"),
    path("avatar-options/", accounts.AvatarOptionsView.as_view(), name="avatar-options"),
    path("events/", events.EventsView.as_view(), name="events"),
    path("streaks/", streaks.MyStreaksView.as_view(), name="streaks"),
    path("leaderboards/friends/", leaderboards.FriendsLeaderboardView.as_view(), name="leaderboard-friends"),
    path(
        "leaderboards/classrooms/<int:classroom_id>/",
        leaderboards.ClassroomLeaderboardView.as_view(),
        name="leaderboard-classroom",
    ),
    *router.urls,
]
