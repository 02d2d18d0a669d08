"""What the API doors of agents share: path and filter parameters, schema tags, and the
scoped lookups that answer another customer's object as missing."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from agents import permissions, selectors, services
from agents.models import AccessKey, Agent, AgentStatus, Permission, RingMethod
from agents.representation import agent_representations
from voipbin_admin.api.pagination import page_request, paginate
from voipbin_admin.errors import PermissionDenied
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


def path_agent(request, agent_id) -> Agent:
    """The live agent the route's `agent_id` names, if the caller may see it (404 otherwise):
    the one the credential's statement read with it when that was this id
    (`CredentialAuthentication`), else read now."""
    read = getattr(request, "agent_read_with_credential", None)
    if read is not None and read.agent_id == selectors.parse_uuid(agent_id):
        return selectors.agent_visible_to(request.user, read.agent)
    return selectors.agent_get(actor=request.user, agent_id=agent_id)


def managed_agent(request, agent_id) -> Agent:
    """An agent the caller supervises (404 for another customer's, 403 for a non-supervisor)."""
    agent = path_agent(request, agent_id)
    permissions.require_supervisor_of(request.user, agent.customer_id)
    return agent


def visible_agent(request, agent_id) -> Agent:
    """An agent the caller supervises or is."""
    agent = path_agent(request, agent_id)
    permissions.require_self_or_supervisor(request.user, agent)
    return agent


def own_agent(request) -> Agent:
    """The calling agent's own record (an access key has none): the one the credential's
    statement read with it on a route with `reads_own_agent`, else read now."""
    actor = request.user
    if not isinstance(actor, Agent):
        raise PermissionDenied(
            "AGENT_REQUIRED", "Only an agent signed in with a login token has its own record."
        )
    read = getattr(request, "agent_read_with_credential", None)
    if read is not None and read.agent_id == actor.pk and read.agent is not None:
        return read.agent
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
