"""Sign-up, login, logout, the user's own profile and the avatar options (SPEC §1, §5)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gamification.constants import AVATAR_IMAGES, BACKGROUND_COLORS, CHARACTER_COLORS
from gamification.features import features_for
from gamification.models import ClientToken, User
from gamification.serializers.users import (
    AuthOutputSerializer,
    AvatarOptionsSerializer,
    LoginInputSerializer,
    MeSerializer,
    MeUpdateSerializer,
    RegisterInputSerializer,
    TokenOutputSerializer,
    me_out,
)
from gamification.services.tokens import IssuedToken, auth_token_issue, auth_token_revoke, auth_token_revoke_all
from gamification.services.users import user_authenticate, user_delete, user_register, user_update
from gamification.views.inputs import validated_body
from gamification.views.schema import validation_error
from gamification.views.throttles import AuthThrottle

LOGIN_FAILED = "The email or password is incorrect."


def me_payload(request: Request, user: User) -> dict:
    return me_out(user, features_for(request))


def auth_payload(request: Request, user: User, issued: IssuedToken) -> dict:
    return {**TokenOutputSerializer(issued).data, "user": me_payload(request, user)}


def client_name_of(request: Request) -> str:
    """What the token is issued to, as staff see it in the admin: the client's User-Agent."""
    return request.META.get("HTTP_USER_AGENT", "")


class RegisterView(APIView):
    """Create an account. Anyone may call it."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=RegisterInputSerializer,
        responses={
            201: AuthOutputSerializer,
            400: validation_error("Invalid fields, an email already registered, or a password the rules refuse."),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = validated_body(RegisterInputSerializer, request)
        user, issued = user_register(**data, client_name=client_name_of(request))
        request.user = user
        return Response(auth_payload(request, user, issued), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    """Exchange email and password for a new API token for this client. Anyone may call it."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: AuthOutputSerializer,
            400: validation_error("Missing fields, or a wrong email or password (one message for both)."),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = validated_body(LoginInputSerializer, request)
        user = user_authenticate(email=data["email"], password=data["password"])
        if user is None:
            # One message whether or not the email exists.
            raise ValidationError({"detail": LOGIN_FAILED})
        issued = auth_token_issue(user=user, client_name=client_name_of(request))
        request.user = user
        return Response(auth_payload(request, user, issued))


class LogoutView(APIView):
    """End the calling client's token (the user's other clients stay logged in). Logged-in users."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Logged out")}, tags=["auth"])
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ClientToken):
            auth_token_revoke(token=request.auth)
        if hasattr(request, "session"):
            request.session.flush()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """End every token of the caller, on every client, and this session. Logged-in users."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Logged out everywhere")}, tags=["auth"])
    def post(self, request: Request) -> Response:
        auth_token_revoke_all(user=request.user)
        if hasattr(request, "session"):
            request.session.flush()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The caller's own account. Logged-in users."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(me_payload(request, request.user))

    @extend_schema(
        request=MeUpdateSerializer,
        responses={200: MeSerializer, 400: validation_error("Field errors (e.g. a username that is taken).")},
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        user = user_update(user=request.user, **validated_body(MeUpdateSerializer, request, partial=True))
        return Response(me_payload(request, user))

    @extend_schema(responses={204: OpenApiResponse(description="Account deleted")}, tags=["me"])
    def delete(self, request: Request) -> Response:
        user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvatarOptionsView(APIView):
    """The allowed avatar values. Anyone may call it."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: AvatarOptionsSerializer}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(
            {
                "images": list(AVATAR_IMAGES),
                "character_colors": list(CHARACTER_COLORS),
                "background_colors": list(BACKGROUND_COLORS),
            }
        )
