"""REST doors onto agents, access keys and login (contract sections 2, 6, 8, 9).

Each view: resolve the object through a selector (another customer's is 404), check who may
act with `agents.permissions` (403) where the contract's table is narrower than the service,
then pass the body's values to the service (which validates them) and render.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from agents import permissions, selectors, services
from agents.api.serializers import (
    AccessKeyCreateRequestSerializer,
    AccessKeyPageSerializer,
    AccessKeySerializer,
    AccessKeyUpdateRequestSerializer,
    AccessKeyWithTokenSerializer,
    AgentAddressesRequestSerializer,
    AgentCreateRequestSerializer,
    AgentPageSerializer,
    AgentPasswordRequestSerializer,
    AgentPermissionRequestSerializer,
    AgentSerializer,
    AgentStatusRequestSerializer,
    AgentTagIdsRequestSerializer,
    AgentUpdateRequestSerializer,
    LoginRequestSerializer,
    LoginResponseSerializer,
    OwnPasswordRequestSerializer,
)
from agents.models import AccessKey, Agent, AgentStatus, Permission, RingMethod
from agents.representation import access_key_representation, agent_representation, agent_representations
from agents.sign_in import authenticate_agent
from voipbin_admin.api.authentication import TOKEN_COOKIE
from voipbin_admin.api.pagination import page_request, paginate, represent_each
from voipbin_admin.api.schema import (
    AUTHENTICATED_ERRORS,
    BODY_ERRORS,
    EMPTY_OBJECT,
    PAGE_PARAMETERS,
    LoginErrorSerializer,
    error_responses,
)
from voipbin_admin.api.views import ApiView, json_body, provided
from voipbin_admin.errors import PermissionDenied, Unauthenticated
from voipbin_admin.timestamps import format_timestamp

AGENT_ID = OpenApiParameter("agent_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ACCESS_KEY_ID = OpenApiParameter("access_key_id", OpenApiTypes.UUID, OpenApiParameter.PATH)

AGENT_FILTERS = [
    OpenApiParameter(
        "status",
        OpenApiTypes.STR,
        enum=AgentStatus.values,
        description="Only this status; an empty value is refused (leave it out for every status).",
    ),
    OpenApiParameter(
        "tag_ids",
        {
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "minItems": 1,
            "maxItems": selectors.MAX_TAG_FILTER_IDS,
        },
        style="form",
        explode=False,
        description=f"Comma-separated tag ids (1 to {selectors.MAX_TAG_FILTER_IDS}): agents having any "
        "of them. Present but empty is refused.",
    ),
    OpenApiParameter("username", OpenApiTypes.STR, description="Exactly this username (any case)."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Case-insensitive match on name, username, detail."),
]

AGENTS = ["agents"]
SELF_SERVICE = ["service_agents"]
ACCESS_KEYS = ["accesskeys"]
AUTH = ["auth"]


def agent_page(request, *, customer_id) -> dict:
    """One page of the customer's live agents with the list filters of contract section 6."""
    page = page_request(request)
    params = request.query_params
    # Present means one status, as `tag_ids` present means at least one id: an empty value is
    # 400 INVALID_STATUS, not "any status" (leave the parameter out for that).
    status = params.get("status")
    if status is not None:
        services.clean_status(status)
    tag_ids = params.get("tag_ids")
    agents = selectors.agent_list(
        customer_id=customer_id,
        status=status,
        tag_ids=selectors.parse_tag_id_filter(tag_ids) if tag_ids is not None else None,
        username=params.get("username") or None,
        q=params.get("q") or None,
    )
    return paginate(agents.with_representation(), page, agent_representations)


def managed_agent(actor, agent_id) -> Agent:
    """An agent the actor supervises (404 for another customer's, 403 for a non-supervisor)."""
    agent = selectors.agent_get(actor=actor, agent_id=agent_id)
    permissions.require_supervisor_of(actor, agent.customer_id)
    return agent


def visible_agent(actor, agent_id) -> Agent:
    """An agent the actor supervises or is."""
    agent = selectors.agent_get(actor=actor, agent_id=agent_id)
    permissions.require_self_or_supervisor(actor, agent)
    return agent


def own_agent(actor) -> Agent:
    """The calling agent's own record; an access key has none."""
    if not isinstance(actor, Agent):
        raise PermissionDenied(
            "AGENT_REQUIRED", "Only an agent signed in with a login token has its own record."
        )
    return selectors.agent_get(actor=actor, agent_id=actor.pk)


