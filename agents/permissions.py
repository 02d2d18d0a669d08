"""Who may act on what: the one module all three front doors and the services consult.

An *actor* is the agent making a request, an access key (which acts with its customer's
admin rights), or `SYSTEM`: the operator's own tools, with no one signed in (management
commands, demo data, a new customer's first admin). `SYSTEM` must be named to be used; a
missing actor (None, which is also DRF's anonymous user here) is granted nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeGuard

from agents.models import AccessKey, Agent, Permission
from voipbin_admin.errors import PermissionDenied

if TYPE_CHECKING:
    from uuid import UUID


class SystemActor:
    """The operator's tools acting on their own (see the module docstring); one instance."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = SystemActor()

Actor = Agent | AccessKey | SystemActor


def _is_credential(actor: object) -> TypeGuard[Agent | AccessKey]:
    return isinstance(actor, Agent | AccessKey)


def is_project_super_admin(actor: Actor | None) -> bool:
    if actor is SYSTEM:
        return True
    return _is_credential(actor) and bool(actor.permission & Permission.PROJECT_SUPER_ADMIN)


def belongs_to_customer(actor: Actor | None, customer_id: UUID) -> bool:
    """May the actor see this customer's data at all? (Otherwise it is answered as missing.)"""
    return is_project_super_admin(actor) or (_is_credential(actor) and actor.customer_id == customer_id)


def _has_bits_in(actor: Actor | None, customer_id: UUID, bits: int) -> bool:
    return _is_credential(actor) and actor.customer_id == customer_id and bool(actor.permission & bits)


def is_supervisor_of(actor: Actor | None, customer_id: UUID) -> bool:
    """Admin or manager of the customer, or a project super admin."""
    return is_project_super_admin(actor) or _has_bits_in(actor, customer_id, Permission.SUPERVISOR_BITS)


def is_admin_of(actor: Actor | None, customer_id: UUID) -> bool:
    return is_project_super_admin(actor) or _has_bits_in(actor, customer_id, Permission.CUSTOMER_ADMIN)


def is_self(actor: Actor, agent: Agent) -> bool:
    return isinstance(actor, Agent) and actor.pk == agent.pk


def can_view_agent(actor: Actor, agent: Agent) -> bool:
    return is_self(actor, agent) or is_supervisor_of(actor, agent.customer_id)


def may_manage_access_keys(actor: Actor) -> bool:
    """Access keys act with admin rights, so only the customer's admins handle them."""
    return isinstance(actor, Agent | AccessKey) and is_admin_of(actor, actor.customer_id)


def permission_bits_offered(actor: Actor, customer_id: UUID) -> int:
    """The permission bits this actor may grant or remove in this customer: agent (16) and
    manager (64) for any supervisor, admin (32) for admins, project super admin (1) for
    project super admins."""
    if not is_supervisor_of(actor, customer_id):
        return 0
    bits = Permission.CUSTOMER_AGENT | Permission.CUSTOMER_MANAGER
    if is_admin_of(actor, customer_id):
        bits |= Permission.CUSTOMER_ADMIN
    if is_project_super_admin(actor):
        bits |= Permission.PROJECT_SUPER_ADMIN
    return int(bits)  # an int, so that `~offered` is the plain complement


def _bits_protecting(permission: int) -> int:
    """An agent holding admin (32) or project super admin (1) can only have its permission
    changed by someone who may grant that bit: otherwise a manager could sign an admin out
    (a permission change revokes its tokens) or strip its manager bit."""
    return permission & (Permission.CUSTOMER_ADMIN | Permission.PROJECT_SUPER_ADMIN)


def may_change_permission_of(actor: Actor, agent: Agent) -> bool:
    """Whether the actor may change the agent's permission at all (doors show the form)."""
    offered = permission_bits_offered(actor, agent.customer_id)
    return bool(offered) and _bits_protecting(agent.permission) & ~offered == 0


def require_may_change_permission(actor: Actor, customer_id: UUID, *, old: int, new: int) -> None:
    """The rule of every permission change, at create too (`old` 0): each bit changed must be
    one the actor may grant, and so must each protecting bit the agent holds."""
    offered = permission_bits_offered(actor, customer_id)
    if (old ^ new) & Permission.PROJECT_SUPER_ADMIN & ~offered:
        raise PermissionDenied(
            "PERMISSION_NOT_ALLOWED", "Only a project super admin may grant or remove project super admin."
        )
    if (old ^ new) & Permission.CUSTOMER_ADMIN & ~offered:
        raise PermissionDenied(
            "PERMISSION_NOT_ALLOWED", "Only an admin may grant or remove the admin permission."
        )
    if old != new and _bits_protecting(old) & ~offered:
        raise PermissionDenied(
            "PERMISSION_NOT_ALLOWED",
            "Only an agent who may grant this agent's admin or project super admin bit may change its "
            "permission.",
        )
    if (old ^ new) & ~offered:
        raise PermissionDenied("PERMISSION_NOT_ALLOWED", "Only an admin or manager may change permissions.")


def can_use_console(actor: Actor | None) -> bool:
    """The supervisor console (as opposed to the plain agent's own page)."""
    return isinstance(actor, Agent) and bool(
        actor.permission & (Permission.SUPERVISOR_BITS | Permission.PROJECT_SUPER_ADMIN)
    )


def require_supervisor_of(actor: Actor, customer_id: UUID) -> None:
    if not is_supervisor_of(actor, customer_id):
        raise PermissionDenied("SUPERVISOR_REQUIRED", "Only an admin or manager may do this.")


def require_admin_of(actor: Actor, customer_id: UUID) -> None:
    if not is_admin_of(actor, customer_id):
        raise PermissionDenied("ADMIN_REQUIRED", "Only a customer admin may do this.")


def require_self_or_supervisor(actor: Actor, agent: Agent) -> None:
    if not can_view_agent(actor, agent):
        raise PermissionDenied(
            "SUPERVISOR_REQUIRED", "Only the agent itself or an admin or manager may do this."
        )
