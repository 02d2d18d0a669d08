"""Who may act on what: the one module all three front doors and the services consult.

An *actor* is the agent making a request, an access key (which acts with its customer's
admin rights), or None for the operator's own tools (management commands, demo data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.models import AccessKey, Agent, Permission
from voipbin_admin.errors import PermissionDenied

if TYPE_CHECKING:
    from uuid import UUID

Actor = Agent | AccessKey | None


def is_project_super_admin(actor: Actor) -> bool:
    return actor is None or bool(actor.permission & Permission.PROJECT_SUPER_ADMIN)


def belongs_to_customer(actor: Actor, customer_id: UUID) -> bool:
    """May the actor see this customer's data at all? (Otherwise it is answered as missing.)"""
    return is_project_super_admin(actor) or actor.customer_id == customer_id


def is_supervisor_of(actor: Actor, customer_id: UUID) -> bool:
    """Admin or manager of the customer, or a project super admin."""
    if is_project_super_admin(actor):
        return True
    return actor.customer_id == customer_id and bool(actor.permission & Permission.SUPERVISOR_BITS)


def is_admin_of(actor: Actor, customer_id: UUID) -> bool:
    if is_project_super_admin(actor):
        return True
    return actor.customer_id == customer_id and bool(actor.permission & Permission.CUSTOMER_ADMIN)


def is_self(actor: Actor, agent: Agent) -> bool:
    return isinstance(actor, Agent) and actor.pk == agent.pk


def can_view_agent(actor: Actor, agent: Agent) -> bool:
    return is_self(actor, agent) or is_supervisor_of(actor, agent.customer_id)


def can_manage_agent(actor: Actor, agent: Agent) -> bool:
    return is_supervisor_of(actor, agent.customer_id)


def can_use_console(actor: Actor) -> bool:
    """The supervisor console (as opposed to the plain agent's own page)."""
    return actor is not None and bool(
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


def actor_label(actor: Actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, AccessKey):
        return f"access key {actor.token_prefix}"
    return actor.username