def access_key_as_agent(access_key: AccessKey) -> dict:
    """`GET /v1.0/me` for an access key: agent-shaped, so typed clients decode it, with the key's
    id, customer and rights (permission 32) and no username, tags, addresses or direct hash."""
    return {
        "id": str(access_key.id),
        "customer_id": str(access_key.customer_id),
        "username": "",
        "name": access_key.name,
        "detail": access_key.detail,
        "ring_method": RingMethod.RINGALL,
        "status": AgentStatus.OFFLINE,
        "permission": Permission.CUSTOMER_ADMIN,
        "tag_ids": [],
        "addresses": [],
        "direct_hash": "",
        "tm_create": format_timestamp(access_key.tm_create),
        "tm_update": format_timestamp(access_key.tm_update),
        "tm_delete": format_timestamp(access_key.tm_delete),
    }


# --- login --------------------------------------------------------------------------------------


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
        return Response(agent_representation(own_agent(self.actor)))


# --- agents -------------------------------------------------------------------------------------


class AgentCollectionView(ApiView):
    @extend_schema(
        operation_id="agents_list",
        tags=AGENTS,
        summary="List the agents of the caller's customer (supervisors)",
        parameters=[*PAGE_PARAMETERS, *AGENT_FILTERS],
        responses={200: AgentPageSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        permissions.require_supervisor_of(self.actor, self.actor.customer_id)
        return Response(agent_page(request, customer_id=self.actor.customer_id))

    @extend_schema(
        operation_id="agents_create",
        tags=AGENTS,
        summary="Create an agent (supervisors); it starts offline with a direct hash",
        request=AgentCreateRequestSerializer,
        responses={201: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 409, *BODY_ERRORS)},
    )
    def post(self, request):
        permissions.require_supervisor_of(self.actor, self.actor.customer_id)
        body = json_body(request)
        agent = services.agent_create(
            actor=self.actor,
            customer_id=self.actor.customer_id,
            username=body.get("username"),
            password=body.get("password"),
            **provided(body, "name", "detail", "ring_method", "permission", "tag_ids", "addresses"),
        )
        return Response(agent_representation(agent), status=201)


class AgentDetailView(ApiView):
    @extend_schema(
        operation_id="agents_get",
        tags=AGENTS,
        summary="Get an agent (supervisors, or the agent itself)",
        parameters=[AGENT_ID],
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def get(self, request, agent_id):
        return Response(agent_representation(visible_agent(self.actor, agent_id)))

    @extend_schema(
        operation_id="agents_update",
        tags=AGENTS,
        summary="Change name, detail, ring_method (supervisors, or the agent itself)",
        description="Fields left out keep their value.",
        parameters=[AGENT_ID],
        request=AgentUpdateRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS)},
    )
    def put(self, request, agent_id):
        agent = visible_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_update(
            actor=self.actor, agent=agent, **provided(body, "name", "detail", "ring_method")
        )
        return Response(agent_representation(agent))

    @extend_schema(
        operation_id="agents_delete",
        tags=AGENTS,
        summary="Delete an agent (supervisors); answers the deleted agent",
        description="Frees its username, addresses and direct hash and revokes its login tokens. "
        "The customer's last admin cannot be deleted (409 LAST_ADMIN); only an admin deletes an admin, "
        "only a project super admin a project super admin (403 PERMISSION_NOT_ALLOWED).",
        parameters=[AGENT_ID],
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, 409)},
    )
    def delete(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        return Response(agent_representation(services.agent_delete(actor=self.actor, agent=agent)))


class AgentStatusView(ApiView):
    @extend_schema(
        operation_id="agents_set_status",
        tags=AGENTS,
        summary="Set an agent's status (supervisors, or the agent itself)",
        parameters=[AGENT_ID],
        request=AgentStatusRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS)},
    )
    def put(self, request, agent_id):
        agent = visible_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_set_status(
            actor=self.actor, agent=agent, status=body.get("status"), **provided(body, "reason")
        )
        return Response(agent_representation(agent))


