"""The Zeeguu-compatible calls (docs/zeeguu.md lists them with what is kept
and what is stricter). Each view reads upstream's input, calls the services and selectors that
``/api/`` calls, and answers in upstream's shape; friend actions answer exactly 200 on success,
which is all the frontend accepts.

Who may see whom is asked of ``selectors.relationships`` (through ``selectors.users``) as
``/api/`` asks it, so blocks and privacy settings hold here as they hold there; an answer about a
user one may not know exists is the answer for an unknown username.
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.exceptions import ConflictError, ForbiddenError, NotFoundError
from gamification.features import features_for
from gamification.models import ClassroomRole, User
from gamification.parsers import StrictJSONParser
from gamification.renderers import FastJSONRenderer
from gamification.selectors.badges import badge_progress_for_user, badges_achieved_by_user, badges_unseen_count
from gamification.selectors.classrooms import classroom_of_user, classrooms_of_user
from gamification.selectors.friends import (
    FRIEND_REQUESTS_LIST_MAX,
    friend_list,
    friend_request_between,
    friend_requests_received,
    friend_requests_received_count,
    friend_requests_sent,
    friends_of,
)
from gamification.selectors.leaderboards import classroom_leaderboard_between, friends_leaderboard_between
from gamification.selectors.relationships import can_view_private
from gamification.selectors.streaks import friend_streaks, languages_for_users, streaks_of_user
from gamification.selectors.users import (
    relationships_for,
    user_get_private,
    user_get_visible,
    user_search,
    users_with_relationship,
)
from gamification.serializers.friends import UserSearchQuerySerializer
from gamification.services.badges import badges_mark_seen
from gamification.services.friends import (
    friend_request_accept,
    friend_request_cancel,
    friend_request_reject,
    friend_request_send,
    friendship_end,
)
from gamification.services.tokens import auth_token_issue
from gamification.services.users import user_authenticate, user_update
from gamification.throttles import AuthThrottle, FriendRequestThrottle, SearchThrottle
from gamification.zeeguu.authentication import ZeeguuSessionAuthentication
from gamification.zeeguu.errors import CompatError, compat_exception_handler
from gamification.zeeguu.serializers import (
    BadgeCategorySerializer,
    FriendBadgeCategorySerializer,
    FriendDetailsSerializer,
    FriendOfSerializer,
    FriendRequestSerializer,
    FriendSerializer,
    LeaderboardQuerySerializer,
    LeaderboardRowSerializer,
    ReceivedFriendRequestSerializer,
    SearchResultSerializer,
    StudentInfoSerializer,
    TimezoneInputSerializer,
    UserDetailsSerializer,
    UserSettingsInputSerializer,
    friendship_obj,
    language_streaks,
    streak_history,
)

# Upstream's messages, word for word (the frontend shows some of them).
INVALID_CREDENTIALS = "Invalid credentials"
TO_YOURSELF = "cannot send friend request to yourself"
MISSING_RECEIVER = "Missing receiver username"
MISSING_SENDER = "Missing sender username"
RECEIVER_NOT_FOUND = "Receiver user not found"
SENDER_NOT_FOUND = "Sender user not found"
USER_NOT_FOUND = "User not found"
REQUEST_EXISTS = "A friend request already exists between these users."
NO_REQUEST_TO_ACCEPT = "No friend request found to accept"
FRIENDS_DENIED = "You can only view friends of yourself or your friends."
BADGES_DENIED = "You can only view badges for yourself or your friends."
DETAILS_UNKNOWN = "Not friends with this user or user not found."
COHORT_DENIED = "You can only view leaderboards for cohorts you belong to or teach."
USERNAME_TAKEN = "Username already in use"
# This service's rule where upstream has a gap (SPEC §12).
ALREADY_FRIENDS = "You are already friends with this user."


class AlwaysJson(DefaultContentNegotiation):
    """Upstream answers JSON whatever ``Accept`` says; so do these views (never a 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CompatView(APIView):
    """A call of the session user (``?session=`` or the cookie), answering JSON; errors are
    ``{"message": ...}``. Not in the OpenAPI schema of ``/api/``."""

    content_negotiation_class = AlwaysJson
    authentication_classes = [ZeeguuSessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]
    renderer_classes = [FastJSONRenderer]
    throttle_classes: list = []
    schema = None

    def get_exception_handler(self):
        return compat_exception_handler


def _text_ok() -> HttpResponse:
    # Upstream's plain "OK", with the content type Flask gives a string.
    return HttpResponse("OK", content_type="text/html; charset=utf-8")


def _user_or_none(viewer: User, username: object) -> User | None:
    """The user ``viewer`` names, or None when unknown to them (a block either way included)."""
    if not isinstance(username, str) or not username.strip():
        return None
    try:
        return user_get_visible(viewer=viewer, username=username.strip())
    except NotFoundError:
        return None


def _body_username(request: Request, key: str) -> str | None:
    """The username a friend action names in its JSON body, or None when it is missing."""
    value = request.data.get(key) if isinstance(request.data, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _is_self(user: User, username: str) -> bool:
    return username.strip().lower() == user.username.lower()


# Login and session (#1, #2) ---------------------------------------------------------------------
class SessionView(CompatView):
    """``POST /session/<email>`` (form ``password``): a new token of this service is the session,
    in the body and in the ``chocolatechip`` cookie. Rate-limited as ``/api/auth/login/``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]
    throttle_classes = [AuthThrottle]

    def post(self, request: Request, email: str) -> Response:
        password = request.data.get("password") if hasattr(request.data, "get") else None
        user = user_authenticate(email=email, password=password) if isinstance(password, str) and password else None
        if user is None:
            raise CompatError(401, INVALID_CREDENTIALS)
        issued = auth_token_issue(user=user, client_name=request.META.get("HTTP_USER_AGENT", ""))
        request.user = user
        response = Response({"session": issued.token})
        response.set_cookie(
            settings.ZEEGUU_SESSION_COOKIE,
            issued.token,
            max_age=int(settings.TOKEN_TTL.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response


class ValidateView(CompatView):
    """``GET /validate``: 200 ``OK`` while the session is valid (the frontend logs out on 401)."""

    def get(self, request: Request) -> HttpResponse:
        return _text_ok()


# The user's own details (#3, #4, #5) -------------------------------------------------------------
class UserDetailsView(CompatView):
    def get(self, request: Request) -> Response:
        roles = {item.role for item in classrooms_of_user(user=request.user)}
        context = {"roles": roles, "features": features_for(request)}
        return Response(UserDetailsSerializer(request.user, context=context).data)


class UserSettingsView(CompatView):
    """``POST /user_settings`` (form): name, username and the avatar; 200 ``OK``."""

    parser_classes = [FormParser]

    def post(self, request: Request) -> HttpResponse:
        serializer = UserSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user_update(user=request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            if hasattr(error, "error_dict") and "username" in error.error_dict:
                # The format was checked above: what is left is a name another user holds.
                raise CompatError(400, USERNAME_TAKEN) from None
            raise
        return _text_ok()


class UserTimezoneView(CompatView):
    """``POST /user_timezone`` (form ``timezone``, an IANA name); 200 ``OK``."""

    parser_classes = [FormParser]

    def post(self, request: Request) -> HttpResponse:
        serializer = TimezoneInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_update(user=request.user, timezone=serializer.validated_data["timezone"])
        return _text_ok()


# Friends (#6 .. #16) ----------------------------------------------------------------------------
class MyFriendsView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(FriendSerializer(friend_list(user=request.user), many=True).data)


class FriendsOfView(CompatView):
    """The friends of the caller or of a friend (the caller among them); ``[]`` for an unknown
    user; 403 for anyone else."""

    def get(self, request: Request, username: str) -> Response:
        try:
            target = user_get_private(viewer=request.user, username=username, denied_message=FRIENDS_DENIED)
        except NotFoundError:
            return Response([])
        friends = friends_of(user_id=target.pk, viewer_id=request.user.pk)
        languages = languages_for_users(user_ids=[friend.pk for friend in friends if not friend.progress_private])
        return Response(FriendOfSerializer(friends, many=True, context={"languages": languages}).data)


class ReceivedRequestsCountView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(friend_requests_received_count(user=request.user))


class ReceivedRequestsView(CompatView):
    """Requests I received, newest first (as many as ``/api/friend-requests/`` lists)."""

    def get(self, request: Request) -> Response:
        received = friend_requests_received(user=request.user)[:FRIEND_REQUESTS_LIST_MAX]
        return Response(ReceivedFriendRequestSerializer(received, many=True).data)


class SentRequestsView(CompatView):
    """Requests I sent, newest first (upstream has it; the frontend does not call it)."""

    def get(self, request: Request) -> Response:
        sent = friend_requests_sent(user=request.user)[:FRIEND_REQUESTS_LIST_MAX]
        return Response(FriendRequestSerializer(sent, many=True).data)


class SearchUsersView(CompatView):
    """``?query=``: the search of ``/api/users/?search=``; a term it would refuse (longer than
    any name, or holding NUL) finds nobody, as upstream answers ``[]``. Rate-limited with it."""

    throttle_classes = [SearchThrottle]

    def get(self, request: Request) -> Response:
        query = UserSearchQuerySerializer(data={"search": request.query_params.get("query", "")})
        if not query.is_valid():
            return Response([])
        users = user_search(viewer=request.user, term=query.validated_data["search"])
        return Response(SearchResultSerializer(users, many=True, context={"viewer": request.user}).data)


class FriendDetailsView(CompatView):
    """Anyone's profile and how the caller relates to them; unknown → upstream's 401."""

    def get(self, request: Request, username: str) -> Response:
        try:
            user = user_get_visible(viewer=request.user, username=username)
        except NotFoundError:
            raise CompatError(401, DETAILS_UNKNOWN) from None
        (user,) = users_with_relationship(viewer=request.user, users=[user])
        return Response(FriendDetailsSerializer(user, context={"viewer": request.user}).data)


class SendFriendRequestView(CompatView):
    """``{receiver_username}`` → 200 the request. Rate-limited as ``POST /api/friend-requests/``.
    Already friends → 400 (this service's rule, SPEC §12)."""

    throttle_classes = [FriendRequestThrottle]

    def post(self, request: Request) -> Response:
        username = _body_username(request, "receiver_username")
        if username is None:
            raise CompatError(400, MISSING_RECEIVER)
        try:
            sent = friend_request_send(sender=request.user, receiver_username=username)
        except NotFoundError:
            raise CompatError(400, RECEIVER_NOT_FOUND) from None
        except DjangoValidationError:
            if _is_self(request.user, username):
                raise CompatError(400, TO_YOURSELF) from None
            raise
        except ConflictError as error:
            raise CompatError(400, _conflict_message(request.user, username, error)) from None
        return Response(FriendRequestSerializer(sent).data)


def _conflict_message(user: User, username: str, error: ConflictError) -> str:
    """Upstream's words for a refused request, chosen from how the two users relate now."""
    other = _user_or_none(user, username)
    if other is None:
        return error.message
    status = relationships_for(viewer=user, users=[other])[other.pk].status
    if status == "friends":
        return ALREADY_FRIENDS
    if status in ("request_sent", "request_received"):
        return REQUEST_EXISTS
    return error.message


class CancelFriendRequestView(CompatView):
    """``/delete_friend_request {receiver_username}``: cancel the request I sent them."""

    def post(self, request: Request) -> Response:
        receiver = _user_or_none(request.user, _body_username(request, "receiver_username"))
        if receiver is None:
            raise CompatError(404, USER_NOT_FOUND)
        pending = friend_request_between(sender_id=request.user.pk, receiver_id=receiver.pk)
        if pending is None:
            return Response({"success": False})
        try:
            friend_request_cancel(request_id=pending.pk, acting_user=request.user)
        except NotFoundError:
            return Response({"success": False})
        return Response({"success": True})


def _sender_of_request_to(request: Request) -> User:
    """The user named by ``sender_username``, with upstream's 400s."""
    username = _body_username(request, "sender_username")
    if username is None:
        raise CompatError(400, MISSING_SENDER)
    sender = _user_or_none(request.user, username)
    if sender is None:
        raise CompatError(400, SENDER_NOT_FOUND)
    if sender.pk == request.user.pk:
        raise CompatError(400, TO_YOURSELF)
    return sender


class AcceptFriendRequestView(CompatView):
    """``{sender_username}`` → 200 the friendship; no request from them → 404."""

    def post(self, request: Request) -> Response:
        sender = _sender_of_request_to(request)
        pending = friend_request_between(sender_id=sender.pk, receiver_id=request.user.pk)
        if pending is None:
            raise CompatError(404, NO_REQUEST_TO_ACCEPT)
        try:
            accepted = friend_request_accept(request_id=pending.pk, acting_user=request.user)
        except NotFoundError:
            raise CompatError(404, NO_REQUEST_TO_ACCEPT) from None
        except ConflictError as error:
            raise CompatError(400, error.message) from None
        streak = friend_streaks(friendships=[accepted.friendship]).get(accepted.friendship.pk, 0)
        return Response(friendship_obj(created_at=accepted.friendship.created_at, friend_streak=streak))


class RejectFriendRequestView(CompatView):
    def post(self, request: Request) -> Response:
        sender = _sender_of_request_to(request)
        pending = friend_request_between(sender_id=sender.pk, receiver_id=request.user.pk)
        if pending is None:
            return Response({"success": False})
        try:
            friend_request_reject(request_id=pending.pk, acting_user=request.user)
        except NotFoundError:
            return Response({"success": False})
        return Response({"success": True})


class UnfriendView(CompatView):
    """``{receiver_username}``: end the friendship (history kept, as ``DELETE /api/friends/``)."""

    def post(self, request: Request) -> Response:
        username = _body_username(request, "receiver_username")
        if username is None:
            raise CompatError(400, MISSING_RECEIVER)
        friend = _user_or_none(request.user, username)
        if friend is None:
            raise CompatError(400, RECEIVER_NOT_FOUND)
        if friend.pk == request.user.pk:
            raise CompatError(400, TO_YOURSELF)
        try:
            friendship_end(user=request.user, friend_username=friend.username)
        except NotFoundError:
            return Response({"success": False})
        return Response({"success": True})


# Badges (#17 .. #20) ----------------------------------------------------------------------------
class MyBadgesView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(BadgeCategorySerializer(badge_progress_for_user(user=request.user), many=True).data)


class FriendBadgesView(CompatView):
    """A friend's (or my own) achieved badges; ``[]`` for an unknown user; 403 otherwise."""

    def get(self, request: Request, username: str) -> Response:
        try:
            user = user_get_private(viewer=request.user, username=username, denied_message=BADGES_DENIED)
        except NotFoundError:
            return Response([])
        return Response(FriendBadgeCategorySerializer(badges_achieved_by_user(user=user), many=True).data)


class UnseenBadgesCountView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(badges_unseen_count(user=request.user))


class MarkAllBadgesSeenView(CompatView):
    def post(self, request: Request) -> Response:
        badges_mark_seen(user=request.user)
        return Response({"updated": True})


# Leaderboards and classrooms (#21 .. #23) --------------------------------------------------------
def _leaderboard_query(request: Request):
    serializer = LeaderboardQuerySerializer(data=request.query_params, context={"timezone": request.user.timezone})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _board_rows(rows, query) -> list:
    return LeaderboardRowSerializer(rows, many=True, context={"scale": query.scale}).data


class FriendsLeaderboardView(CompatView):
    """Me and whoever was my friend at ``to_date``, over ``[from_date, to_date]`` (each read in my
    time zone when it has no offset); times in milliseconds; every row."""

    def get(self, request: Request) -> Response:
        query = _leaderboard_query(request)
        rows = friends_leaderboard_between(
            user=request.user, metric=query.metric, start=query.start, end=query.end, limit=query.limit
        )
        return Response(_board_rows(rows, query))


class CohortLeaderboardView(CompatView):
    """A classroom's board (cohorts are this service's classrooms). Not a member, or no such
    classroom → upstream's 403; a student while the teacher has the board off → 403 saying so."""

    def get(self, request: Request, cohort_id: int) -> Response:
        query = _leaderboard_query(request)
        try:
            rows = classroom_leaderboard_between(
                user=request.user,
                classroom_id=cohort_id,
                metric=query.metric,
                start=query.start,
                end=query.end,
                limit=query.limit,
            )
        except (NotFoundError, ForbiddenError) as error:
            member = isinstance(error, ForbiddenError) and classroom_of_user(user=request.user, classroom_id=cohort_id)
            raise CompatError(403, error.message if member else COHORT_DENIED) from None
        return Response(_board_rows(rows, query))


class StudentInfoView(CompatView):
    def get(self, request: Request) -> Response:
        classrooms = classrooms_of_user(user=request.user, role=ClassroomRole.STUDENT)
        return Response(StudentInfoSerializer(request.user, context={"classrooms": classrooms}).data)


# Streaks (#24 .. #27) ---------------------------------------------------------------------------
class DailyStreakView(CompatView):
    """The best current daily streak over my languages (upstream: of the learned language, which
    only the platform knows)."""

    def get(self, request: Request) -> Response:
        rows = streaks_of_user(user=request.user)
        return Response({"daily_streak": max((row.daily_streak for row in rows), default=0)})


class AllLanguageStreaksView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(language_streaks(streaks_of_user(user=request.user)))


class LanguageStreakHistoryView(CompatView):
    def get(self, request: Request) -> Response:
        return Response(streak_history(streaks_of_user(user=request.user), with_numbers=True))


class FriendLanguageStreakHistoryView(CompatView):
    """Mine or a friend's: the full history; anyone else's: codes and names only; an unknown
    user: ``[]``."""

    def get(self, request: Request, username: str) -> Response:
        try:
            user = user_get_visible(viewer=request.user, username=username)
        except NotFoundError:
            return Response([])
        visible = can_view_private(viewer_id=request.user.pk, target_id=user.pk)
        return Response(streak_history(streaks_of_user(user=user), with_numbers=visible))
