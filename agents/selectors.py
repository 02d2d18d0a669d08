"""Scoped reads of agents, credentials and history.

Tenant scoping and soft delete are applied here once: another customer's agent is answered
exactly like a missing one (NOT_FOUND), so existence never leaks across customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone

from agents import permissions
from agents.models import AccessKey, Agent, AgentStatusChange, LoginToken
from agents.permissions import Actor
from agents.services import ACCESS_KEY_PREFIX, hash_secret
from voipbin_admin.errors import InvalidArgument, NotFound, Unauthenticated

MAX_TAG_FILTER_IDS = 100


def parse_uuid(value: object, *, reason: str = "INVALID_ID") -> UUID:
    """A UUID from a path or query value; INVALID_ID (400) when malformed."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidArgument(reason, f"{value!r} is not a valid id.") from None


def parse_tag_id_filter(raw: str) -> list[UUID]:
    """The `tag_ids` list filter: comma-separated UUIDs, 1 to 100 of them."""
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or any(not part for part in parts) or len(parts) > MAX_TAG_FILTER_IDS:
        raise InvalidArgument(
            "INVALID_TAG_IDS", f"tag_ids must be 1 to {MAX_TAG_FILTER_IDS} comma-separated tag ids."
        )
    return [parse_uuid(part, reason="INVALID_TAG_IDS") for part in parts]


def agent_list(
    *,
    customer_id: UUID,
    status: str | None = None,
    tag_ids: Sequence[UUID] | None = None,
    username: str | None = None,
    q: str | None = None,
) -> QuerySet[Agent]:
    """Live agents of one customer, newest first, ready to represent; the list filters of
    contract section 6 (an agent matches `tag_ids` if it has any of them)."""
    agents = Agent.objects.live().for_customer(customer_id)
    if status:
        agents = agents.filter(status=status)
    if tag_ids:
        agents = agents.filter(tag_links__tag_id__in=tag_ids).distinct()
    if username:
        agents = agents.filter(username__iexact=username)
    if q:
        agents = agents.filter(Q(name__icontains=q) | Q(username__icontains=q) | Q(detail__icontains=q))
    return agents.newest_first().with_related()


def agent_get(*, actor: Actor, agent_id: object, include_deleted: bool = False) -> Agent:
    """One agent the actor may see, with what its representation needs; AGENT_NOT_FOUND
    for a missing, deleted or other customer's agent."""
    agent_uuid = parse_uuid(agent_id)
    agents = Agent.objects.with_related().select_related("customer")
    if not include_deleted:
        agents = agents.live()
    agent = agents.filter(pk=agent_uuid).first()
    if agent is None or not permissions.belongs_to_customer(actor, agent.customer_id):
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    return agent


def agent_status_history(*, agent: Agent, limit: int = 100) -> QuerySet[AgentStatusChange]:
    return agent.status_changes.select_related("changed_by_agent", "changed_by_access_key").order_by(
        "-tm_create", "-id"
    )[:limit]


def access_key_list(*, customer_id: UUID) -> QuerySet[AccessKey]:
    return AccessKey.objects.live().for_customer(customer_id).newest_first()


def access_key_get(*, actor: Actor, access_key_id: object) -> AccessKey:
    key_uuid = parse_uuid(access_key_id)
    access_key = AccessKey.objects.live().filter(pk=key_uuid).first()
    if access_key is None or not permissions.belongs_to_customer(actor, access_key.customer_id):
        raise NotFound("ACCESS_KEY_NOT_FOUND", "No such access key.")
    return access_key


def credential_actor(raw: str) -> Agent | AccessKey:
    """Who a login token or access key (`vb_...`) stands for.

    A wrong, expired, revoked or deleted credential, or one of a deleted agent, is
    INVALID_CREDENTIALS.
    """
    now = timezone.now()
    invalid = Unauthenticated("INVALID_CREDENTIALS", "The credential is not valid.")
    if not raw:
        raise invalid
    if raw.startswith(ACCESS_KEY_PREFIX):
        access_key = AccessKey.objects.live().filter(token_hash=hash_secret(raw), tm_expire__gt=now).first()
        if access_key is None:
            raise invalid
        return access_key
    token = (
        LoginToken.objects.select_related("agent")
        .filter(
            token_hash=hash_secret(raw),
            tm_revoke__isnull=True,
            tm_expire__gt=now,
            agent__tm_delete__isnull=True,
        )
        .first()
    )
    if token is None:
        raise invalid
    return token.agent
