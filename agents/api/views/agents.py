"""Agents and their parts (contract section 6)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from agents import permissions, services
from agents.api.serializers import (
    AgentAddressesRequestSerializer,
    AgentCreateRequestSerializer,
    AgentPageSerializer,
    AgentPasswordRequestSerializer,
    AgentPermissionRequestSerializer,
    AgentSerializer,
    AgentStatusRequestSerializer,
    AgentTagIdsRequestSerializer,
    AgentUpdateRequestSerializer,
)
from agents.api.views.common import (
    AGENT_FILTERS,
    AGENT_ID,
    AGENTS,
    agent_page,
    managed_agent,
    visible_agent,
)
from agents.representation import agent_representation
from voipbin_admin.api.schema import (
    AUTHENTICATED_ERRORS,
    BODY_ERRORS,
    PAGE_PARAMETERS,
    error_responses,
)
from voipbin_admin.api.views import ApiView, json_body, provided


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
        return Response(agent_representation(visible_agent(self.request, agent_id)))

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
        agent = visible_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
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
        agent = visible_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
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
        agent = managed_agent(self.request, agent_id)
        return Response(
            agent_representation(services.agent_regenerate_direct_hash(actor=self.actor, agent=agent))
        )