class AgentAddressesView(ApiView):
    @extend_schema(
        operation_id="agents_replace_addresses",
        tags=AGENTS,
        summary="Replace all of an agent's addresses (supervisors)",
        description="All or nothing. An address held by another agent of the customer is 409 "
        "ADDRESS_ALREADY_ASSIGNED.",
        parameters=[AGENT_ID],
        request=AgentAddressesRequestSerializer,
        responses={
            200: AgentSerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, 404, 409, *BODY_ERRORS),
        },
    )
    def put(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_replace_addresses(
            actor=self.actor, agent=agent, addresses=body.get("addresses")
        )
        return Response(agent_representation(agent))


class AgentTagIdsView(ApiView):
    @extend_schema(
        operation_id="agents_replace_tag_ids",
        tags=AGENTS,
        summary="Replace all of an agent's tags (supervisors)",
        parameters=[AGENT_ID],
        request=AgentTagIdsRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS)},
    )
    def put(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_replace_tags(actor=self.actor, agent=agent, tag_ids=body.get("tag_ids"))
        return Response(agent_representation(agent))


class AgentPermissionView(ApiView):
    @extend_schema(
        operation_id="agents_set_permission",
        tags=AGENTS,
        summary="Set an agent's permission bits (supervisors)",
        description="Only a project super admin changes bit 1, only an admin bit 32; removing the "
        "last admin is 409 LAST_ADMIN. Revokes the agent's login tokens.",
        parameters=[AGENT_ID],
        request=AgentPermissionRequestSerializer,
        responses={
            200: AgentSerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, 404, 409, *BODY_ERRORS),
        },
    )
    def put(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_set_permission(
            actor=self.actor, agent=agent, permission=body.get("permission")
        )
        return Response(agent_representation(agent))


class AgentPasswordView(ApiView):
    @extend_schema(
        operation_id="agents_set_password",
        tags=AGENTS,
        summary="Reset an agent's password (supervisors); revokes its login tokens",
        description="Only an admin resets an admin's password, only a project super admin a project "
        "super admin's (403 PERMISSION_NOT_ALLOWED).",
        parameters=[AGENT_ID],
        request=AgentPasswordRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS)},
    )
    def put(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        body = json_body(request)
        agent = services.agent_set_password(
            actor=self.actor, agent=agent, password=body.get("password"), **provided(body, "old_password")
        )
        return Response(agent_representation(agent))


class AgentDirectHashView(ApiView):
    @extend_schema(
        operation_id="agents_regenerate_direct_hash",
        tags=AGENTS,
        summary="Give an agent a new direct hash (supervisors); the old one stops resolving",
        description="No body.",
        parameters=[AGENT_ID],
        request=None,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404, 409)},
    )
    def post(self, request, agent_id):
        agent = managed_agent(self.actor, agent_id)
        return Response(
            agent_representation(services.agent_regenerate_direct_hash(actor=self.actor, agent=agent))
        )


# --- agent self-service -------------------------------------------------------------------------


