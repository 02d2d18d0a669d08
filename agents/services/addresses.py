"""An agent's addresses (where its calls ring, in ring order), replaced all or nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from django.db import connection
from django.utils import timezone

from agents import permissions
from agents.addresses import CleanAddress
from agents.models import Address, Agent, AgentEventType
from agents.permissions import Actor
from agents.query_expressions import db_param
from agents.representation import agent_representation
from agents.services.cleaning import clean_address_list
from agents.services.events import (
    _record_and_return,
    _refreshed,
    _write_agent_event,
    _write_if_unchanged,
)
from agents.services.rules import _lock_live_agent
from voipbin_admin.core import atomic_service
from voipbin_admin.errors import AlreadyExists, FieldError
from voipbin_admin.timestamps import format_timestamp

_ADDRESS_COLUMNS = "id, customer_id, agent_id, position, type, target, target_name, name, detail, tm_create"


def _write_addresses(agent: Agent, addresses: Sequence[CleanAddress]) -> None:
    """Insert the agent's addresses in ring order; ADDRESS_ALREADY_ASSIGNED, naming each one,
    when another live agent of the customer holds any of them.

    The database's unique constraint (the table's only one besides the key) decides: ON
    CONFLICT DO NOTHING, then compare what was inserted. So no check can race with another
    writer, and none costs a query. The caller's transaction is rolled back by the error.
    """
    if not addresses:
        return
    now = db_param(Address, "tm_create", timezone.now())
    customer = db_param(Address, "customer", agent.customer_id)
    agent_id = db_param(Address, "agent", agent.pk)
    values: list[Any] = []
    for position, address in enumerate(addresses):
        values += [db_param(Address, "id", uuid4()), customer, agent_id, position, address.type]
        values += [address.target, address.target_name, address.name, address.detail, now]
    row = "(" + ", ".join(["%s"] * len(_ADDRESS_COLUMNS.split(","))) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO agents_address ({_ADDRESS_COLUMNS}) VALUES {', '.join([row] * len(addresses))}"  # noqa: S608 (placeholders only)
            " ON CONFLICT DO NOTHING RETURNING position",
            values,
        )
        inserted = {position for (position,) in cursor.fetchall()}
    conflicts = [
        FieldError.at(("addresses", position, "target"), "is already assigned to another agent")
        for position in range(len(addresses))
        if position not in inserted
    ]
    if conflicts:
        raise AlreadyExists(
            "ADDRESS_ALREADY_ASSIGNED", "An address is already assigned to another agent.", conflicts
        )


# A side effect of `_write_if_unchanged` (`{source}` is the changed row, or nothing where the
# statements run one by one, only once the row changed).
_DELETE_ADDRESSES = """
    DELETE FROM agents_address
    WHERE agent_id = %(agent)s AND tm_delete IS NULL AND EXISTS (SELECT 1 {source})
"""


@atomic_service
def agent_replace_addresses(*, actor: Actor, agent: Agent, addresses: object) -> Agent:
    """Replace all addresses, all or nothing.

    At most 20, each valid for its type, none twice, none held by another live agent of the
    same customer (ADDRESS_ALREADY_ASSIGNED). Order is kept: it is the ring order.
    """
    permissions.require_self_or_supervisor(actor, agent)
    cleaned = clean_address_list(addresses)
    now = timezone.now()
    new_addresses = [dataclasses.asdict(address) for address in cleaned]
    representation = {
        **agent_representation(agent),
        "addresses": new_addresses,
        "tm_update": format_timestamp(now),
    }
    # The agent's row lock (taken by the UPDATE) serialises two replacements of its addresses.
    # The old addresses go in the compare-and-set's statement; the event is written last, after
    # the new ones (the event order lock is a transaction's last lock: agents/services/events.py).
    unchanged = _write_if_unchanged(agent, params={"now": now}, inserts=[_DELETE_ADDRESSES], event=None)
    if not unchanged:
        _lock_live_agent(agent)
        Agent.objects.filter(pk=agent.pk).update(tm_update=now)
        Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=True).delete()
    _write_addresses(agent, cleaned)
    if not unchanged:
        return _record_and_return(agent, AgentEventType.UPDATED)
    _write_agent_event(agent, AgentEventType.UPDATED, representation, now)
    if not hasattr(agent, "addresses_json"):
        return _refreshed(agent)
    # Nothing else changed since the caller read it: its representation only needs the new
    # addresses, without reading the agent again.
    agent.addresses_json = json.dumps(new_addresses)
    agent.tm_update = now
    return agent
