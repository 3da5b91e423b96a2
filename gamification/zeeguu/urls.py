"""The Zeeguu-compatible paths, as upstream's frontend requests them (docs/zeeguu.md), under
``/<ZEEGUU_COMPAT_PREFIX>/`` (``zeeguu_site.urls``). No trailing slashes, as upstream; the doubled
slashes of some calls are collapsed before these patterns are matched (``middleware``)."""

from django.urls import path

from gamification.zeeguu import views

urlpatterns = [
    path("session/<str:email>", views.SessionView.as_view(), name="zeeguu-session"),
    path("validate", views.ValidateView.as_view(), name="zeeguu-validate"),
    path("get_user_details", views.UserDetailsView.as_view(), name="zeeguu-user-details"),
    path("user_settings", views.UserSettingsView.as_view(), name="zeeguu-user-settings"),
    path("user_timezone", views.UserTimezoneView.as_view(), name="zeeguu-user-timezone"),
    path("my_friends", views.MyFriendsView.as_view(), name="zeeguu-my-friends"),
    path("friends_of/<str:username>", views.FriendsOfView.as_view(), name="zeeguu-friends-of"),
    path(
        "get_number_of_received_friend_requests",
        views.ReceivedRequestsCountView.as_view(),
        name="zeeguu-received-requests-count",
    ),
    path("get_received_friend_requests", views.ReceivedRequestsView.as_view(), name="zeeguu-received-requests"),
    path("get_sent_friend_requests", views.SentRequestsView.as_view(), name="zeeguu-sent-requests"),
    path("search_users", views.SearchUsersView.as_view(), name="zeeguu-search-users"),
    path("get_friend_details/<str:username>", views.FriendDetailsView.as_view(), name="zeeguu-friend-details"),
    path("send_friend_request", views.SendFriendRequestView.as_view(), name="zeeguu-send-friend-request"),
    path("delete_friend_request", views.CancelFriendRequestView.as_view(), name="zeeguu-delete-friend-request"),
    path("accept_friend_request", views.AcceptFriendRequestView.as_view(), name="zeeguu-accept-friend-request"),
    path("reject_friend_request", views.RejectFriendRequestView.as_view(), name="zeeguu-reject-friend-request"),
    path("unfriend", views.UnfriendView.as_view(), name="zeeguu-unfriend"),
    path("my_badges", views.MyBadgesView.as_view(), name="zeeguu-my-badges"),
    path("friend_badges/<str:username>", views.FriendBadgesView.as_view(), name="zeeguu-friend-badges"),
    path("badges/count_unseen", views.UnseenBadgesCountView.as_view(), name="zeeguu-badges-count-unseen"),
    path("badges/mark_all_seen", views.MarkAllBadgesSeenView.as_view(), name="zeeguu-badges-mark-all-seen"),
    path("friends_leaderboard", views.FriendsLeaderboardView.as_view(), name="zeeguu-friends-leaderboard"),
    path("cohort_leaderboard/<int:cohort_id>", views.CohortLeaderboardView.as_view(), name="zeeguu-cohort-leaderboard"),
    path("student_info", views.StudentInfoView.as_view(), name="zeeguu-student-info"),
    path("daily_streak", views.DailyStreakView.as_view(), name="zeeguu-daily-streak"),
    path("all_language_streaks", views.AllLanguageStreaksView.as_view(), name="zeeguu-all-language-streaks"),
    path("language_streak_history", views.LanguageStreakHistoryView.as_view(), name="zeeguu-language-streak-history"),
    path(
        "friend_language_streak_history/<str:username>",
        views.FriendLanguageStreakHistoryView.as_view(),
        name="zeeguu-friend-language-streak-history",
    ),
]
