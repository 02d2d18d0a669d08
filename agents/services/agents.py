"""An agent's life: create, change its profile and permission, a new direct hash, delete and
restore."""

from __future__ import annotations

import secrets
from uuid import UUID

from django.utils import timezone

from agents import permissions
from agents.models import (
    Address,
    Agent,
    AgentEventType,
    AgentStatus,
    AgentStatusChange,
    Customer,
    Permission,
    RingMethod,
)
from agents.permissions import Actor
from agents.services.addresses import _write_addresses
from agents.services.cleaning import (
    _clean_new_password,
    _set_new_password,
    clean_address_list,
    clean_permission,
    clean_ring_method,
    clean_tag_ids,
    clean_username,
)
from agents.services.events import _changed_by, _record_and_return, _refreshed
from agents.services.rules import _check_may_take_rights_of, _lock_live_agent, _revoke_login_tokens
from agents.services.tags import _write_tags
from agents.usernames import fold_username
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, UNSET, atomic_service, clean_text
from voipbin_admin.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied


def _lock_customer(customer_id: UUID) -> None:
    """Serialise changes that may remove a customer's last admin."""
    Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk").first()


def _check_not_last_admin(agent: Agent) -> None:
    others = (
        Agent.objects.live()
        .for_customer(agent.customer_id)
        .filter(permission__gte=Permission.CUSTOMER_ADMIN)
        .exclude(pk=agent.pk)
    )
    if not any(other & Permission.CUSTOMER_ADMIN for other in others.values_list("permission", flat=True)):
        raise FailedPrecondition("LAST_ADMIN", "A customer must keep at least one admin.")


def new_direct_hash() -> str:
    """12 lowercase hex characters from a cryptographic source, not used by any agent."""
    while True:
        candidate = secrets.token_hex(6)
        if not Agent.objects.filter(direct_hash=candidate).exists():
            return candidate


@atomic_service
def agent_create(
    *,
    actor: Actor,
    customer_id: UUID,
    username: object,
    password: object,
    name: object = "",
    detail: object = "",
    ring_method: object = RingMethod.RINGALL,
    permission: object = 0,
    tag_ids: object = (),
    addresses: object = (),
) -> Agent:
    """Create an agent: status offline, a fresh direct hash.

    The username is unique among live agents of all customers, case-insensitively (sign-in
    takes no customer). Permission, tags and addresses follow the same rules as changing them.
    """
    permissions.require_supervisor_of(actor, customer_id)
    username = clean_username(username)
    password = _clean_new_password(password)
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    detail = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    ring_method = clean_ring_method(ring_method)
    permission = clean_permission(permission)
    permissions.require_may_change_permission(actor, customer_id, old=0, new=permission)
    clean_addrs = clean_address_list(list(addresses) if isinstance(addresses, tuple) else addresses)

    if Agent.objects.live().filter(username_key=fold_username(username)).exists():
        raise AlreadyExists("AGENT_ALREADY_EXISTS", "An agent with this username already exists.")
    tag_id_list = clean_tag_ids(customer_id, list(tag_ids) if isinstance(tag_ids, tuple) else tag_ids)

    now = timezone.now()
    agent = Agent(
        customer_id=customer_id,
        username=username,
        name=name,
        detail=detail,
        ring_method=ring_method,
        permission=permission,
        status=AgentStatus.OFFLINE,
        direct_hash=new_direct_hash(),
        tm_create=now,
        tm_status=now,
    )
    _set_new_password(agent, password)
    agent.save(force_insert=True)
    _write_tags(agent, tag_id_list)
    _write_addresses(agent, clean_addrs)
    AgentStatusChange.objects.create(
        agent=agent,
        from_status="",
        to_status=AgentStatus.OFFLINE,
        reason="created",
        tm_create=now,
        **_changed_by(actor),
    )
    return _record_and_return(agent, AgentEventType.CREATED)


