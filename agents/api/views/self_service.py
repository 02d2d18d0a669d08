"""An agent's own record and its customer's agents and tags (contract section 9)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from agents import services
from agents.api.serializers import (
    AgentAddressesRequestSerializer,
    AgentPageSerializer,
    AgentSerializer,
    AgentStatusRequestSerializer,
    AgentUpdateRequestSerializer,
    OwnPasswordRequestSerializer,
)
from agents.api.views.common import (
    AGENT_FILTERS,
    AGENT_ID,
    SELF_SERVICE,
    agent_page,
    own_agent,
    path_agent,
)
from agents.representation import agent_representation
from voipbin_admin.api.schema import (
    AUTHENTICATED_ERRORS,
    BODY_ERRORS,
    PAGE_PARAMETERS,
    error_responses,
)
from voipbin_admin.api.views import ApiView, json_body, provided


class OwnAgentView(ApiView):
    reads_own_agent = True  # read with the credential (CredentialAuthentication)

    @extend_schema(
        operation_id="service_agents_me_get",
        tags=SELF_SERVICE,
        summary="The calling agent's own record (login tokens only)",
        responses={200: AgentSerializer, **error_responses(*AUTHENTICATED_ERRORS)},
    )
    def get(self, request):
        return Response(agent_representation(own_agent(request)))

    @extend_schema(
        operation_id="service_agents_me_update",
        tags=SELF_SERVICE,
        summary="Change one's own name, detail, ring_method",
        request=AgentUpdateRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(request)
        body = json_body(request)
        agent = services.agent_update(
            actor=self.actor, agent=agent, **provided(body, "name", "detail", "ring_method")
        )
        return Response(agent_representation(agent))


class OwnStatusView(ApiView):
    reads_own_agent = True  # read with the credential (CredentialAuthentication)

    @extend_schema(
        operation_id="service_agents_me_set_status",
        tags=SELF_SERVICE,
        summary="Set one's own status",
        request=AgentStatusRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(request)
        body = json_body(request)
        agent = services.agent_set_status(
            actor=self.actor, agent=agent, status=body.get("status"), **provided(body, "reason")
        )
        return Response(agent_representation(agent))


class OwnAddressesView(ApiView):
    reads_own_agent = True  # read with the credential (CredentialAuthentication)

    @extend_schema(
        operation_id="service_agents_me_replace_addresses",
        tags=SELF_SERVICE,
        summary="Replace all of one's own addresses",
        request=AgentAddressesRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 409, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(request)
        body = json_body(request)
        agent = services.agent_replace_addresses(
            actor=self.actor, agent=agent, addresses=body.get("addresses")
        )
        return Response(agent_representation(agent))


class OwnPasswordView(ApiView):
    reads_own_agent = True  # read with the credential (CredentialAuthentication)

    @extend_schema(
        operation_id="service_agents_me_set_password",
        tags=SELF_SERVICE,
        summary="Change one's own password (needs old_password); revokes one's login tokens",
        request=OwnPasswordRequestSerializer,
        responses={200: AgentSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, *BODY_ERRORS)},
    )
    def put(self, request):
        agent = own_agent(request)
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
        return Response(agent_representation(path_agent(self.request, agent_id)))
