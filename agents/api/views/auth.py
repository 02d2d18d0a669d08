"""Login, logout and `GET /v1.0/me` (contract section 2)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from agents import services
from agents.api.serializers import (
    AgentSerializer,
    LoginRequestSerializer,
    LoginResponseSerializer,
)
from agents.api.views.common import (
    AUTH,
    access_key_as_agent,
    own_agent,
)
from agents.models import AccessKey, Agent
from agents.representation import agent_representation
from agents.sign_in import authenticate_agent
from voipbin_admin.api.authentication import TOKEN_COOKIE
from voipbin_admin.api.schema import (
    BODY_ERRORS,
    EMPTY_OBJECT,
    LoginErrorSerializer,
    error_responses,
)
from voipbin_admin.api.views import ApiView, json_body
from voipbin_admin.errors import Unauthenticated


class LoginView(ApiView):
    authentication_classes = []
    permission_classes = []

    @extend_schema(
        operation_id="auth_login",
        tags=AUTH,
        summary="Log in: a login token for an agent's username and password",
        description="Also sets the cookie `token` (HttpOnly, SameSite=Strict, Secure over HTTPS). "
        "Repeated failures per username or per client address are answered 429.",
        request=LoginRequestSerializer,
        responses={
            200: LoginResponseSerializer,
            **error_responses(400, 401, *BODY_ERRORS, 429, 503, envelope=LoginErrorSerializer),
        },
        auth=[],
    )
    def post(self, request):
        body = json_body(request)
        agent = authenticate_agent(request, username=body.get("username"), password=body.get("password"))
        if agent is None:
            raise Unauthenticated("INVALID_CREDENTIALS", "Wrong username or password.")
        token = services.login_token_issue(agent=agent)
        response = Response({"username": agent.username, "token": token})
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=int(settings.LOGIN_TOKEN_LIFETIME.total_seconds()),
            httponly=True,
            samesite="Strict",
            secure=request.is_secure(),
        )
        return response

    def handle_exception(self, exc):
        """The envelope, and its message at the top level too: the Go SDK generated from
        VoIPbin's spec decodes login errors as `{"message": string}`."""
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "error" in response.data:
            response.data["message"] = response.data["error"]["message"]
        return response


@extend_schema_view(post=extend_schema(operation_id="v1_auth_login"))
class VersionedLoginView(LoginView):
    """The same login at /v1.0/auth/login."""


class LogoutView(ApiView):
    @extend_schema(
        operation_id="auth_logout",
        tags=AUTH,
        summary="Log out: revoke the login token of this request",
        description="An access key is not revoked by logout (delete it instead). Clears the `token` cookie.",
        request=None,
        responses={200: EMPTY_OBJECT, **error_responses(401)},
    )
    def post(self, request):
        if isinstance(self.actor, Agent):
            services.login_token_revoke(plaintext=request.auth)
        response = Response({})
        response.delete_cookie(TOKEN_COOKIE, samesite="Strict")
        return response


@extend_schema_view(post=extend_schema(operation_id="v1_auth_logout"))
class VersionedLogoutView(LogoutView):
    """The same logout at /v1.0/auth/logout."""


class MeView(ApiView):
    reads_own_agent = True  # read with the credential (CredentialAuthentication)

    @extend_schema(
        operation_id="me_get",
        tags=AUTH,
        summary="Who am I: the caller's agent",
        description="For an access key: an agent-shaped object with the key's id, customer, name and "
        "detail, permission 32, an empty username and no tags, addresses or direct hash.",
        responses={200: AgentSerializer, **error_responses(401)},
    )
    def get(self, request):
        if isinstance(self.actor, AccessKey):
            return Response(access_key_as_agent(self.actor))
        return Response(agent_representation(own_agent(request)))
