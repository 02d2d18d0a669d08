"""The wire representation of section 4 of the contract, shared by the API and events.

Plain dict building rather than a serializer: it is the hot path of every list, and it must
be byte-for-byte stable (field order, timestamp format, the unset-timestamp sentinel).
Agents come either annotated by `AgentQuerySet.with_representation()` (one query: lists and
the API) or with `AgentQuerySet.with_related()` prefetches (console and admin pages).
"""

from __future__ import annotations

import json
from uuid import UUID

from django.db.models import QuerySet

from agents.models import AccessKey, Address, Agent
from voipbin_admin.timestamps import format_timestamp

_ROW_FIELDS = (
    "id",
    "customer_id",
    "username",
    "name",
    "detail",
    "ring_method",
    "status",
    "permission",
    "tag_ids_json",
    "addresses_json",
    "direct_hash",
    "tm_create",
    "tm_update",
    "tm_delete",
)


def address_representation(address: Address) -> dict:
    return {
        "type": address.type,
        "target": address.target,
        "target_name": address.target_name,
        "name": address.name,
        "detail": address.detail,
    }


def _tag_ids_from_json(text: str) -> list[str]:
    # SQLite stores UUIDs as 32 hex digits; PostgreSQL's JSON has the dashed form already.
    return [tag_id if len(tag_id) == 36 else str(UUID(tag_id)) for tag_id in json.loads(text)]


def _agent_dict(
    agent_id, customer_id, username, name, detail, ring_method, status, permission,
    tag_ids, addresses, direct_hash, tm_create, tm_update, tm_delete,
) -> dict:  # fmt: skip
    return {
        "id": str(agent_id),
        "customer_id": str(customer_id),
        "username": username,
        "name": name,
        "detail": detail,
        "ring_method": ring_method,
        "status": status,
        "permission": permission,
        "tag_ids": tag_ids,
        "addresses": addresses,
        "direct_hash": direct_hash or "",
        "tm_create": format_timestamp(tm_create),
        "tm_update": format_timestamp(tm_update),
        "tm_delete": format_timestamp(tm_delete),
    }


def agent_representation(agent: Agent) -> dict:
    if hasattr(agent, "tag_ids_json"):
        tag_ids = _tag_ids_from_json(agent.tag_ids_json)
        addresses = json.loads(agent.addresses_json)
    else:
        tag_ids = [str(link.tag_id) for link in agent.tag_links.all()]
        addresses = [address_representation(address) for address in agent.addresses.all()]
    return _agent_dict(
        agent.id, agent.customer_id, agent.username, agent.name, agent.detail, agent.ring_method,
        agent.status, agent.permission, tag_ids, addresses, agent.direct_hash,
        agent.tm_create, agent.tm_update, agent.tm_delete,
    )  # fmt: skip


def agent_representations(agents: QuerySet[Agent]) -> list[dict]:
    """The representations of a queryset annotated `with_representation()` (it may be sliced):
    one query and no model instances."""
    return [
        _agent_dict(*row[:8], _tag_ids_from_json(row[8]), json.loads(row[9]), *row[10:])
        for row in agents.values_list(*_ROW_FIELDS)
    ]


def access_key_representation(access_key: AccessKey) -> dict:
    return {
        "id": str(access_key.id),
        "customer_id": str(access_key.customer_id),
        "name": access_key.name,
        "detail": access_key.detail,
        "token_prefix": access_key.token_prefix,
        "tm_expire": format_timestamp(access_key.tm_expire),
        "tm_create": format_timestamp(access_key.tm_create),
        "tm_update": format_timestamp(access_key.tm_update),
        "tm_delete": format_timestamp(access_key.tm_delete),
    }
