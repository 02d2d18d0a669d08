"""Events and status history, written by the services in the writing transaction (events are
published from that record, so every door's writes are streamed).

Also the compare-and-set writer of the hot paths (`_write_if_unchanged`): one SQL statement on
PostgreSQL that changes the agent's row only if it is still as the caller read it, and writes
the history and event rows with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction
from django.utils import timezone

from agents.event_bus import PublishedEvent, publish_on_commit
from agents.models import AccessKey, Agent, AgentEvent, AgentStatusChange
from agents.permissions import Actor
from agents.query_expressions import db_param
from agents.representation import agent_representation


def _changed_by(actor: Actor) -> dict:
    """Who made a change, as the columns of a status change row (none for the system)."""
    return {
        "changed_by_agent_id": actor.pk if isinstance(actor, Agent) else None,
        "changed_by_access_key_id": actor.pk if isinstance(actor, AccessKey) else None,
    }


def record_agent_events(agents: Sequence[Agent], event_type: str) -> None:
    """Write one event per agent with its current representation (same transaction)."""
    if not agents:
        return
    fresh = Agent.objects.with_representation().in_bulk([agent.pk for agent in agents])
    now = timezone.now()
    events = AgentEvent.objects.bulk_create(
        AgentEvent(
            customer_id=agent.customer_id,
            agent_id=agent.pk,
            type=event_type,
            data=agent_representation(fresh[agent.pk]),
            tm_create=now,
        )
        for agent in agents
    )
    publish_on_commit(_published(event) for event in events)


def _published(event: AgentEvent) -> PublishedEvent:
    return PublishedEvent(
        id=event.pk,
        customer_id=str(event.customer_id),
        agent_id=str(event.agent_id),
        type=event.type,
        data=event.data,
    )


def _refreshed(agent: Agent) -> Agent:
    """The agent re-read with everything its representation needs."""
    return Agent.objects.with_representation().get(pk=agent.pk)


def _record_and_return(agent: Agent, event_type: str) -> Agent:
    """The agent as it is now, after writing its event with that representation."""
    fresh = _refreshed(agent)
    event = AgentEvent.objects.create(
        customer_id=fresh.customer_id, agent_id=fresh.pk, type=event_type, data=agent_representation(fresh)
    )
    publish_on_commit([_published(event)])
    return fresh


# The status change is the write agents and dialers make all day, so the compare-and-set writes
# below are written in SQL: compiling them through the ORM cost more CPU than running them
# (README, "Performance"). Each INSERT reads `{source}` so that PostgreSQL can run it as part of
# the UPDATE's statement.
_INSERT_STATUS_CHANGE = """
    INSERT INTO agents_agentstatuschange
        (agent_id, from_status, to_status, reason, changed_by_agent_id, changed_by_access_key_id, tm_create)
    SELECT %(agent)s, %(from_status)s, %(status)s, %(reason)s, %(by_agent)s, %(by_access_key)s, %(now)s
    {source}
"""
_INSERT_EVENT = """
    INSERT INTO agents_agentevent (customer_id, agent_id, type, data, tm_create)
    SELECT %(customer)s, %(agent)s, %(event_type)s, %(event_data)s, %(now)s {source}
    RETURNING id
"""


def _write_if_unchanged(agent: Agent, *, inserts: Sequence[str], params: dict, assignments: str = "") -> bool:
    """Apply `assignments` (and `tm_update = %(now)s`) to the agent's row only if it is still as
    the caller read it (same `tm_update`, which every change moves, and still live), and then
    run `inserts` (history, then `_INSERT_EVENT`, whose event is published after the commit).
    False means the caller's copy is stale or the agent was deleted meanwhile, and nothing was
    written.

    The UPDATE takes the row lock itself, so the common case needs no SELECT ... FOR UPDATE and
    no re-read. On PostgreSQL it is one statement (the inserts as data-modifying CTEs), atomic on
    its own; elsewhere the statements share a transaction.
    """
    as_read = "tm_update = %(as_read)s" if agent.tm_update else "tm_update IS NULL"
    set_clause = ", ".join(filter(None, [assignments, "tm_update = %(now)s"]))
    update = f"UPDATE agents_agent SET {set_clause} WHERE id = %(agent)s AND tm_delete IS NULL AND {as_read}"  # noqa: S608 (fixed fragments)
    event_type, representation = params.pop("published_event")
    params = {
        **params,
        "agent": db_param(Agent, "id", agent.pk),
        "customer": db_param(Agent, "customer", agent.customer_id),
        "as_read": db_param(Agent, "tm_update", agent.tm_update),
        "now": db_param(Agent, "tm_update", params["now"]),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            *side_effects, last = [insert.format(source="FROM changed") for insert in inserts]
            ctes = "".join(f", write_{index} AS ({sql})" for index, sql in enumerate(side_effects))
            cursor.execute(f"WITH changed AS ({update} RETURNING id){ctes} {last}", params)
            row = cursor.fetchone()
        else:
            with transaction.atomic():
                cursor.execute(update, params)
                if cursor.rowcount == 0:
                    return False
                for insert in inserts:
                    cursor.execute(insert.format(source=""), params)
                row = cursor.fetchone()
    if row is None:
        return False
    publish_on_commit(
        [PublishedEvent(row[0], str(agent.customer_id), str(agent.pk), event_type, representation)]
    )
    return True


def _event_params(actor: Actor, event_type: str, representation: dict) -> dict:
    """The parameters of `_INSERT_EVENT` and `_INSERT_STATUS_CHANGE` for the acting caller."""
    changed_by = _changed_by(actor)
    return {
        "published_event": (event_type, representation),
        "event_type": event_type,
        "event_data": db_param(AgentEvent, "data", representation),
        "by_agent": db_param(AgentStatusChange, "changed_by_agent", changed_by["changed_by_agent_id"]),
        "by_access_key": db_param(
            AgentStatusChange, "changed_by_access_key", changed_by["changed_by_access_key_id"]
        ),
    }