class OwnAgentView(ApiView):
    @extend_schema(
        operation_id="service_agents_me_get",
        tags=SELF_SERVICE,
        summary="The calling agent's own record (login tokens only)",
        responses={200: AgentSerializer, **error_responses(*AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        return Response(agent_representation(own_agent(self.actor)))

    @extend_schema(
        operation_id="service_agents_me_update",
        tags=SELF_SERVICE,
        summary="Change one's own name, detail, ring_method",
        request=AgentUpdateRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(self.actor)
        body = json_body(request)
        agent = services.agent_update(
            actor=self.actor, agent=agent, **provided(body, "name", "detail", "ring_method")
        )
        return Response(agent_representation(agent))


class OwnStatusView(ApiView):
    @extend_schema(
        operation_id="service_agents_me_set_status",
        tags=SELF_SERVICE,
        summary="Set one's own status",
        request=AgentStatusRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(self.actor)
        body = json_body(request)
        agent = services.agent_set_status(
            actor=self.actor, agent=agent, status=body.get("status"), **provided(body, "reason")
        )
        return Response(agent_representation(agent))


class OwnAddressesView(ApiView):
    @extend_schema(
        operation_id="service_agents_me_replace_addresses",
        tags=SELF_SERVICE,
        summary="Replace all of one's own addresses",
        request=AgentAddressesRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 409, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(self.actor)
        body = json_body(request)
        agent = services.agent_replace_addresses(
            actor=self.actor, agent=agent, addresses=body.get("addresses")
        )
        return Response(agent_representation(agent))


class OwnPasswordView(ApiView):
    @extend_schema(
        operation_id="service_agents_me_set_password",
        tags=SELF_SERVICE,
        summary="Change one's own password (needs old_password); revokes one's login tokens",
        request=OwnPasswordRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(self.actor)
        body = json_body(request)
        # Sending old_password (never None here) makes the service check it, for supervisors too.
        old_password = body.get("old_password")
        agent = services.agent_set_password(
            actor=self.actor,
            agent=agent,
            password=body.get("password"),
            old_password="" if old_password is None else old_password,
        )
        return Response(agent_representation(agent))


class CustomerAgentCollectionView(ApiView):
    @extend_schema(
        operation_id="service_agents_agents_list",
        tags=SELF_SERVICE,
        summary="List the agents of one's own customer (any agent)",
        parameters=[*PAGE_PARAMETERS, *AGENT_FILTERS],
        responses={200: AgentPageSerializer, **error_responses(400, 401)},
    )
    def get(self, request):
        return Response(agent_page(request, customer_id=self.actor.customer_id))


class CustomerAgentDetailView(ApiView):
    @extend_schema(
        operation_id="service_agents_agents_get",
        tags=SELF_SERVICE,
        summary="Get an agent of one's own customer (any agent)",
        parameters=[AGENT_ID],
        responses={200: AgentSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request, agent_id):
        return Response(agent_representation(selectors.agent_get(actor=self.actor, agent_id=agent_id)))


# --- access keys --------------------------------------------------------------------------------


def managed_access_key(actor, access_key_id) -> AccessKey:
    access_key = selectors.access_key_get(actor=actor, access_key_id=access_key_id)
    permissions.require_admin_of(actor, access_key.customer_id)
    return access_key


class AccessKeyCollectionView(ApiView):
    @extend_schema(
        operation_id="accesskeys_list",
        tags=ACCESS_KEYS,
        summary="List the customer's access keys (admins)",
        parameters=PAGE_PARAMETERS,
        responses={200: AccessKeyPageSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        permissions.require_admin_of(self.actor, self.actor.customer_id)
        keys = selectors.access_key_list(customer_id=self.actor.customer_id)
        return Response(paginate(keys, page_request(request), represent_each(access_key_representation)))

    @extend_schema(
        operation_id="accesskeys_create",
        tags=ACCESS_KEYS,
        summary="Create an access key (admins); the key itself is shown only in this response",
        request=AccessKeyCreateRequestSerializer,
        responses={
            200: AccessKeyWithTokenSerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS),
        },
    )
    def post(self, request):
        permissions.require_admin_of(self.actor, self.actor.customer_id)
        body = json_body(request)
        access_key, token = services.access_key_create(
            actor=self.actor, customer_id=self.actor.customer_id, **provided(body, "name", "detail", "expire")
        )
        return Response({**access_key_representation(access_key), "token": token})


class AccessKeyDetailView(ApiView):
    @extend_schema(
        operation_id="accesskeys_get",
        tags=ACCESS_KEYS,
        summary="Get an access key (admins)",
        parameters=[ACCESS_KEY_ID],
        responses={200: AccessKeySerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def get(self, request, access_key_id):
        return Response(access_key_representation(managed_access_key(self.actor, access_key_id)))

    @extend_schema(
        operation_id="accesskeys_update",
        tags=ACCESS_KEYS,
        summary="Change an access key's name and detail (admins)",
        parameters=[ACCESS_KEY_ID],
        request=AccessKeyUpdateRequestSerializer,
        responses={
            200: AccessKeySerializer,
            **error_responses(400, *AUTHENTICATED_ERRORS, 404, *BODY_ERRORS),
        },
    )
    def put(self, request, access_key_id):
        access_key = managed_access_key(self.actor, access_key_id)
        body = json_body(request)
        access_key = services.access_key_update(
            actor=self.actor, access_key=access_key, **provided(body, "name", "detail")
        )
        return Response(access_key_representation(access_key))

    @extend_schema(
        operation_id="accesskeys_delete",
        tags=ACCESS_KEYS,
        summary="Delete an access key (admins); it stops authenticating at once",
        parameters=[ACCESS_KEY_ID],
        responses={200: AccessKeySerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
    )
    def delete(self, request, access_key_id):
        access_key = managed_access_key(self.actor, access_key_id)
        return Response(
            access_key_representation(services.access_key_delete(actor=self.actor, access_key=access_key))
        )
