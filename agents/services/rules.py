"""Rules several of the agents' services share: the live agent's row lock, who may take an
agent's rights, and the revocation of its login tokens."""

from __future__ import annotations

from django.utils import timezone

from agents import permissions
from agents.models import Agent, LoginToken, Permission
from agents.permissions import Actor
from voipbin_admin.errors import NotFound, PermissionDenied


def _lock_live_agent(agent: Agent) -> Agent:
    """Lock the agent's row; a deleted agent is AGENT_NOT_FOUND.

    Callers may hold an agent read before a concurrent delete: writing to it would give a
    deleted agent live addresses (blocking them for everyone) or a direct hash again.
    """
    current = Agent.objects.select_for_update().filter(pk=agent.pk, tm_delete__isnull=True).first()
    if current is None:
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    return current


def _check_may_take_rights_of(actor: Actor, agent: Agent, *, action: str) -> None:
    """Resetting a password (without the old one) hands the caller the agent's account, and
    deleting an agent removes its rights: both need the right to remove its bits 1 and 32."""
    privileged = agent.permission & (Permission.PROJECT_SUPER_ADMIN | Permission.CUSTOMER_ADMIN)
    try:
        permissions.require_may_change_permission(actor, agent.customer_id, old=privileged, new=0)
    except PermissionDenied:
        raise PermissionDenied(
            "PERMISSION_NOT_ALLOWED",
            f"Only an agent who may remove this agent's permission bits may {action}.",
        ) from None


def _revoke_login_tokens(agent: Agent) -> None:
    """A change of permission or password, and a deletion, sign the agent out everywhere."""
    LoginToken.objects.filter(agent=agent, tm_revoke__isnull=True).update(tm_revoke=timezone.now())
