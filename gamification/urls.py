"""The REST API under /api/. Each area's views module declares its own ``urlpatterns``."""

from django.urls import path

from gamification.views import accounts, badges, classrooms, events, friends, leaderboards, streaks

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/login/", accounts.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", accounts.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("avatar-options/", accounts.AvatarOptionsView.as_view(), name="avatar-options"),
    *badges.urlpatterns,
    *friends.urlpatterns,
    *streaks.urlpatterns,
    *leaderboards.urlpatterns,
    *classrooms.urlpatterns,
    *events.urlpatterns,
]
