"""Events and status history, written by the services in the writing transaction (events are
published from that record, so every door's writes are streamed).

Event ids increase in commit order within a customer (contract section 11: a client that
resumes after id N must find every event committed after N there). A sequence alone hands out
ids at INSERT, so a transaction that took N and committed after one that took N+1 would be
missed. So on PostgreSQL every event INSERT first takes the customer's event-order lock (a
transaction-level advisory lock), held until the commit: the next event of that customer gets
its id only after this one committed. The lock is always a transaction's last: the services
write their events after their row locks, and a CSV import, which changes many agents in one
transaction, writes its events together at the end (`deferred_events`). A lock taken last,
with a commit right behind it, cannot be part of a deadlock, and it is held for the time of a
commit.

Also the compare-and-set writer of the hot paths (`_write_if_unchanged`): one SQL statement on
PostgreSQL that changes the agent's row only if it is still as the caller read it, and writes
the history and event rows with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

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


#: The lock class of `pg_advisory_xact_lock(class, key)` for the event order (key: the customer).
_EVENT_ORDER_LOCK = 0x45564E54
_TAKE_EVENT_ORDER_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
_pending_events: ContextVar[list[AgentEvent] | None] = ContextVar("pending_agent_events", default=None)


def _insert_events(events: list[AgentEvent]) -> None:
    """INSERT the events in the event order of their customers (see the module's docstring):
    one event (the common case) in one statement with its lock, more after their locks."""
    if connection.vendor != "postgresql":
        AgentEvent.objects.bulk_create(events)
    elif len(events) == 1:
        (event,) = events
        params: dict[str, Any] = {
            "customer": db_param(AgentEvent, "customer", event.customer_id),
            "agent": db_param(AgentEvent, "agent", event.agent_id),
            "event_type": event.type,
            "event_data": db_param(AgentEvent, "data", event.data),
            "now": db_param(AgentEvent, "tm_create", event.tm_create),
        }
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_EVENT.format(source=_IN_EVENT_ORDER), params)
            (event.pk,) = cursor.fetchone()
    else:
        with connection.cursor() as cursor:
            for customer_id in sorted({str(event.customer_id) for event in events}):
                cursor.execute(_TAKE_EVENT_ORDER_LOCK, [_EVENT_ORDER_LOCK, customer_id])
        AgentEvent.objects.bulk_create(events)
    publish_on_commit(_published(event) for event in events)


def _write_events(events: list[AgentEvent]) -> None:
    pending = _pending_events.get()
    if pending is None:
        _insert_events(events)
    else:
        pending.extend(events)


@contextlib.contextmanager
def deferred_events() -> Iterator[list[AgentEvent]]:
    """Hold back the events written inside until the block ends, then INSERT them together (in
    the order written), inside the caller's transaction: for a transaction that changes many
    agents one after the other (a CSV import), so that its event-order lock is taken after its
    last row lock, not held while it works. Nothing is written if the block raises."""
    pending: list[AgentEvent] = []
    token = _pending_events.set(pending)
    try:
        yield pending
    finally:
        _pending_events.reset(token)
    if pending:
        _insert_events(pending)


def record_agent_events(agents: Sequence[Agent], event_type: str) -> None:
    """Write one event per agent with its current representation (same transaction)."""
    if not agents:
        return
    fresh = Agent.objects.with_representation().in_bulk([agent.pk for agent in agents])
    now = timezone.now()
    _write_events(
        [
            AgentEvent(
                customer_id=agent.customer_id,
                agent_id=agent.pk,
                type=event_type,
                data=agent_representation(fresh[agent.pk]),
                tm_create=now,
            )
            for agent in agents
        ]
    )


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
    _write_events(
        [
            AgentEvent(
                customer_id=fresh.customer_id,
                agent_id=fresh.pk,
                type=event_type,
                data=agent_representation(fresh),
                tm_create=timezone.now(),
            )
        ]
    )
    return fresh


def _write_agent_event(agent: Agent, event_type: str, representation: dict, now) -> None:
    """Write one event of `agent` with a representation the caller already has."""
    _write_events(
        [
            AgentEvent(
                customer_id=agent.customer_id,
                agent_id=agent.pk,
                type=event_type,
                data=representation,
                tm_create=now,
            )
        ]
    )


# The status change is the write agents and dialers make all day, so the compare-and-set writes
# below are written in SQL: compiling them through the ORM cost more CPU than running them
# (README, "Performance"). Each INSERT reads `{source}` so that PostgreSQL can run it as part of
# the UPDATE's statement; there the event's INSERT takes the event-order lock for the row the
# UPDATE changed (after its row lock: `LATERAL` on `changed`'s row).
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
_CHANGED_IN_EVENT_ORDER = (
    "FROM changed CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock("
    f"{_EVENT_ORDER_LOCK}, hashtext(changed.customer_id::text))) AS event_order"
)
#: A lone event's INSERT: the lock is its row source, so the id (the column default) is drawn
#: after the lock was granted.
_IN_EVENT_ORDER = (
    f"FROM (SELECT pg_advisory_xact_lock({_EVENT_ORDER_LOCK}, hashtext(%(customer)s::text))) AS event_order"
)


def _write_if_unchanged(
    agent: Agent,
    *,
    params: dict,
    event: tuple[str, dict] | None,
    inserts: Sequence[str] = (),
    assignments: str = "",
) -> bool:
    """Apply `assignments` (and `tm_update = %(now)s`) to the agent's row only if it is still as
    the caller read it (same `tm_update`, which every change moves, and still live), then run
    `inserts` (the history), then write `event` (type, representation), published after the
    commit. False means the caller's copy is stale or the agent was deleted meanwhile, and
    nothing was written. A caller with more to write passes no event and writes it last.

    The UPDATE takes the row lock itself, so the common case needs no SELECT ... FOR UPDATE and
    no re-read. On PostgreSQL it is one statement (the inserts as data-modifying CTEs), atomic on
    its own; elsewhere, or with the events deferred, the statements share a transaction.
    """
    as_read = "tm_update = %(as_read)s" if agent.tm_update else "tm_update IS NULL"
    set_clause = ", ".join(filter(None, [assignments, "tm_update = %(now)s"]))
    update = f"UPDATE agents_agent SET {set_clause} WHERE id = %(agent)s AND tm_delete IS NULL AND {as_read}"  # noqa: S608 (fixed fragments)
    now = params["now"]
    params = {
        **params,
        "agent": db_param(Agent, "id", agent.pk),
        "customer": db_param(Agent, "customer", agent.customer_id),
        "as_read": db_param(Agent, "tm_update", agent.tm_update),
        "now": db_param(Agent, "tm_update", now),
    }
    one_statement = connection.vendor == "postgresql" and _pending_events.get() is None
    with connection.cursor() as cursor:
        if one_statement:
            statements = [insert.format(source="FROM changed") for insert in inserts]
            if event is None:
                statements.append("SELECT id FROM changed")
            else:
                statements.append(_INSERT_EVENT.format(source=_CHANGED_IN_EVENT_ORDER))
            *side_effects, last = statements
            ctes = "".join(f", write_{index} AS ({sql})" for index, sql in enumerate(side_effects))
            cursor.execute(f"WITH changed AS ({update} RETURNING id, customer_id){ctes} {last}", params)
            row = cursor.fetchone()
            if row is None:
                return False
            if event is not None:
                publish_on_commit([PublishedEvent(row[0], str(agent.customer_id), str(agent.pk), *event)])
            return True
        with transaction.atomic():
            cursor.execute(update, params)
            if cursor.rowcount == 0:
                return False
            for insert in inserts:
                cursor.execute(insert.format(source=""), params)
    if event is not None:
        _write_agent_event(agent, *event, now)
    return True


def _event_params(actor: Actor, event_type: str, representation: dict) -> dict:
    """The parameters of `_INSERT_EVENT` and `_INSERT_STATUS_CHANGE` for the acting caller."""
    changed_by = _changed_by(actor)
    return {
        "event_type": event_type,
        "event_data": db_param(AgentEvent, "data", representation),
        "by_agent": db_param(AgentStatusChange, "changed_by_agent", changed_by["changed_by_agent_id"]),
        "by_access_key": db_param(
            AgentStatusChange, "changed_by_access_key", changed_by["changed_by_access_key_id"]
        ),
    }