@atomic_service
def agent_update(
    *, actor: Actor, agent: Agent, name: object = UNSET, detail: object = UNSET, ring_method: object = UNSET
) -> Agent:
    """Change name, detail and ring method; fields left UNSET keep their value."""
    permissions.require_self_or_supervisor(actor, agent)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    if ring_method is not UNSET:
        changes["ring_method"] = clean_ring_method(ring_method)
    _lock_live_agent(agent)
    if not changes:
        return _refreshed(agent)
    changes["tm_update"] = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(**changes)
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_set_permission(*, actor: Actor, agent: Agent, permission: object) -> Agent:
    """Set the permission bitmask.

    Only the bits of `Permission`; who may change which bit is `permissions.require_may_change_permission`
    (only a project super admin changes bit 1; only an admin changes bit 32 or the permission
    of an agent that holds it); the customer keeps at least one live admin (LAST_ADMIN). A
    change revokes the agent's login tokens.
    """
    permissions.require_supervisor_of(actor, agent.customer_id)
    new = clean_permission(permission)
    _lock_customer(agent.customer_id)
    old = _lock_live_agent(agent).permission
    if old == new:
        return _refreshed(agent)
    permissions.require_may_change_permission(actor, agent.customer_id, old=old, new=new)
    if old & Permission.CUSTOMER_ADMIN and not new & Permission.CUSTOMER_ADMIN:
        _check_not_last_admin(agent)
    Agent.objects.filter(pk=agent.pk).update(permission=new, tm_update=timezone.now())
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_regenerate_direct_hash(*, actor: Actor, agent: Agent) -> Agent:
    """Give the agent a new direct hash; the previous one stops resolving at once."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_live_agent(agent)
    Agent.objects.filter(pk=agent.pk).update(direct_hash=new_direct_hash(), tm_update=timezone.now())
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_delete(*, actor: Actor, agent: Agent) -> Agent:
    """Soft delete: frees the username, addresses and direct hash, revokes the agent's tokens,
    keeps the row and its status history. The customer's last admin cannot be deleted, and
    deleting removes the agent's bits 1 and 32, which needs the right to remove them."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_customer(agent.customer_id)
    current = Agent.objects.select_for_update().filter(pk=agent.pk, tm_delete__isnull=True).first()
    if current is None:
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    _check_may_take_rights_of(actor, current, action="delete it")
    if current.permission & Permission.CUSTOMER_ADMIN:
        _check_not_last_admin(current)
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(tm_delete=now, tm_update=now, direct_hash=None)
    Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=True).update(tm_delete=now)
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.DELETED)


@atomic_service
def agent_restore(*, actor: Actor, agent: Agent) -> Agent:
    """Bring a deleted agent back (operators only), when it is safe.

    Safe means its username is free again; it comes back offline, with a new direct hash and
    no addresses (the old ones may have been given to others since), and must sign in anew.
    """
    if not permissions.is_project_super_admin(actor):
        raise PermissionDenied("SUPER_ADMIN_REQUIRED", "Only a project super admin may restore agents.")
    current = Agent.objects.select_for_update().get(pk=agent.pk)
    if current.tm_delete is None:
        raise FailedPrecondition("AGENT_NOT_DELETED", "The agent is not deleted.")
    if Agent.objects.live().filter(username_key=current.username_key).exists():
        raise AlreadyExists("AGENT_ALREADY_EXISTS", "Another live agent now has this username.")
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(
        tm_delete=None,
        tm_update=now,
        direct_hash=new_direct_hash(),
        status=AgentStatus.OFFLINE,
        tm_status=now,
    )
    # The representation lists every address row of the agent: the freed ones must go, or the
    # restored agent would show addresses it no longer holds (and that others may hold now).
    Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=False).delete()
    if current.status != AgentStatus.OFFLINE:
        AgentStatusChange.objects.create(
            agent_id=agent.pk,
            from_status=current.status,
            to_status=AgentStatus.OFFLINE,
            reason="restored",
            tm_create=now,
            **_changed_by(actor),
        )
    return _record_and_return(agent, AgentEventType.UPDATED)
