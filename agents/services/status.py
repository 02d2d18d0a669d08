"""An agent's status: the write agents and dialers make all day, with its history row and event."""

from __future__ import annotations

from django.utils import timezone

from agents import permissions
from agents.models import Agent, AgentEventType, AgentStatusChange
from agents.permissions import Actor
from agents.representation import agent_representation
from agents.services.cleaning import REASON_MAX_LENGTH, clean_status
from agents.services.events import (
    _INSERT_STATUS_CHANGE,
    _changed_by,
    _event_params,
    _record_and_return,
    _refreshed,
    _write_if_unchanged,
)
from agents.services.rules import _lock_live_agent
from voipbin_admin.core import atomic_service, clean_text
from voipbin_admin.timestamps import format_timestamp


def agent_set_status(*, actor: Actor, agent: Agent, status: object, reason: object = "") -> Agent:
    """Set the status and record the change (who, when, from, to, reason).

    Setting the status the caller's copy already shows changes nothing, records nothing and
    reads nothing: the copy was read during this same request, so answering it is exact as of
    that read, even if another writer has changed the status since.
    """
    permissions.require_self_or_supervisor(actor, agent)
    status = clean_status(status)
    reason = clean_text("reason", reason, max_length=REASON_MAX_LENGTH)
    if agent.status == status or _set_status_if_unchanged(actor, agent, status, reason):
        return agent
    # Not `atomic_service` as a whole: the common case above is a single statement (atomic on
    # its own) or its own transaction, and this one is atomic.
    return _set_status_on_locked_row(actor, agent, status, reason)


def _set_status_if_unchanged(actor: Actor, agent: Agent, status: str, reason: str) -> bool:
    """Change the status of the agent as the caller read it, with its history and event rows:
    one statement on PostgreSQL. False (nothing written) when the row changed since."""
    now = timezone.now()
    representation = {**agent_representation(agent), "status": status, "tm_update": format_timestamp(now)}
    written = _write_if_unchanged(
        agent,
        assignments="status = %(status)s, tm_status = %(now)s",
        inserts=[_INSERT_STATUS_CHANGE],
        event=(AgentEventType.STATUS_UPDATED, representation),
        params={
            "now": now,
            "status": status,
            "from_status": agent.status,
            "reason": reason,
            **_event_params(actor, AgentEventType.STATUS_UPDATED, representation),
        },
    )
    if written:
        agent.status, agent.tm_status, agent.tm_update = status, now, now
    return written


@atomic_service
def _set_status_on_locked_row(actor: Actor, agent: Agent, status: str, reason: str) -> Agent:
    """The caller's copy is stale: decide on the locked row, so that `from_status` is exact
    when two supervisors change it at once."""
    from_status = _lock_live_agent(agent).status
    if from_status == status:
        return _refreshed(agent)
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(status=status, tm_status=now, tm_update=now)
    AgentStatusChange.objects.create(
        agent_id=agent.pk,
        from_status=from_status,
        to_status=status,
        reason=reason,
        tm_create=now,
        **_changed_by(actor),
    )
    return _record_and_return(agent, AgentEventType.STATUS_UPDATED)
