"""The wire representation of section 4 of the contract, shared by the API and events.

Plain dict building rather than a serializer: it is the hot path of every list, and it must
be byte-for-byte stable (field order, timestamp format, the unset-timestamp sentinel).
Callers pass agents fetched with `AgentQuerySet.with_related()`.
"""

from __future__ import annotations

from agents.models import AccessKey, Address, Agent
from voipbin_admin.timestamps import format_timestamp


def address_representation(address: Address) -> dict:
    return {
        "type": address.type,
        "target": address.target,
        "target_name": address.target_name,
        "name": address.name,
        "detail": address.detail,
    }


def agent_representation(agent: Agent) -> dict:
    return {
        "id": str(agent.id),
        "customer_id": str(agent.customer_id),
        "username": agent.username,
        "name": agent.name,
        "detail": agent.detail,
        "ring_method": agent.ring_method,
        "status": agent.status,
        "permission": agent.permission,
        "tag_ids": [str(link.tag_id) for link in agent.tag_links.all()],
        "addresses": [address_representation(address) for address in agent.addresses.all()],
        "direct_hash": agent.direct_hash or "",
        "tm_create": format_timestamp(agent.tm_create),
        "tm_update": format_timestamp(agent.tm_update),
        "tm_delete": format_timestamp(agent.tm_delete),
    }


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
