"""Topics of the event stream (contract section 11) and who may subscribe to them.

A topic is `<scope>:<scope_id>:<resource>[:...]`. Scope `customer_id` needs a supervisor of that
customer (admin or manager, a project super admin, or one of its access keys); scope `agent_id`
needs the caller's own agent id. A subscription matches an event when one of the event's topics
starts with it (prefix match, no wildcard).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from agents import permissions
from agents.models import Agent
from agents.permissions import Actor

MAX_TOPICS = 100
MAX_TOPIC_LENGTH = 255
CUSTOMER_SCOPE = "customer_id"
AGENT_SCOPE = "agent_id"


class TopicError(ValueError):
    """A topic that is malformed or that the caller may not have: the connection closes (1008)."""


@dataclass(frozen=True)
class Topic:
    """A subscription: the string as sent (unsubscribe names it) and what it matches."""

    raw: str
    scope: str
    scope_id: UUID
    #: The prefix compared with an event's topics: `raw` with the id in its canonical form.
    prefix: str

    def matches(self, event_topics: tuple[str, ...]) -> bool:
        return any(topic.startswith(self.prefix) for topic in event_topics)


def parse_topic(raw: object) -> Topic:
    """The topic, or TopicError when it is not `<scope>:<scope_id>:<resource>[:...]` with a known
    scope, an id and a resource."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOPIC_LENGTH:
        raise TopicError("malformed topic")
    parts = raw.split(":", 2)
    if len(parts) != 3 or parts[0] not in (CUSTOMER_SCOPE, AGENT_SCOPE) or not parts[2]:
        raise TopicError("malformed topic")
    if not raw.isprintable() or any(character.isspace() for character in raw):
        raise TopicError("malformed topic")
    try:
        scope_id = UUID(parts[1])
    except ValueError:
        raise TopicError("malformed topic") from None
    return Topic(raw=raw, scope=parts[0], scope_id=scope_id, prefix=f"{parts[0]}:{scope_id}:{parts[2]}")


def may_subscribe(actor: Actor, topic: Topic) -> bool:
    """The rule of the topic's scope, for this caller as it is now."""
    if topic.scope == CUSTOMER_SCOPE:
        return permissions.is_supervisor_of(actor, topic.scope_id)
    return isinstance(actor, Agent) and actor.pk == topic.scope_id


def event_topics(*, customer_id: str, agent_id: str, event_type: str) -> tuple[str, ...]:
    """Every topic an agent event is published on."""
    return (
        f"customer_id:{customer_id}:agent:{agent_id}",
        f"customer_id:{customer_id}:agent:{event_type}:{agent_id}",
        f"agent_id:{agent_id}:agent:{agent_id}",
        f"agent_id:{agent_id}:agent:{event_type}:{agent_id}",
    )


def customer_agents_topic(customer_id: UUID) -> str:
    """Every agent event of a customer (a supervisor's board and agents list)."""
    return f"{CUSTOMER_SCOPE}:{customer_id}:agent"


def customer_agent_topic(customer_id: UUID, agent_id: UUID) -> str:
    """One agent's events, for a supervisor of its customer (the agent's page)."""
    return f"{CUSTOMER_SCOPE}:{customer_id}:agent:{agent_id}"


def own_agent_topic(agent_id: UUID) -> str:
    """An agent's own events, for that agent (its own page)."""
    return f"{AGENT_SCOPE}:{agent_id}:agent:{agent_id}"
