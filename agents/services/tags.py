"""Which tags an agent has (the tags themselves are written by `tags.services`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from django.utils import timezone

from agents import permissions
from agents.models import Agent, AgentEventType
from agents.permissions import Actor
from agents.services.cleaning import clean_tag_ids
from agents.services.events import _record_and_return
from agents.services.rules import _lock_live_agent
from voipbin_admin.core import atomic_service


def _write_tags(agent: Agent, tag_ids: Iterable[UUID]) -> None:
    from tags.models import AgentTag

    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag_id=tag_id) for tag_id in tag_ids)


@atomic_service
def agent_replace_tags(*, actor: Actor, agent: Agent, tag_ids: object) -> Agent:
    """Replace all tags with live tags of the agent's customer (INVALID_TAG_IDS otherwise)."""
    from tags.models import AgentTag

    permissions.require_supervisor_of(actor, agent.customer_id)
    wanted = clean_tag_ids(agent.customer_id, tag_ids)
    _lock_live_agent(agent)
    AgentTag.objects.filter(agent_id=agent.pk).delete()
    _write_tags(agent, wanted)
    Agent.objects.filter(pk=agent.pk).update(tm_update=timezone.now())
    return _record_and_return(agent, AgentEventType.UPDATED)


def _tags_on_locked_row(actor: Actor, agent: Agent) -> list[UUID]:
    """The agent's tags, read after its row is locked: two concurrent additions (console bulk
    actions) then run one after the other, and neither loses the other's tag."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_live_agent(agent)
    return list(agent.tag_links.values_list("tag_id", flat=True))


@atomic_service
def agent_add_tags(*, actor: Actor, agent: Agent, tag_ids: Sequence[UUID]) -> Agent:
    """Add tags to those the agent has (used by the console's bulk actions)."""
    current = _tags_on_locked_row(actor, agent)
    added = [tag_id for tag_id in tag_ids if tag_id not in current]
    return agent_replace_tags(actor=actor, agent=agent, tag_ids=current + added)


@atomic_service
def agent_remove_tags(*, actor: Actor, agent: Agent, tag_ids: Sequence[UUID]) -> Agent:
    """Remove tags from those the agent has (used by the console's bulk actions)."""
    current = _tags_on_locked_row(actor, agent)
    kept = [tag_id for tag_id in current if tag_id not in set(tag_ids)]
    return agent_replace_tags(actor=actor, agent=agent, tag_ids=kept)
